import type { ConnectionPair } from '../../functions/core/connections.js';
import { quotePg } from '../../functions/core/identifiers.js';
import { dropTables } from './databases.js';

/**
 * A column of each type the README maps, written by hand: its MySQL definition and a value in
 * MySQL's SQL, the PostgreSQL type and the same value in PostgreSQL's SQL (what a faithful copy
 * holds), and the smallest change of that value (`$x` is the column) that must not go unnoticed.
 */
export interface TypedColumn {
  name: string;
  mysql: string;
  value: string;
  pg: string;
  pgValue: string;
  step: string;
}

const column = (name: string, mysql: string, value: string, pg: string, pgValue: string, step: string) => ({
  name,
  mysql,
  value,
  pg,
  pgValue,
  step,
});
/** A value both servers write alike. */
const alike = (name: string, mysql: string, value: string, pg: string, step: string) =>
  column(name, mysql, value, pg, value, step);

export const EVERY_TYPE: TypedColumn[] = [
  alike('ti', 'TINYINT', '-128', 'smallint', '$x + 1'),
  alike('tiu', 'TINYINT UNSIGNED', '255', 'smallint', '$x - 1'),
  alike('si', 'SMALLINT', '-32768', 'smallint', '$x + 1'),
  alike('siu', 'SMALLINT UNSIGNED', '65535', 'integer', '$x - 1'),
  alike('mi', 'MEDIUMINT', '-8388608', 'integer', '$x + 1'),
  alike('miu', 'MEDIUMINT UNSIGNED', '16777215', 'integer', '$x - 1'),
  alike('i', 'INT', '-2147483648', 'integer', '$x + 1'),
  alike('iu', 'INT UNSIGNED', '4294967295', 'bigint', '$x - 1'),
  alike('bi', 'BIGINT', '-9223372036854775808', 'bigint', '$x + 1'),
  alike('biu', 'BIGINT UNSIGNED', '18446744073709551615', 'numeric(20,0)', '$x - 1'),
  alike('zf', 'INT(5) UNSIGNED ZEROFILL', '42', 'bigint', '$x + 1'),
  alike('num', 'DECIMAL(12,2)', '-1234.50', 'numeric(12,2)', '$x + 0.01'),
  alike('num65', 'DECIMAL(65,30)', `0.${'0'.repeat(29)}1`, 'numeric(65,30)', `$x + 0.${'0'.repeat(29)}1`),
  // The next float and the next double above 0.1: 2^-27 and 2^-56 apart.
  alike('fl', 'FLOAT', '0.1', 'real', "$x + '7.450580596923828e-09'::real"),
  alike('db', 'DOUBLE', '0.1', 'double precision', "$x + '1.3877787807814457e-17'::float8"),
  column('flag', 'TINYINT(1)', '1', 'boolean', 'true', 'NOT $x'),
  column('b1', 'BIT(1)', "b'1'", 'boolean', 'true', 'NOT $x'),
  column('b10', 'BIT(10)', "b'1000000001'", 'bit(10)', "B'1000000001'", "$x # B'0000000001'"),
  column('b64', 'BIT(64)', `b'1${'0'.repeat(62)}1'`, 'bit(64)', `B'1${'0'.repeat(62)}1'`, `$x # B'${'0'.repeat(63)}1'`),
  alike('y', 'YEAR', '2024', 'smallint', '$x + 1'),
  alike('d', 'DATE', "'2024-02-29'", 'date', '$x + 1'),
  column('d0', 'DATE', "'0000-03-01'", 'date', "'0001-03-01 BC'", '$x + 1'),
  alike('dt', 'DATETIME', "'2024-02-29 23:59:59'", 'timestamp(0) without time zone', "$x + interval '1 second'"),
  alike(
    'dt6',
    'DATETIME(6)',
    "'2024-02-29 23:59:59.999998'",
    'timestamp(6) without time zone',
    "$x + interval '1 microsecond'",
  ),
  column(
    'ts',
    'TIMESTAMP NULL',
    "'2038-01-19 03:14:06'",
    'timestamp(0) with time zone',
    "'2038-01-19 03:14:06+00'",
    "$x + interval '1 second'",
  ),
  column(
    'ts6',
    'TIMESTAMP(6) NULL',
    "'2020-01-01 00:00:00.123456'",
    'timestamp(6) with time zone',
    "'2020-01-01 00:00:00.123456+00'",
    "$x + interval '1 microsecond'",
  ),
  alike('t', 'TIME', "'-838:59:58'", 'interval(0)', "$x + interval '1 second'"),
  alike('t6', 'TIME(6)', "'12:34:56.5'", 'interval(6)', "$x + interval '1 microsecond'"),
  alike('c', 'CHAR(5)', "'ab'", 'character varying(5)', "$x || ' '"),
  alike('vc', 'VARCHAR(20)', "'Zoë 🚀'", 'character varying(20)', "$x || ' '"),
  alike('lat', 'VARCHAR(10) CHARACTER SET latin1', "'café'", 'character varying(10)', "translate($x, 'é', 'e')"),
  alike('mb3', 'VARCHAR(10) CHARACTER SET utf8mb3', "'Ωmega'", 'character varying(10)', "$x || ' '"),
  alike('tt', 'TINYTEXT', "'tiny'", 'text', "$x || ' '"),
  column('txt', 'TEXT', "'tab\\there'", 'text', "E'tab\\there'", "$x || ' '"),
  alike('mt', 'MEDIUMTEXT', "'medium'", 'text', "$x || ' '"),
  alike('lt', 'LONGTEXT', "'long'", 'text', "$x || ' '"),
  alike('e', "ENUM('a','b','c')", "'b'", 'text', "$x || ' '"),
  alike('st', "SET('x','y','z')", "'x,z'", 'text', "'x'"),
  alike('j', 'JSON', `'{"s": "a", "n": [1, 2.5]}'`, 'jsonb', `jsonb_set($x, '{s}', '"a "')`),
  column('bin', 'BINARY(4)', "X'61620000'", 'bytea', "'\\x61620000'", 'substring($x from 1 for 3)'),
  column('vb', 'VARBINARY(10)', "X'00ff'", 'bytea', "'\\x00ff'", "$x || '\\x00'::bytea"),
  column('tb', 'TINYBLOB', "X'01'", 'bytea', "'\\x01'", "$x || '\\x00'::bytea"),
  column('blb', 'BLOB', "X'0102'", 'bytea', "'\\x0102'", 'set_byte($x, 0, get_byte($x, 0) # 1)'),
  column('mb', 'MEDIUMBLOB', "X'ff'", 'bytea', "'\\xff'", "'\\x'::bytea"),
  column('lb', 'LONGBLOB', "X'00'", 'bytea', "'\\x00'", "$x || '\\x00'::bytea"),
  alike('u', 'UUID', "'123e4567-e89b-12d3-a456-426614174000'", 'uuid', "(left($x::text, 35) || '1')::uuid"),
  alike('i4', 'INET4', "'192.0.2.1'", 'inet', '$x + 1'),
  alike('i6', 'INET6', "'2001:db8::1'", 'inet', '$x + 1'),
];

/**
 * The source table: row k (1-based) for the k-th column, every row with the same values, and
 * then one row of NULLs. Created with nothing on the target side.
 */
export async function createEveryTypeSource(pair: ConnectionPair, table: string): Promise<number> {
  await dropTables(pair, table);
  await pair.source
    .promise()
    .query(
      `CREATE TABLE ${table} (id INT PRIMARY KEY, ${EVERY_TYPE.map((c) => `${c.name} ${c.mysql}`).join(', ')}) DEFAULT CHARSET=utf8mb4`,
    );
  const values = EVERY_TYPE.map((c) => c.value).join(', ');
  const rows = EVERY_TYPE.map((_, k) => `(${k + 1}, ${values})`);
  const nulls = `(${EVERY_TYPE.length + 1}${', NULL'.repeat(EVERY_TYPE.length)})`;
  await pair.source.promise().query(`INSERT INTO ${table} VALUES ${[...rows, nulls].join(', ')}`);
  return EVERY_TYPE.length + 1;
}

/** The target table a faithful copy makes, written by hand: the same rows in PostgreSQL's words. */
export async function createEveryTypeTarget(pair: ConnectionPair, table: string): Promise<void> {
  const name = `public.${quotePg(table)}`;
  await pair.target.query(`DROP TABLE IF EXISTS ${name}`);
  await pair.target.query(
    `CREATE TABLE ${name} (id integer PRIMARY KEY, ${EVERY_TYPE.map((c) => `${c.name} ${c.pg}`).join(', ')})`,
  );
  const values = EVERY_TYPE.map((c) => `(${c.pgValue})::${c.pg}`).join(', ');
  const rows = EVERY_TYPE.map((_, k) => `(${k + 1}, ${values})`);
  const nulls = `(${EVERY_TYPE.length + 1}${', NULL'.repeat(EVERY_TYPE.length)})`;
  await pair.target.query(`INSERT INTO ${name} VALUES ${[...rows, nulls].join(', ')}`);
}

/** The column's smallest change as PostgreSQL SQL over `value`. */
export const stepOf = (column: TypedColumn, value: string) => column.step.replaceAll('$x', value);
