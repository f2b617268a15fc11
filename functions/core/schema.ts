import type mysql from 'mysql2';
import { classifyDatabaseError, InputValidationError, SchemaError } from './errors.js';
import { quoteMysql } from './identifiers.js';

/**
 * How a column's source value becomes PostgreSQL text: the encoder that converts it, the
 * canonical form that compares it. Adding an encoding means saying both.
 */
export type Encoding =
  | 'number'
  | 'text'
  | 'enum'
  | 'json'
  | 'boolean'
  | 'bit'
  | 'bytea'
  | 'date'
  | 'datetime'
  | 'timestamptz'
  | 'time'
  | 'year';

/** A column default as `information_schema` states it, once MySQL's and MariaDB's spellings are told apart. */
export type SourceDefault =
  | { kind: 'none' }
  /** A constant, unquoted and unescaped: the value MySQL would store. */
  | { kind: 'literal'; value: string }
  /** An expression (`current_timestamp()`, `uuid()`, `(1 + 1)`), as MySQL spells it. */
  | { kind: 'expression'; sql: string };

/** A column as `information_schema.COLUMNS` (and, for MariaDB's JSON, `CHECK_CONSTRAINTS`) describes it. */
export interface SourceColumn {
  name: string;
  /** `DATA_TYPE`, lower case; `json` also for MariaDB's LONGTEXT with a json_valid() check. */
  dataType: string;
  /** `COLUMN_TYPE`: width, unsigned, enum labels. */
  columnType: string;
  nullable: boolean;
  numericPrecision: number | null;
  numericScale: number | null;
  datetimePrecision: number | null;
  characterMaximumLength: number | null;
  default: SourceDefault;
  /** `EXTRA`, lower case: auto_increment, on update ..., virtual/stored generated. */
  extra: string;
  /** The expression of a generated column, or null. */
  generation: string | null;
}

export interface ColumnPlan {
  name: string;
  pgType: string;
  /** Whether the target column takes NULL (the source's nullability, or the target's when it exists). */
  nullable: boolean;
  encoding: Encoding;
  /** The MySQL expression that reads the column exactly (the quoted name for most types). */
  read: string;
  source: SourceColumn;
}

export interface TableDescription {
  table: string;
  columns: ColumnPlan[];
  primaryKey: string;
  /** Position of the primary key in `columns`, to name the failing row's key in errors. */
  primaryKeyIndex: number;
}

interface TypeMapping {
  /** Spelled as PostgreSQL's format_type() prints it, so an existing target compares as text. */
  pgType: string;
  encoding: Encoding;
  /** How to select the column when its plain text form is not exact. */
  read?: (quoted: string) => string;
}

const unsigned = (c: SourceColumn) => c.columnType.includes('unsigned');
const fraction = (c: SourceColumn) => `(${c.datetimePrecision ?? 0})`;
const number = (pgType: string): TypeMapping => ({ pgType, encoding: 'number' });
const text = (pgType: string): TypeMapping => ({ pgType, encoding: 'text' });
// PostgreSQL has no varchar(0); MySQL's CHAR(0)/VARCHAR(0) hold only '' and NULL, which varchar(1) holds too.
const varchar = (c: SourceColumn) => text(`character varying(${Math.max(1, c.characterMaximumLength ?? 1)})`);
const bytea: TypeMapping = { pgType: 'bytea', encoding: 'bytea' };
// MySQL prints FLOAT rounded to 6 digits; as a double it is exact, and `real` reads that back to the same float.
const asDouble = (quoted: string) => `(${quoted} + 0e0)`;
// BIT arrives as raw bytes; as an unsigned integer it is exact up to BIT(64).
const asInteger = (quoted: string) => `(${quoted} + 0)`;
const SPATIAL = [
  'geometry',
  'point',
  'linestring',
  'polygon',
  'multipoint',
  'multilinestring',
  'multipolygon',
  'geometrycollection',
];

/**
 * The MySQL/MariaDB type → PostgreSQL type table: one row per type, each with the encoding of
 * its values. Unsigned integers move up one width so their whole range fits (BIGINT UNSIGNED
 * needs numeric(20,0)); tinyint(1) and BIT(1) are MySQL's booleans; TIME spans ±838 hours, which
 * only `interval` holds. The README's Types section is this table in words.
 */
const TYPE_MAP: Record<string, (column: SourceColumn) => TypeMapping> = {
  tinyint: (c) => (c.columnType === 'tinyint(1)' ? { pgType: 'boolean', encoding: 'boolean' } : number('smallint')),
  smallint: (c) => number(unsigned(c) ? 'integer' : 'smallint'),
  mediumint: () => number('integer'),
  int: (c) => number(unsigned(c) ? 'bigint' : 'integer'),
  bigint: (c) => number(unsigned(c) ? 'numeric(20,0)' : 'bigint'),
  decimal: (c) => number(`numeric(${c.numericPrecision ?? 10},${c.numericScale ?? 0})`),
  float: () => ({ pgType: 'real', encoding: 'number', read: asDouble }),
  double: () => number('double precision'),
  bit: (c) =>
    bitWidth(c.columnType) === 1
      ? { pgType: 'boolean', encoding: 'boolean', read: asInteger }
      : { pgType: `bit(${bitWidth(c.columnType)})`, encoding: 'bit', read: asInteger },
  year: () => ({ pgType: 'smallint', encoding: 'year' }),
  // MySQL returns CHAR values without their trailing pad, so varchar(n) holds exactly what is read.
  char: varchar,
  varchar,
  tinytext: () => text('text'),
  text: () => text('text'),
  mediumtext: () => text('text'),
  longtext: () => text('text'),
  enum: () => ({ pgType: 'text', encoding: 'enum' }),
  // A SET value is its members joined by commas, as MySQL prints it.
  set: () => text('text'),
  json: () => ({ pgType: 'jsonb', encoding: 'json' }),
  date: () => ({ pgType: 'date', encoding: 'date' }),
  datetime: (c) => ({ pgType: `timestamp${fraction(c)} without time zone`, encoding: 'datetime' }),
  // The source session runs in UTC, so TIMESTAMP values are instants said in UTC.
  timestamp: (c) => ({ pgType: `timestamp${fraction(c)} with time zone`, encoding: 'timestamptz' }),
  time: (c) => ({ pgType: `interval${fraction(c)}`, encoding: 'time' }),
  binary: () => bytea,
  varbinary: () => bytea,
  tinyblob: () => bytea,
  blob: () => bytea,
  mediumblob: () => bytea,
  longblob: () => bytea,
  // MariaDB's own types.
  uuid: () => text('uuid'),
  inet4: () => text('inet'),
  inet6: () => text('inet'),
};

const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'bigint']);

/** The width n of a `bit(n)` column type. */
export function bitWidth(columnType: string): number {
  return Number(/^bit\((\d+)\)/.exec(columnType)?.[1] ?? 1);
}

/** The labels of an `enum('a','b')` column type, unquoted. */
export function enumLabels(columnType: string): string[] {
  return [...columnType.replace(/^enum\(/, '').matchAll(/'((?:[^']|'')*)'/g)].map((match) =>
    match[1]!.replace(/''/g, "'"),
  );
}

/** Why a column cannot be migrated, or null when TYPE_MAP has a row for it. */
function unmappable(column: SourceColumn): string | null {
  if (TYPE_MAP[column.dataType]) return null;
  if (SPATIAL.includes(column.dataType)) {
    return `${column.name} (${column.columnType}): spatial types are not migrated; store it as WKB (ST_AsBinary) in a VARBINARY column to move its bytes`;
  }
  return `${column.name} (${column.columnType}): no PostgreSQL type is chosen for it`;
}

/** Maps one source column by its TYPE_MAP row. */
export function mapColumn(column: SourceColumn): ColumnPlan {
  const mapping = TYPE_MAP[column.dataType];
  if (!mapping) throw new SchemaError(`Column ${unmappable(column)}`);
  const { pgType, encoding, read } = mapping(column);
  const quoted = quoteMysql(column.name);
  return {
    name: column.name,
    pgType,
    nullable: column.nullable,
    encoding,
    read: read ? `${read(quoted)} AS ${quoted}` : quoted,
    source: column,
  };
}

interface ColumnRow {
  name: string;
  dataType: string;
  columnType: string;
  nullable: string;
  numericPrecision: number | string | null;
  numericScale: number | string | null;
  datetimePrecision: number | string | null;
  characterMaximumLength: number | string | null;
  columnDefault: string | null;
  extra: string;
  generation: string | null;
}

/** Reads the table's columns and primary key from the source's information_schema. */
export async function describeSourceTable(source: mysql.Connection, table: string): Promise<TableDescription> {
  let rows: ColumnRow[];
  let primaryKey: string[];
  let jsonColumns: Set<string>;
  let mariadb: boolean;
  try {
    const db = source.promise();
    const [columnRows] = await db.query(
      `SELECT COLUMN_NAME AS name, DATA_TYPE AS dataType, COLUMN_TYPE AS columnType, IS_NULLABLE AS nullable,
              NUMERIC_PRECISION AS numericPrecision, NUMERIC_SCALE AS numericScale,
              DATETIME_PRECISION AS datetimePrecision, CHARACTER_MAXIMUM_LENGTH AS characterMaximumLength,
              COLUMN_DEFAULT AS columnDefault, EXTRA AS extra, GENERATION_EXPRESSION AS generation
         FROM information_schema.COLUMNS
        WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?
        ORDER BY ORDINAL_POSITION`,
      [table],
    );
    rows = columnRows as ColumnRow[];
    const [keyRows] = await db.query(
      `SELECT COLUMN_NAME AS name FROM information_schema.KEY_COLUMN_USAGE
        WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY'
        ORDER BY ORDINAL_POSITION`,
      [table],
    );
    primaryKey = (keyRows as { name: string }[]).map((row) => row.name);
    const [[version]] = (await db.query('SELECT VERSION() AS version')) as unknown as [[{ version: string }]];
    mariadb = /mariadb/i.test(version.version);
    jsonColumns = mariadb ? await mariadbJsonColumns(source, table) : new Set();
  } catch (error) {
    throw classifyDatabaseError(error, 'source');
  }
  if (rows.length === 0) {
    throw new InputValidationError(
      `"table": ${table} does not exist in the source database: give the name of an existing table`,
    );
  }
  const columns = rows.map((row) => toSourceColumn(row, jsonColumns.has(row.name), mariadb));
  const refused = columns.map(unmappable).filter((reason) => reason !== null);
  if (refused.length > 0) {
    throw new SchemaError(
      `Table ${table} has column${refused.length > 1 ? 's' : ''} this tool cannot migrate: ${refused.join('; ')}`,
    );
  }
  if (primaryKey.length !== 1) {
    throw new SchemaError(
      `Table ${table} has ${primaryKey.length === 0 ? 'no primary key' : `a composite primary key (${primaryKey.join(', ')})`}: ` +
        'ranges are split on a single integer primary key',
    );
  }
  const [keyName] = primaryKey as [string];
  const keyColumn = columns.find((column) => column.name === keyName)!;
  if (!INTEGER_TYPES.has(keyColumn.dataType)) {
    throw new SchemaError(
      `Table ${table} has primary key ${keyName} of type ${keyColumn.columnType}: ranges are split on an integer primary key`,
    );
  }
  return {
    table,
    columns: columns.map(mapColumn),
    primaryKey: keyName,
    primaryKeyIndex: columns.indexOf(keyColumn),
  };
}

/** MariaDB's JSON is LONGTEXT with a `json_valid(col)` CHECK; MySQL has a real JSON type. */
async function mariadbJsonColumns(source: mysql.Connection, table: string): Promise<Set<string>> {
  const [rows] = await source.promise().query(
    `SELECT CHECK_CLAUSE AS clause FROM information_schema.CHECK_CONSTRAINTS
      WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = ?`,
    [table],
  );
  const columns = (rows as { clause: string }[]).map(
    (row) => /^json_valid\(`((?:[^`]|``)+)`\)$/i.exec(row.clause.trim())?.[1],
  );
  return new Set(columns.filter((name) => name !== undefined).map((name) => name.replace(/``/g, '`')));
}

function toSourceColumn(row: ColumnRow, json: boolean, mariadb: boolean): SourceColumn {
  const count = (value: number | string | null) => (value === null ? null : Number(value));
  const dataType = row.dataType.toLowerCase();
  const extra = (row.extra ?? '').toLowerCase();
  return {
    name: row.name,
    dataType: json && dataType === 'longtext' ? 'json' : dataType,
    // MySQL prints types in lower case already; the ENUM and SET labels keep theirs.
    columnType: row.columnType,
    nullable: row.nullable === 'YES',
    numericPrecision: count(row.numericPrecision),
    numericScale: count(row.numericScale),
    datetimePrecision: count(row.datetimePrecision),
    characterMaximumLength: count(row.characterMaximumLength),
    default: (mariadb ? mariadbDefault : mysqlDefault)(row.columnDefault, extra, dataType),
    extra,
    generation: row.generation || null,
  };
}

const NUMERIC_LITERAL = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;
const BIT_LITERAL = /^b'([01]*)'$/i;

/**
 * MariaDB (10.2.7+) quotes string defaults (`'text'`), says `NULL` for a NULL default, and
 * writes expressions as SQL (`current_timestamp()`, `uuid()`).
 */
export function mariadbDefault(columnDefault: string | null, _extra: string, dataType: string): SourceDefault {
  if (columnDefault === null || columnDefault === 'NULL') return { kind: 'none' };
  if (/^'.*'$/s.test(columnDefault)) return { kind: 'literal', value: unquoteMysqlString(columnDefault.slice(1, -1)) };
  return constantOrExpression(columnDefault, dataType);
}

/**
 * MySQL gives string defaults unquoted and marks expression defaults (CURRENT_TIMESTAMP
 * included) with DEFAULT_GENERATED in EXTRA; 5.7 gives CURRENT_TIMESTAMP bare.
 */
export function mysqlDefault(columnDefault: string | null, extra: string, dataType: string): SourceDefault {
  if (columnDefault === null) return { kind: 'none' };
  if (extra.includes('default_generated') || /^current_timestamp(\(\d?\))?$/i.test(columnDefault))
    return { kind: 'expression', sql: columnDefault };
  if (dataType === 'bit') return constantOrExpression(columnDefault, dataType);
  return { kind: 'literal', value: columnDefault };
}

function constantOrExpression(sql: string, dataType: string): SourceDefault {
  const bits = BIT_LITERAL.exec(sql);
  // A bit literal is read as the integer the column's read expression gives.
  if (bits && dataType === 'bit') return { kind: 'literal', value: BigInt(`0b${bits[1] || '0'}`).toString() };
  if (NUMERIC_LITERAL.test(sql)) return { kind: 'literal', value: sql };
  return { kind: 'expression', sql };
}

const MYSQL_ESCAPES: Record<string, string> = {
  '0': '\0',
  b: '\b',
  n: '\n',
  r: '\r',
  t: '\t',
  Z: '\x1a',
  '%': '\\%',
  _: '\\_',
};

/** The value of the inside of a MySQL single-quoted string: `''` and backslash escapes undone. */
export function unquoteMysqlString(quoted: string): string {
  return quoted.replace(/''|\\(.)/gs, (_match, escaped: string | undefined) =>
    escaped === undefined ? "'" : (MYSQL_ESCAPES[escaped] ?? escaped),
  );
}
