import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SchemaError } from '../../functions/core/errors.js';
import { createTableSql, mapColumn, type SourceColumn, type TableDescription } from '../../functions/core/schema.js';

/** A source column as information_schema.COLUMNS describes it (lower-cased, as the reader leaves it). */
const source = (name: string, columnType: string, extra: Partial<SourceColumn> = {}): SourceColumn => ({
  name,
  dataType: columnType.replace(/[ (].*$/, ''),
  columnType,
  nullable: true,
  numericPrecision: null,
  numericScale: null,
  datetimePrecision: null,
  characterMaximumLength: null,
  ...extra,
});

describe('mapColumn', () => {
  const CASES: [SourceColumn, pgType: string, encoding: string][] = [
    [source('id', 'bigint(20) unsigned'), 'numeric(20,0)', 'number'],
    [source('id', 'bigint unsigned'), 'numeric(20,0)', 'number'],
    [source('id', 'bigint(20)'), 'bigint', 'number'],
    [source('n', 'int(10) unsigned'), 'bigint', 'number'],
    [source('n', 'int(11)'), 'integer', 'number'],
    [source('n', 'smallint(5) unsigned'), 'integer', 'number'],
    [source('n', 'mediumint(8) unsigned'), 'integer', 'number'],
    [source('n', 'tinyint(3) unsigned'), 'smallint', 'number'],
    [source('active', 'tinyint(1)'), 'boolean', 'boolean'],
    [source('level', 'tinyint(4)'), 'smallint', 'number'],
    [source('amount', 'decimal(65,30)', { numericPrecision: 65, numericScale: 30 }), 'numeric(65,30)', 'number'],
    [source('price', 'decimal(10,2) unsigned', { numericPrecision: 10, numericScale: 2 }), 'numeric(10,2)', 'number'],
    [source('ratio', 'float'), 'real', 'number'],
    [source('ratio', 'double'), 'double precision', 'number'],
    [source('made', 'datetime(6)', { datetimePrecision: 6 }), 'timestamp(6)', 'datetime'],
    [source('made', 'datetime', { datetimePrecision: 0 }), 'timestamp(0)', 'datetime'],
    [source('seen', 'timestamp', { datetimePrecision: 0 }), 'timestamptz(0)', 'timestamptz'],
    [source('seen', 'timestamp(3)', { datetimePrecision: 3 }), 'timestamptz(3)', 'timestamptz'],
    [source('born', 'date'), 'date', 'date'],
    [source('email', 'varchar(255)', { characterMaximumLength: 255 }), 'varchar(255)', 'text'],
    [source('code', 'char(2)', { characterMaximumLength: 2 }), 'varchar(2)', 'text'],
    [source('bio', 'longtext'), 'text', 'text'],
    [source('prefs', 'json'), 'jsonb', 'text'],
    [source('state', "enum('','on','off')"), 'text', 'text'],
    [source('hash', 'binary(16)'), 'bytea', 'bytea'],
    [source('blob', 'longblob'), 'bytea', 'bytea'],
  ];

  for (const [column, pgType, encoding] of CASES) {
    test(`${column.columnType} maps to ${pgType} written as ${encoding}`, () => {
      assert.deepEqual(mapColumn(column), { name: column.name, pgType, nullable: true, encoding });
    });
  }

  test('nullability is carried over from the source column', () => {
    assert.equal(mapColumn(source('id', 'int(11)', { nullable: false })).nullable, false);
    assert.equal(mapColumn(source('note', 'text', { nullable: true })).nullable, true);
  });

  test('an unknown type (geometry) is refused with a SchemaError naming the column and its type', () => {
    assert.throws(
      () => mapColumn(source('location', 'geometry')),
      (error: unknown) => {
        assert.ok(error instanceof SchemaError);
        assert.equal(error.name, 'SchemaError');
        assert.match(error.message, /"location"/);
        assert.match(error.message, /geometry/);
        return true;
      },
    );
  });
});

describe('createTableSql', () => {
  const description: TableDescription = {
    table: 'users',
    primaryKey: 'id',
    primaryKeyIndex: 0,
    columns: [
      { name: 'id', pgType: 'numeric(20,0)', nullable: false, encoding: 'number' },
      { name: 'email', pgType: 'varchar(255)', nullable: false, encoding: 'text' },
      { name: 'Display Name', pgType: 'text', nullable: true, encoding: 'text' },
      { name: 'order', pgType: 'integer', nullable: true, encoding: 'number' },
    ],
  };

  test('creates the table in the target schema with quoted identifiers, NOT NULL and the PRIMARY KEY', () => {
    assert.equal(
      createTableSql(description, 'public'),
      [
        'CREATE TABLE "public"."users" (',
        '  "id" numeric(20,0) NOT NULL,',
        '  "email" varchar(255) NOT NULL,',
        '  "Display Name" text,',
        '  "order" integer,',
        '  PRIMARY KEY ("id")',
        ')',
      ].join('\n'),
    );
  });

  test('a double quote inside a name is doubled, so a name cannot break out of its quotes', () => {
    const sql = createTableSql(
      { ...description, table: 'we"ird', columns: [{ name: 'a"b', pgType: 'text', nullable: true, encoding: 'text' }], primaryKey: 'a"b' },
      'sch"ema',
    );
    assert.equal(sql, 'CREATE TABLE "sch""ema"."we""ird" (\n  "a""b" text,\n  PRIMARY KEY ("a""b")\n)');
  });
});
