import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { enumLabels } from '../../functions/core/codecs/type-table.js';
import {
  mapColumn,
  mariadbDefault,
  mysqlDefault,
  type SourceColumn,
  unquoteMysqlString,
} from '../../functions/core/schema.js';
import { sourceColumn } from '../support/source-columns.js';

/** A source column named by its COLUMN_TYPE, its DATA_TYPE the type's first word. */
const source = (name: string, columnType: string, extra: Partial<SourceColumn> = {}): SourceColumn =>
  sourceColumn(name, columnType.replace(/[ (].*$/, ''), columnType, extra);

describe('mapColumn: the MySQL → PostgreSQL type table', () => {
  const CASES: [SourceColumn, pgType: string, encoding: string, read?: string][] = [
    [source('id', 'bigint(20) unsigned'), 'numeric(20,0)', 'integer'],
    [source('id', 'bigint unsigned'), 'numeric(20,0)', 'integer'],
    [source('id', 'bigint(20)'), 'bigint', 'integer'],
    [source('n', 'int(10) unsigned'), 'bigint', 'integer'],
    [source('n', 'int(5) unsigned zerofill'), 'bigint', 'integer'],
    [source('n', 'int(11)'), 'integer', 'integer'],
    [source('n', 'smallint(6)'), 'smallint', 'integer'],
    [source('n', 'smallint(5) unsigned'), 'integer', 'integer'],
    [source('n', 'mediumint(8) unsigned'), 'integer', 'integer'],
    [source('n', 'tinyint(3) unsigned'), 'smallint', 'integer'],
    [source('active', 'tinyint(1)'), 'boolean', 'boolean'],
    [source('level', 'tinyint(4)'), 'smallint', 'integer'],
    [source('amount', 'decimal(65,30)', { numericPrecision: 65, numericScale: 30 }), 'numeric(65,30)', 'numeric'],
    [source('price', 'decimal(10,2) unsigned', { numericPrecision: 10, numericScale: 2 }), 'numeric(10,2)', 'numeric'],
    // MySQL prints FLOAT rounded to 6 digits; read as a double, the float is exact.
    [source('ratio', 'float'), 'real', 'float', '(`ratio` + 0e0) AS `ratio`'],
    [source('ratio', 'double'), 'double precision', 'float'],
    [source('flag', 'bit(1)'), 'boolean', 'boolean', '(`flag` + 0) AS `flag`'],
    [source('mask', 'bit(64)'), 'bit(64)', 'bit', '(`mask` + 0) AS `mask`'],
    [source('made', 'datetime(6)', { datetimePrecision: 6 }), 'timestamp(6) without time zone', 'datetime'],
    [source('made', 'datetime', { datetimePrecision: 0 }), 'timestamp(0) without time zone', 'datetime'],
    [source('seen', 'timestamp', { datetimePrecision: 0 }), 'timestamp(0) with time zone', 'timestamptz'],
    [source('seen', 'timestamp(3)', { datetimePrecision: 3 }), 'timestamp(3) with time zone', 'timestamptz'],
    [source('born', 'date'), 'date', 'date'],
    [source('took', 'time(6)', { datetimePrecision: 6 }), 'interval(6)', 'time'],
    [source('year', 'year(4)'), 'smallint', 'year'],
    [source('email', 'varchar(255)', { characterMaximumLength: 255 }), 'character varying(255)', 'text'],
    [source('code', 'char(2)', { characterMaximumLength: 2 }), 'character varying(2)', 'text'],
    // PostgreSQL has no varchar(0); CHAR(0) holds only '' and NULL.
    [source('none', 'char(0)', { characterMaximumLength: 0 }), 'character varying(1)', 'text'],
    [source('bio', 'longtext'), 'text', 'text'],
    [source('prefs', 'json'), 'jsonb', 'json'],
    // MariaDB's JSON: LONGTEXT with a json_valid() check, which the reader turns into DATA_TYPE json.
    [sourceColumn('prefs', 'json', 'longtext'), 'jsonb', 'json'],
    [source('state', "enum('','on','off')"), 'text', 'enum'],
    [source('tags', "set('a','b')"), 'text', 'text'],
    [source('hash', 'binary(16)'), 'bytea', 'bytea'],
    [source('blob', 'longblob'), 'bytea', 'bytea'],
    [source('uid', 'uuid'), 'uuid', 'text'],
    [source('ip', 'inet6'), 'inet', 'text'],
  ];

  for (const [column, pgType, encoding, read = `\`${column.name}\``] of CASES) {
    test(`${column.columnType} maps to ${pgType} written as ${encoding}`, () => {
      const plan = mapColumn(column);
      assert.deepEqual(
        {
          name: plan.name,
          nullable: plan.nullable,
          pgType: plan.codec.pgType,
          encoding: plan.codec.encoding,
          read: plan.read,
        },
        { name: column.name, nullable: true, pgType, encoding, read },
      );
    });
  }

  test('nullability is carried over from the source column', () => {
    assert.equal(mapColumn(source('id', 'int(11)', { nullable: false })).nullable, false);
    assert.equal(mapColumn(source('note', 'text', { nullable: true })).nullable, true);
  });

  test('a spatial type becomes PostGIS geometry of its kind where the target has PostGIS, else bytea', () => {
    const postgis = { postgis: true };
    assert.equal(mapColumn(source('location', 'geometry'), postgis).codec.pgType, 'geometry');
    assert.equal(mapColumn(source('location', 'point'), postgis).codec.pgType, 'geometry(Point)');
    assert.equal(mapColumn(source('location', 'multipolygon'), postgis).codec.pgType, 'geometry(MultiPolygon)');
    assert.equal(mapColumn(source('location', 'point'), { postgis: false }).codec.encoding, 'spatialBytea');
    assert.equal(mapColumn(source('location', 'point'), { postgis: false }).codec.pgType, 'bytea');
  });

  test('a type with no PostgreSQL type is refused with a SchemaError naming the column and its type', () => {
    assert.throws(() => mapColumn(source('v', 'vector(3)')), {
      name: 'SchemaError',
      message: 'Column v (vector(3)): no PostgreSQL type is chosen for it',
    });
  });

  test('enum labels are read with their quotes undone, the empty label included', () => {
    assert.deepEqual(enumLabels("enum('a','It''s','','x,y')"), ['a', "It's", '', 'x,y']);
  });
});

describe('column defaults as information_schema states them', () => {
  test('MariaDB: quoted literals are unescaped, NULL means none, numbers and bit literals are constants, the rest expressions', () => {
    assert.deepEqual(mariadbDefault(null, '', 'int'), { kind: 'none' });
    assert.deepEqual(mariadbDefault('NULL', '', 'varchar'), { kind: 'none' });
    assert.deepEqual(mariadbDefault("'NULL'", '', 'varchar'), { kind: 'literal', value: 'NULL' });
    assert.deepEqual(mariadbDefault("'it''s \\\\ \\0'", '', 'varchar'), { kind: 'literal', value: "it's \\ \0" });
    assert.deepEqual(mariadbDefault('-1.5e3', '', 'double'), { kind: 'literal', value: '-1.5e3' });
    assert.deepEqual(mariadbDefault("b'101'", '', 'bit'), { kind: 'literal', value: '5' });
    assert.deepEqual(mariadbDefault('current_timestamp(6)', 'on update current_timestamp(6)', 'datetime'), {
      kind: 'expression',
      sql: 'current_timestamp(6)',
    });
    assert.deepEqual(mariadbDefault('(1 + 1)', '', 'int'), { kind: 'expression', sql: '(1 + 1)' });
  });

  test('MySQL: literals come unquoted; DEFAULT_GENERATED and a bare CURRENT_TIMESTAMP are expressions', () => {
    assert.deepEqual(mysqlDefault("it's", '', 'varchar'), { kind: 'literal', value: "it's" });
    assert.deepEqual(mysqlDefault('0000-00-00 00:00:00', '', 'datetime'), {
      kind: 'literal',
      value: '0000-00-00 00:00:00',
    });
    assert.deepEqual(mysqlDefault('CURRENT_TIMESTAMP', 'default_generated', 'timestamp'), {
      kind: 'expression',
      sql: 'CURRENT_TIMESTAMP',
    });
    assert.deepEqual(mysqlDefault('CURRENT_TIMESTAMP', '', 'timestamp'), {
      kind: 'expression',
      sql: 'CURRENT_TIMESTAMP',
    });
    assert.deepEqual(mysqlDefault('(rand())', 'default_generated', 'double'), { kind: 'expression', sql: '(rand())' });
    assert.deepEqual(mysqlDefault("b'1'", '', 'bit'), { kind: 'literal', value: '1' });
  });

  test('MySQL string escapes are undone: doubled quotes, \\0, \\n, \\t, \\Z, and \\% stays two characters', () => {
    assert.equal(unquoteMysqlString("a''b\\nc\\td\\Ze\\%f\\_g\\\\h\\qi"), "a'b\nc\td\x1ae\\%f\\_g\\hqi");
  });
});
