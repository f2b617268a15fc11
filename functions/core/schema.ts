import type mysql from 'mysql2';
import type pg from 'pg';
import type { Codec } from './codecs/codec.js';
import { codecOf, PLAIN_TARGET, type Refused, type TargetFeatures } from './codecs/type-table.js';
import { classifyDatabaseError, InputValidationError, SchemaError } from './errors.js';
import { quoteMysql } from './identifiers.js';
import { readTargetFeatures } from './target-table.js';

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
  /** Whether the target column takes NULL (the source's nullability, or the target's when it exists). */
  nullable: boolean;
  /** How its values are carried: the codec the type table chose for it, its parameters bound. */
  codec: Codec;
  /** The select item that reads it: its codec's read expression, or the quoted name. */
  read: string;
  source: SourceColumn;
}

export interface TableDescription {
  table: string;
  columns: ColumnPlan[];
  /**
   * The single integer key ranges are cut on: the primary key, or a unique NOT NULL key when
   * there is no primary key. Null when the table has none: it is copied as one range, whole.
   */
  primaryKey: string | null;
  /** Position of the range key in `columns`, to name the failing row's key in errors; -1 without one. */
  primaryKeyIndex: number;
  /** The key the source enforces (its primary key, or else the unique NOT NULL key), which the target table gets too. */
  key: { kind: 'primary' | 'unique'; columns: string[] } | null;
  /**
   * The key's columns when ranges are cut on it as a tuple (a composite key, or one of text,
   * binary, decimal or date columns): boundaries are tuples compared in an order both databases
   * agree on (see KeySql). Null when `primaryKey` cuts them, or nothing can.
   */
  keyset: ColumnPlan[] | null;
  /** Why the table is one range replaced whole (no key to cut ranges on); null when it is split. */
  whole: string | null;
}

/** The longest name PostgreSQL keeps (NAMEDATALEN - 1), in bytes. */
const PG_NAME_BYTES = 63;

// Ranges are split on the key as MySQL holds it: an integer, tinyint(1) included.
const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'bigint']);

/**
 * Whether ranges can be cut on the column as an integer: an integer type, or a DECIMAL without
 * fraction digits short enough for the ledger's keys (both sides compare it exactly with an
 * integer literal, and print it as one).
 */
function isIntegerKey(column: SourceColumn): boolean {
  if (INTEGER_TYPES.has(column.dataType)) return true;
  return column.dataType === 'decimal' && column.numericScale === 0 && (column.numericPrecision ?? 99) <= 19;
}

const refusal = (column: SourceColumn, { refused }: Refused) => `${column.name} (${column.columnType}): ${refused}`;

/** Maps one source column by its row of the type table, for a target with these features. */
export function mapColumn(column: SourceColumn, target: TargetFeatures = PLAIN_TARGET): ColumnPlan {
  const codec = codecOf(column, target);
  if ('refused' in codec) throw new SchemaError(`Column ${refusal(column, codec)}`);
  const quoted = quoteMysql(column.name);
  const { expression } = codec.read;
  return {
    name: column.name,
    nullable: column.nullable,
    codec,
    read: expression ? `${expression(quoted)} AS ${quoted}` : quoted,
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

/** The source database's base tables (views left out), by name. */
export async function listSourceTables(source: mysql.Connection): Promise<string[]> {
  try {
    const [rows] = await source.promise().query(
      `SELECT TABLE_NAME AS name FROM information_schema.TABLES
        WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME`,
    );
    return (rows as { name: string }[]).map((row) => row.name);
  } catch (error) {
    throw classifyDatabaseError(error, 'source');
  }
}

/**
 * Reads the table's columns and primary key from the source's information_schema, and maps them
 * for the target (whose extensions decide some types).
 */
export async function describeSourceTable(
  source: mysql.Connection,
  table: string,
  target: pg.Client,
): Promise<TableDescription> {
  let rows: ColumnRow[];
  let primaryKey: string[];
  let uniqueKeys: string[][];
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
    uniqueKeys = primaryKey.length ? [] : await uniqueNotNullKeys(source, table);
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
  const features = await readTargetFeatures(target);
  // PostgreSQL cuts longer names to 63 bytes without an error: two names could become one.
  const tooLong = [table, ...columns.map((column) => column.name)].filter(
    (name) => Buffer.byteLength(name) > PG_NAME_BYTES,
  );
  if (tooLong.length > 0) {
    throw new SchemaError(
      `Table ${table} has name${tooLong.length > 1 ? 's' : ''} longer than PostgreSQL's ${PG_NAME_BYTES} bytes: ${tooLong.join(', ')}; rename ${tooLong.length > 1 ? 'them' : 'it'} in the source`,
    );
  }
  const refused = columns.flatMap((column) => {
    const codec = codecOf(column, features);
    return 'refused' in codec ? [refusal(column, codec)] : [];
  });
  if (refused.length > 0) {
    throw new SchemaError(
      `Table ${table} has column${refused.length > 1 ? 's' : ''} this tool cannot migrate: ${refused.join('; ')}`,
    );
  }
  const isInteger = (name: string) => isIntegerKey(columns.find((column) => column.name === name)!);
  // A unique NOT NULL key stands in for a missing primary key; one integer column is best, it cuts ranges.
  const unique = uniqueKeys.find((key) => key.length === 1 && isInteger(key[0]!)) ?? uniqueKeys[0];
  const key = primaryKey.length ? { kind: 'primary' as const, columns: primaryKey } : uniqueKey(unique);
  const rangeKey = key?.columns.length === 1 && isInteger(key.columns[0]!) ? key.columns[0]! : null;
  const planned = columns.map((column) => mapColumn(column, features));
  const keyColumns = (key?.columns ?? []).map((name) => planned.find((column) => column.name === name)!);
  const keyset =
    rangeKey === null && keyColumns.length > 0 && keyColumns.every((column) => column.codec.key) ? keyColumns : null;
  return {
    table,
    columns: planned,
    primaryKey: rangeKey,
    primaryKeyIndex: rangeKey === null ? -1 : columns.findIndex((column) => column.name === rangeKey),
    key,
    keyset,
    whole: rangeKey === null && keyset === null ? wholeReason(key) : null,
  };
}

const uniqueKey = (columns: string[] | undefined) => (columns ? { kind: 'unique' as const, columns } : null);

/** Why a table is copied as one range, in the words the summary shows. */
function wholeReason(key: TableDescription['key']): string {
  if (!key)
    return 'no primary key and no unique NOT NULL key: one range, replaced whole, verified as a multiset of rows';
  const what = key.kind === 'primary' ? 'primary key' : 'unique key';
  return `${what} (${key.columns.join(', ')}) has a column of a type ranges cannot be cut on: one range, replaced whole`;
}

/** The table's unique keys whose every column is NOT NULL, each as its columns in key order. */
async function uniqueNotNullKeys(source: mysql.Connection, table: string): Promise<string[][]> {
  const [rows] = await source.promise().query(
    `SELECT s.INDEX_NAME AS indexName, s.COLUMN_NAME AS name, c.IS_NULLABLE AS nullable
       FROM information_schema.STATISTICS s
       JOIN information_schema.COLUMNS c
         ON c.TABLE_SCHEMA = s.TABLE_SCHEMA AND c.TABLE_NAME = s.TABLE_NAME AND c.COLUMN_NAME = s.COLUMN_NAME
      WHERE s.TABLE_SCHEMA = DATABASE() AND s.TABLE_NAME = ? AND s.NON_UNIQUE = 0 AND s.SUB_PART IS NULL
      ORDER BY s.INDEX_NAME, s.SEQ_IN_INDEX`,
    [table],
  );
  const keys = new Map<string, { columns: string[]; nullable: boolean }>();
  for (const row of rows as { indexName: string; name: string; nullable: string }[]) {
    const key = keys.get(row.indexName) ?? { columns: [], nullable: false };
    key.columns.push(row.name);
    key.nullable ||= row.nullable === 'YES';
    keys.set(row.indexName, key);
  }
  return [...keys.values()].filter((key) => !key.nullable).map((key) => key.columns);
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
