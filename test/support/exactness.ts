import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { ConnectionPair } from '../../functions/core/connections.js';
import { quoteMysql, quotePg } from '../../functions/core/identifiers.js';

/**
 * The tests' own proof that the target holds the source's table, written apart from the product:
 * it shares no code with the canonical forms and comparison VerifyRange uses (a form that mapped
 * two values to one text would hide a bad copy from both). Each server prints each value as the
 * text of its meaning, by SQL written here per type: numbers without trailing zeros, booleans as
 * 0/1, dates in the astronomical year, instants and durations as microseconds, bytes as hex.
 * Floats (as the bits of their double) and JSON (by content) are put in the same text here in
 * JavaScript. A geometry means its SRID and its WKB, each server's own (`ST_SRID`, `ST_AsBinary`);
 * stored as bytes without PostGIS, the EWKB is taken apart here. Then each side sums per column the hashes of `key:value` over its rows, and the
 * counts and sums must agree; when they do not, the rows are read to say where.
 *
 * The expected meaning is that of the default policies: a zero date arrives as NULL, nothing else
 * is changed on the way.
 */

/** One side's text of a column's meaning: an SQL expression, and for some types JavaScript after it. */
interface Meaning {
  sql: string;
  js?: (text: string) => string;
}

interface ColumnMeaning {
  name: string;
  source: Meaning;
  target: Meaning;
}

const INTEGER_KEYS = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'bigint']);

interface TableMeaning {
  /**
   * Each side's text of a row's key. A one-column primary key is its own text, in the servers'
   * order; any other key (composite, or a unique NOT NULL one) is its columns' meanings joined,
   * and rows are put in the order of that text here (the servers' collations differ).
   */
  key: { source: string; target: string; serverOrder: boolean };
  columns: ColumnMeaning[];
}

export interface CompareOptions {
  /** An SQL condition both servers understand (`id < 100`), to compare only those rows. */
  where?: string;
}

export interface TableComparison {
  rows: { source: number; target: number };
  /** The columns whose values differ somewhere, in table order. */
  columns: string[];
  /** The first differences by key: missing, extra, or a column's two values. */
  differences: string[];
}

/**
 * Compares the table on both sides. Only the sums travel while the table is exact; a mismatch
 * reads both sides' rows to name the first keys and columns that differ.
 */
export async function compareTable(
  pair: ConnectionPair,
  table: string,
  options: CompareOptions = {},
): Promise<TableComparison> {
  const meaning = await tableMeaning(pair, table);
  const sides = readers(pair, table, meaning, options);
  const [source, target] = await Promise.all([fingerprint(sides.source, meaning), fingerprint(sides.target, meaning)]);
  const rows = { source: source.rows, target: target.rows };
  const columns = meaning.columns.map((c) => c.name).filter((name) => source.sums[name] !== target.sums[name]);
  if (columns.length === 0 && rows.source === rows.target) return { rows, columns, differences: [] };
  return { rows, columns, differences: await firstDifferences(sides, meaning) };
}

/**
 * Fails, saying where the target differs, unless it holds exactly the source's rows (those of
 * `where`); returns the comparison, whose counts a test may check further.
 */
export async function assertTargetExact(
  pair: ConnectionPair,
  table: string,
  options: CompareOptions = {},
): Promise<TableComparison> {
  const comparison = await compareTable(pair, table, options);
  assert.ok(comparison.rows.source > 0, `${table} has no rows to compare in the source: that proves nothing`);
  assert.deepEqual(
    comparison,
    { rows: { source: comparison.rows.source, target: comparison.rows.source }, columns: [], differences: [] },
    `${table} differs: ${comparison.differences.join('; ')}`,
  );
  return comparison;
}

/** Every row of each side in key order, the key first, then each value as the text of its meaning. */
export async function readBothSides(
  pair: ConnectionPair,
  table: string,
  options: CompareOptions = {},
): Promise<{ source: Row[]; target: Row[] }> {
  const meaning = await tableMeaning(pair, table);
  const sides = readers(pair, table, meaning, options);
  const [source, target] = await Promise.all([sides.source.rows(meaning.columns), sides.target.rows(meaning.columns)]);
  return { source, target };
}

// --- What each type means, on each side -----------------------------------------------------

interface SourceType {
  name: string;
  dataType: string;
  columnType: string;
}

/** The meaning of every column, from each server's own catalogue. */
async function tableMeaning({ source, target }: ConnectionPair, table: string): Promise<TableMeaning> {
  const [sourceColumns] = (await source.promise().query(
    `SELECT COLUMN_NAME AS name, DATA_TYPE AS dataType, COLUMN_TYPE AS columnType
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
    [table],
  )) as unknown as [SourceType[]];
  // The primary key, or else the first unique key whose every column is NOT NULL.
  const [keyColumns] = (await source.promise().query(
    `SELECT k.CONSTRAINT_NAME AS constraintName, k.COLUMN_NAME AS name, c.IS_NULLABLE AS nullable
       FROM information_schema.KEY_COLUMN_USAGE k
       JOIN information_schema.TABLE_CONSTRAINTS t USING (CONSTRAINT_SCHEMA, CONSTRAINT_NAME, TABLE_NAME)
       JOIN information_schema.COLUMNS c
         ON c.TABLE_SCHEMA = k.TABLE_SCHEMA AND c.TABLE_NAME = k.TABLE_NAME AND c.COLUMN_NAME = k.COLUMN_NAME
      WHERE k.TABLE_SCHEMA = DATABASE() AND k.TABLE_NAME = ? AND t.CONSTRAINT_TYPE IN ('PRIMARY KEY', 'UNIQUE')
      ORDER BY k.CONSTRAINT_NAME <> 'PRIMARY', k.CONSTRAINT_NAME, k.ORDINAL_POSITION`,
    [table],
  )) as unknown as [{ constraintName: string; name: string; nullable: string }[]];
  const constraints = [...new Set(keyColumns.map((k) => k.constraintName))].map((name) =>
    keyColumns.filter((k) => k.constraintName === name),
  );
  const keys = constraints.find((columns) => columns.every((k) => k.nullable === 'NO')) ?? [];
  const { rows: targetColumns } = await target.query<{ name: string; type: string }>(
    `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
      WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`,
    [`public.${quotePg(table)}`],
  );
  assert.ok(keys.length > 0, `${table} needs a primary key or a unique NOT NULL key to be compared`);
  const targetType = new Map(targetColumns.map((c) => [c.name, c.type]));
  const columns = sourceColumns.map((column): ColumnMeaning => {
    const type = targetType.get(column.name);
    assert.ok(type, `${table}.${column.name} is not in the target`);
    const json = type === 'jsonb' || type === 'json';
    if (SPATIAL.has(column.dataType)) return { name: column.name, ...spatialMeaning(column.name, type) };
    return {
      name: column.name,
      source: sourceMeaning(column, json),
      target: targetMeaning(quotePg(column.name), type),
    };
  });
  // An integer key prints alike on both sides; another (bytes, say) is compared by its meaning.
  const integerKey = INTEGER_KEYS.has(sourceColumns.find((c) => c.name === keys[0]!.name)!.dataType);
  if (keys.length === 1 && keys[0]!.constraintName === 'PRIMARY' && integerKey) {
    const name = keys[0]!.name;
    return { key: { source: quoteMysql(name), target: quotePg(name), serverOrder: true }, columns };
  }
  const keyMeanings = keys.map((k) => columns.find((column) => column.name === k.name)!);
  assert.ok(
    keyMeanings.every((column) => !column.source.js && !column.target.js),
    `${table}: a key column's meaning must be all SQL to compare by it`,
  );
  // Each part tagged with its length, so no two keys join into one text.
  const joined = (parts: string[], length: (part: string) => string, concat: (parts: string[]) => string) =>
    concat(parts.flatMap((part, i) => [...(i > 0 ? ["'|'"] : []), length(part), "':'", part]));
  return {
    key: {
      source: joined(
        keyMeanings.map((c) => c.source.sql),
        (part) => `CHAR_LENGTH(${part})`,
        (parts) => `CONCAT(${parts.join(', ')})`,
      ),
      target: joined(
        keyMeanings.map((c) => c.target.sql),
        (part) => `char_length(${part})::text`,
        (parts) => `(${parts.join(' || ')})`,
      ),
      serverOrder: false,
    },
    columns,
  };
}

const SPATIAL = new Set([
  'geometry',
  'point',
  'linestring',
  'polygon',
  'multipoint',
  'multilinestring',
  'multipolygon',
  'geometrycollection',
]);

/** A geometry as `srid:wkb in hex` on both sides; in a bytea column, its EWKB bytes read here. */
function spatialMeaning(name: string, targetType: string): Pick<ColumnMeaning, 'source' | 'target'> {
  const [x, y] = [quoteMysql(name), quotePg(name)];
  return {
    source: { sql: `CONCAT(ST_SRID(${x}), ':', LOWER(HEX(ST_AsBinary(${x}))))` },
    target:
      targetType === 'bytea'
        ? { sql: `encode(${y}, 'hex')`, js: ewkbMeaning }
        : { sql: `ST_SRID(${y}) || ':' || encode(ST_AsBinary(${y}), 'hex')` },
  };
}

/** EWKB in hex as `srid:wkb in hex`: the SRID follows the type when the type has flag 0x20000000. */
function ewkbMeaning(hex: string): string {
  const bytes = Buffer.from(hex, 'hex');
  const little = bytes[0] === 1;
  const type = little ? bytes.readUInt32LE(1) : bytes.readUInt32BE(1);
  if ((type & 0x20000000) === 0) return `0:${hex}`;
  const srid = little ? bytes.readUInt32LE(5) : bytes.readUInt32BE(5);
  const wkb = Buffer.concat([bytes.subarray(0, 5), bytes.subarray(9)]);
  if (little) wkb.writeUInt32LE(type & ~0x20000000, 1);
  else wkb.writeUInt32BE(type & ~0x20000000, 1);
  return `${srid}:${wkb.toString('hex')}`;
}

// Zero dates (a zero month or day) arrive as NULL under the default zeroDates policy.
const mysqlZeroDate = (x: string) => `(MONTH(${x}) = 0 OR DAYOFMONTH(${x}) = 0)`;
// A decimal's text without trailing zeros after its point: 1.50 and 1.5 are one number.
const mysqlNumber = (text: string) =>
  `IF(LOCATE('.', ${text}) > 0, TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM ${text})), ${text})`;
const pgNumber = (text: string) =>
  `CASE WHEN strpos(${text}, '.') > 0 THEN rtrim(rtrim(${text}, '0'), '.') ELSE ${text} END`;

function sourceMeaning({ name, dataType, columnType }: SourceType, json: boolean): Meaning {
  const x = quoteMysql(name);
  switch (dataType) {
    case 'tinyint':
    case 'smallint':
    case 'mediumint':
    case 'int':
    case 'bigint':
    case 'decimal':
      // `+ 0` drops ZEROFILL's padding; a tinyint(1) means its number, as a boolean means 0 or 1.
      return { sql: mysqlNumber(`CAST(${x} + 0 AS CHAR)`) };
    case 'float':
    case 'double':
      // MariaDB prints a double's shortest exact text; a FLOAT widened to a double is exact.
      return { sql: `CAST(${x} + 0e0 AS CHAR)`, js: doubleBits };
    case 'bit': {
      const width = Number(/^bit\((\d+)\)/.exec(columnType)?.[1] ?? 1);
      return { sql: width === 1 ? `CAST(${x} + 0 AS CHAR)` : `LPAD(BIN(${x} + 0), ${width}, '0')` };
    }
    case 'year':
      return { sql: `IF(${x} + 0 = 0, NULL, CAST(${x} + 0 AS CHAR))` };
    case 'date':
      return { sql: `IF(${mysqlZeroDate(x)}, NULL, DATE_FORMAT(${x}, '%Y-%m-%d'))` };
    case 'datetime':
      return { sql: `IF(${mysqlZeroDate(x)}, NULL, DATE_FORMAT(${x}, '%Y-%m-%d %H:%i:%s.%f'))` };
    case 'timestamp':
      // UNIX_TIMESTAMP reads a TIMESTAMP as stored, whatever the session's time zone; 0 is the zero value.
      return { sql: `CAST(NULLIF(UNIX_TIMESTAMP(${x}), 0) * 1000000 AS DECIMAL(30,0))` };
    case 'time':
      return { sql: `CAST(TIME_TO_SEC(${x}) * 1000000 AS DECIMAL(30,0))` };
    case 'binary':
    case 'varbinary':
    case 'tinyblob':
    case 'blob':
    case 'mediumblob':
    case 'longblob':
      return { sql: `LOWER(HEX(${x}))` };
    default:
      // Text of any charset, ENUM labels, SET members, MariaDB's UUID and INET types: their text.
      return { sql: `CONVERT(CAST(${x} AS CHAR) USING utf8mb4)`, ...(json ? { js: jsonContent } : {}) };
  }
}

/** The year of an astronomical calendar: PostgreSQL's 1 BC is MySQL's year 0. */
const pgDate = (x: string, format: string) =>
  `CASE WHEN to_char(${x}, 'BC') = 'BC' THEN lpad((1 - to_char(${x}, 'YYYY')::int)::text, 4, '0') || to_char(${x}, '${format}')
        ELSE to_char(${x}, 'YYYY${format}') END`;
const pgMicroseconds = (x: string) => `(extract(epoch FROM ${x}) * 1000000)::numeric(30,0)::text`;

function targetMeaning(x: string, type: string): Meaning {
  const base = type.replace(/\(.*\)/, '');
  switch (base) {
    case 'smallint':
    case 'integer':
    case 'bigint':
    case 'numeric':
      return { sql: pgNumber(`${x}::text`) };
    case 'boolean':
      return { sql: `CASE ${x} WHEN true THEN '1' WHEN false THEN '0' END` };
    case 'real':
    case 'double precision':
      return { sql: `encode(float8send(${x}::float8), 'hex')` };
    case 'date':
      return { sql: pgDate(x, '-MM-DD') };
    case 'timestamp without time zone':
      return { sql: pgDate(x, '-MM-DD HH24:MI:SS.US') };
    case 'timestamp with time zone':
    case 'interval':
      return { sql: pgMicroseconds(x) };
    case 'bytea':
      return { sql: `encode(${x}, 'hex')` };
    case 'inet':
      return { sql: `host(${x})` };
    case 'json':
    case 'jsonb':
      return { sql: `${x}::text`, js: jsonContent };
    default:
      return { sql: `${x}::text` };
  }
}

/** A double's text as the hex of its eight bytes: two texts of one double give one value. */
function doubleBits(text: string): string {
  const bytes = Buffer.alloc(8);
  bytes.writeDoubleBE(Number(text));
  return bytes.toString('hex');
}

/**
 * JSON by content: objects by their keys (jsonb reorders them), strings by their characters,
 * numbers exactly (jsonb prints 1.5e3 as 1500), not as doubles, which would take 2^53 + 1 for 2^53.
 * Every string and number becomes a string marked with what it was before it is parsed.
 */
function jsonContent(text: string): string {
  const marked = text.replace(/"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?/g, (token) =>
    token.startsWith('"') ? `"s${token.slice(1)}` : `"n${exactNumber(token)}"`,
  );
  return JSON.stringify(JSON.parse(marked), (_key, value: unknown) =>
    value && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1)))
      : value,
  );
}

/** A decimal number's text as digits and a power of ten: `1.5e3`, `1500` and `1500.0` are `15e2`. */
function exactNumber(text: string): string {
  const [, sign, whole, fraction = '', exponent = '0'] = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([-+]?\d+))?$/.exec(text)!;
  const digits = `${whole}${fraction}`.replace(/^0+/, '');
  const significant = digits.replace(/0+$/, '');
  if (significant === '') return '0';
  const power = Number(exponent) - fraction.length + (digits.length - significant.length);
  return `${sign}${significant}e${power}`;
}

// --- Reading each side ---------------------------------------------------------------------

export type Row = (string | null)[];

interface Sums {
  rows: number;
  sums: Record<string, string>;
}

/** One server, read through the meanings of its side. */
interface SideReader {
  side: 'source' | 'target';
  /** The row count and, per column, the sum of the hashes of `key:meaning`, both computed by the server. */
  sums(columns: ColumnMeaning[]): Promise<Sums>;
  /** The key and the columns' meanings, in key order. */
  rows(columns: ColumnMeaning[]): Promise<Row[]>;
}

const filter = (options: CompareOptions) => (options.where ? `WHERE ${options.where}` : '');

// A NULL is tagged apart from every text, and the key is hashed with the value, so a value moved
// to another row changes the sum. 60 bits of md5 per row; sums are exact decimals on both servers.
const mysqlHash = (key: string, value: string) =>
  `CAST(CONV(LEFT(MD5(CONVERT(CONCAT(CAST(${key} AS CHAR), ':', IF(${value} IS NULL, 'N', CONCAT('V', ${value}))) USING utf8mb4)), 15), 16, 10) AS UNSIGNED)`;
const pgHash = (key: string, value: string) =>
  `('x' || left(md5(${key}::text || ':' || CASE WHEN ${value} IS NULL THEN 'N' ELSE 'V' || ${value} END), 15))::bit(60)::bigint`;

/** The hash the servers compute, for meanings finished in JavaScript. */
function hashed(key: string, value: string | null): bigint {
  const text = `${key}:${value === null ? 'N' : `V${value}`}`;
  return BigInt(`0x${createHash('md5').update(text, 'utf8').digest('hex').slice(0, 15)}`);
}

function readers(pair: ConnectionPair, table: string, meaning: TableMeaning, options: CompareOptions) {
  const sourceKey = meaning.key.source;
  const sourceTable = `${quoteMysql(table)} ${filter(options)}`;
  const targetKey = meaning.key.target;
  const order = (by: string) => (meaning.key.serverOrder ? `ORDER BY ${by}` : '');
  const targetTable = `public.${quotePg(table)} ${filter(options)}`;
  const source: SideReader = {
    side: 'source',
    async sums(columns) {
      const [[row]] = (await pair.source
        .promise()
        .query(
          `SELECT CAST(COUNT(*) AS CHAR) AS n${columns
            .map((c, i) => `, CAST(COALESCE(SUM(${mysqlHash(sourceKey, c.source.sql)}), 0) AS CHAR) AS s${i}`)
            .join('')} FROM ${sourceTable}`,
        )) as unknown as [[Record<string, string>]];
      return { rows: Number(row.n), sums: Object.fromEntries(columns.map((c, i) => [c.name, row[`s${i}`]!])) };
    },
    async rows(columns) {
      const [rows] = await pair.source.promise().query({
        sql: `SELECT CAST(${sourceKey} AS CHAR) AS key_text${columns.map((c) => `, ${c.source.sql}`).join('')}
                FROM ${sourceTable} ${order(`${quoteMysql(table)}.${sourceKey}`)}`,
        rowsAsArray: true,
      });
      return finish(rows as Row[], columns, 'source', meaning);
    },
  };
  const target: SideReader = {
    side: 'target',
    async sums(columns) {
      const { rows } = await pair.target.query<Record<string, string>>(
        `SELECT count(*)::text AS n${columns
          .map((c, i) => `, coalesce(sum(${pgHash(targetKey, c.target.sql)}), 0)::text AS s${i}`)
          .join('')} FROM ${targetTable}`,
      );
      const row = rows[0]!;
      return { rows: Number(row.n), sums: Object.fromEntries(columns.map((c, i) => [c.name, row[`s${i}`]!])) };
    },
    async rows(columns) {
      const { rows } = await pair.target.query<Row>({
        text: `SELECT ${targetKey}::text AS key_text${columns.map((c) => `, ${c.target.sql}`).join('')}
                 FROM ${targetTable} ${order(`public.${quotePg(table)}.${targetKey}`)}`,
        rowMode: 'array',
      });
      return finish(rows, columns, 'target', meaning);
    },
  };
  return { source, target };
}

/** Applies the JavaScript step of the columns' meanings that have one; orders by key text where the servers did not. */
function finish(rows: Row[], columns: ColumnMeaning[], side: 'source' | 'target', meaning: TableMeaning): Row[] {
  if (!meaning.key.serverOrder) rows.sort((a, b) => Number(a[0]! > b[0]!) - Number(a[0]! < b[0]!));
  for (const row of rows) {
    columns.forEach((column, i) => {
      const { js } = column[side];
      const value = row[i + 1];
      if (js && value !== null && value !== undefined) row[i + 1] = js(value);
    });
  }
  return rows;
}

/**
 * One side's count and per-column sums: the server sums the columns whose meaning is all SQL;
 * the others (floats' bits, JSON's content) are read and summed here with the same hash.
 */
async function fingerprint(reader: SideReader, meaning: TableMeaning): Promise<Sums> {
  const inJs = meaning.columns.filter((c) => c[reader.side].js);
  const fingerprint = await reader.sums(meaning.columns.filter((c) => !c[reader.side].js));
  if (inJs.length === 0) return fingerprint;
  const rows = await reader.rows(inJs);
  inJs.forEach((column, i) => {
    fingerprint.sums[column.name] = rows.reduce((sum, row) => sum + hashed(row[0]!, row[i + 1]!), 0n).toString();
  });
  return fingerprint;
}

const LISTED = 5;

/** The first keys where the sides differ: missing, extra, or a column with both meanings. */
async function firstDifferences(
  sides: { source: SideReader; target: SideReader },
  meaning: TableMeaning,
): Promise<string[]> {
  const [source, target] = await Promise.all([sides.source.rows(meaning.columns), sides.target.rows(meaning.columns)]);
  const targetByKey = new Map(target.map((row) => [row[0]!, row]));
  const differences: string[] = [];
  for (const row of source) {
    const other = targetByKey.get(row[0]!);
    targetByKey.delete(row[0]!);
    if (!other) differences.push(`key ${row[0]} is missing from the target`);
    else
      meaning.columns.forEach((column, i) => {
        if (row[i + 1] !== other[i + 1])
          differences.push(
            `${column.name} at key ${row[0]}: source ${JSON.stringify(row[i + 1])}, target ${JSON.stringify(other[i + 1])}`,
          );
      });
  }
  for (const key of targetByKey.keys()) differences.push(`key ${key} is in the target only`);
  return differences.slice(0, LISTED);
}
