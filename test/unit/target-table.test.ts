import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mapColumn, type TableDescription } from '../../functions/core/schema.js';
import { createTableSql, type TargetColumn, targetDifferences } from '../../functions/core/target-table.js';
import { sourceColumn } from '../support/source-columns.js';

function describeTable(...columns: Parameters<typeof sourceColumn>[]): TableDescription {
  return {
    table: 't',
    columns: columns.map((args) => mapColumn(sourceColumn(...args))),
    primaryKey: 'id',
    primaryKeyIndex: 0,
    key: { kind: 'primary', columns: ['id'] },
    keyset: null,
    whole: null,
  };
}

const ID: Parameters<typeof sourceColumn> = ['id', 'bigint', 'bigint(20) unsigned', { nullable: false }];

describe('the target table created from the source', () => {
  test('has the mapped types, NOT NULL, the primary key and the defaults that mean the same; the rest is reported', () => {
    const { sql, notes } = createTableSql(
      describeTable(
        ID,
        ['note', 'varchar', 'varchar(10)', { characterMaximumLength: 10, default: { kind: 'literal', value: "it's" } }],
        [
          'at',
          'timestamp',
          'timestamp',
          {
            nullable: false,
            datetimePrecision: 0,
            default: { kind: 'expression', sql: 'current_timestamp()' },
            extra: 'on update current_timestamp()',
          },
        ],
        [
          'seen',
          'datetime',
          'datetime',
          { nullable: false, datetimePrecision: 0, default: { kind: 'literal', value: '0000-00-00 00:00:00' } },
        ],
        ['flag', 'tinyint', 'tinyint(1)', { default: { kind: 'literal', value: '2' } }],
        ['code', 'char', 'char(36)', { characterMaximumLength: 36, default: { kind: 'expression', sql: 'uuid()' } }],
      ),
      'public',
    );
    assert.equal(
      sql,
      [
        'CREATE TABLE "public"."t" (',
        '  "id" numeric(20,0) NOT NULL,',
        `  "note" character varying(10) DEFAULT 'it''s',`,
        '  "at" timestamp(0) with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP,',
        '  "seen" timestamp(0) without time zone,',
        '  "flag" boolean,',
        '  "code" character varying(36),',
        '  PRIMARY KEY ("id")',
        ')',
      ].join('\n'),
    );
    assert.deepEqual(notes, [
      "seen: default '0000-00-00 00:00:00' dropped: zero date 0000-00-00 00:00:00 has no PostgreSQL equivalent (zeroDates: fail)",
      'seen: NOT NULL dropped, so rows holding the zero-date default can arrive as NULL (zeroDates: null)',
      "flag: default '2' dropped: tinyint(1) holds 2, which is neither 0 nor 1 and would not survive as a boolean (tinyint1: fail)",
      'code: default uuid() has no PostgreSQL equivalent; dropped',
    ]);
  });
});

describe('the CREATE TABLE', () => {
  test('quotes every identifier, doubling a double quote inside a name so it cannot break out of its quotes', () => {
    const description = describeTable(['a"b', 'int', 'int(11)', { nullable: false }], ['Display Name', 'text', 'text']);
    assert.equal(
      createTableSql(
        { ...description, table: 'we"ird', primaryKey: 'a"b', key: { kind: 'primary', columns: ['a"b'] } },
        'sch"ema',
      ).sql,
      'CREATE TABLE "sch""ema"."we""ird" (\n  "a""b" integer NOT NULL,\n  "Display Name" text,\n  PRIMARY KEY ("a""b")\n)',
    );
  });
});

describe('the key the target table gets', () => {
  test("the source's primary key, composite too, as PRIMARY KEY; a unique NOT NULL key as UNIQUE; none without one", () => {
    const description = describeTable(ID, ['Order No', 'int', 'int(11)', { nullable: false }]);
    const sql = (key: TableDescription['key']) => createTableSql({ ...description, key }, 'public').sql;
    assert.match(sql({ kind: 'primary', columns: ['id', 'Order No'] }), /\n {2}PRIMARY KEY \("id", "Order No"\)\n\)$/);
    assert.match(sql({ kind: 'unique', columns: ['Order No'] }), /\n {2}UNIQUE \("Order No"\)\n\)$/);
    assert.match(sql(null), /"Order No" integer NOT NULL\n\)$/);
  });
});

describe('an existing target table', () => {
  const target = (name: string, type: string, more: Partial<TargetColumn> = {}): TargetColumn => ({
    name,
    type,
    nullable: true,
    hasDefault: false,
    generated: false,
    ...more,
  });

  // [source column, existing target type, holds every value?]
  const cases: [Parameters<typeof sourceColumn>, string, boolean][] = [
    [['n', 'smallint', 'smallint(6)'], 'bigint', true],
    [['n', 'int', 'int(10) unsigned'], 'integer', false],
    [['n', 'int', 'int(10) unsigned'], 'numeric(10,0)', true],
    [['n', 'int', 'int(10) unsigned'], 'numeric(12,2)', true],
    [['n', 'int', 'int(10) unsigned'], 'numeric(11,2)', false],
    [['n', 'mediumint', 'mediumint(8) unsigned'], 'integer', true],
    [['n', 'tinyint', 'tinyint(4)'], 'smallint', true],
    [['n', 'year', 'year(4)'], 'smallint', true],
    [['n', 'bigint', 'bigint(20) unsigned'], 'bigint', false],
    [['n', 'bigint', 'bigint(20) unsigned'], 'numeric', true],
    [['n', 'decimal', 'decimal(12,2)', { numericPrecision: 12, numericScale: 2 }], 'numeric(14,4)', true],
    [['n', 'decimal', 'decimal(12,2)', { numericPrecision: 12, numericScale: 2 }], 'numeric(12,1)', false],
    [['n', 'decimal', 'decimal(9,0)', { numericPrecision: 9, numericScale: 0 }], 'integer', true],
    [['n', 'decimal', 'decimal(10,0)', { numericPrecision: 10, numericScale: 0 }], 'integer', false],
    [['n', 'float', 'float'], 'double precision', true],
    [['n', 'double', 'double'], 'real', false],
    [['s', 'varchar', 'varchar(20)', { characterMaximumLength: 20 }], 'text', true],
    [['s', 'varchar', 'varchar(20)', { characterMaximumLength: 20 }], 'character varying(19)', false],
    [['s', 'text', 'text'], 'character varying', true],
    [['s', 'text', 'text'], 'character(10)', false],
    [['d', 'datetime', 'datetime(3)', { datetimePrecision: 3 }], 'timestamp(6) without time zone', true],
    [['d', 'datetime', 'datetime(3)', { datetimePrecision: 3 }], 'timestamp(0) without time zone', false],
    [['d', 'datetime', 'datetime(3)', { datetimePrecision: 3 }], 'timestamp(3) with time zone', false],
    [['d', 'time', 'time', { datetimePrecision: 0 }], 'interval', true],
    [['d', 'time', 'time', { datetimePrecision: 0 }], 'time without time zone', false],
    [['b', 'bit', 'bit(8)'], 'bit varying(8)', true],
    [['b', 'bit', 'bit(8)'], 'bit(7)', false],
    [['j', 'json', 'json'], 'json', true],
    [['j', 'json', 'json'], 'text', false],
    [['x', 'varbinary', 'varbinary(4)'], 'bytea', true],
  ];
  for (const [column, type, fits] of cases) {
    test(`${fits ? 'holds' : 'cannot hold'} ${column[2]} in ${type}`, () => {
      const description = describeTable(ID, column);
      const differences = targetDifferences(description, [
        target('id', 'numeric(20,0)', { nullable: false }),
        target(column[0], type),
      ]);
      assert.equal(differences.length, fits ? 0 : 1, differences.join('; '));
    });
  }

  test('is refused for missing columns, NOT NULL where the source has NULLs, generated columns and extra required columns', () => {
    const description = describeTable(ID, ['a', 'int', 'int(11)'], ['b', 'int', 'int(11)'], ['c', 'int', 'int(11)']);
    assert.deepEqual(
      targetDifferences(description, [
        target('id', 'numeric(20,0)'),
        target('b', 'integer', { nullable: false }),
        target('c', 'integer', { generated: true }),
        target('extra', 'text', { nullable: false }),
        target('defaulted', 'text', { nullable: false, hasDefault: true }),
      ]),
      [
        'a: missing; the source has int(11) (integer)',
        'b: NOT NULL, but the source allows NULL',
        'c: generated in the target, so it cannot be written',
        'extra: NOT NULL without a default, and the source has no such column',
      ],
    );
  });
});
