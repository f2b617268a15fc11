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
  primaryKey: string;
  /** Position of the primary key in `columns`, to name the failing row's key in errors. */
  primaryKeyIndex: number;
}

// Ranges are split on the key as MySQL holds it: an integer, tinyint(1) included.
const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'bigint']);

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
  const features = await readTargetFeatures(target);
  const refused = columns.flatMap((column) => {
    const codec = codecOf(column, features);
    return 'refused' in codec ? [refusal(column, codec)] : [];
  });
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
    columns: columns.map((column) => mapColumn(column, features)),
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
