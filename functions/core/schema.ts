import type mysql from 'mysql2';
import type pg from 'pg';
import { InputValidationError, SchemaError, classifyDatabaseError } from './errors.js';
import { quotePg } from './identifiers.js';

/** How a column's MySQL text value is written into a COPY text stream. */
export type Encoding = 'number' | 'text' | 'boolean' | 'bytea' | 'date' | 'datetime' | 'timestamptz';

/** A column as `information_schema.COLUMNS` describes it. */
export interface SourceColumn {
  name: string;
  dataType: string;
  columnType: string;
  nullable: boolean;
  numericPrecision: number | null;
  numericScale: number | null;
  datetimePrecision: number | null;
  characterMaximumLength: number | null;
}

export interface ColumnPlan {
  name: string;
  pgType: string;
  nullable: boolean;
  encoding: Encoding;
}

export interface TableDescription {
  table: string;
  columns: ColumnPlan[];
  primaryKey: string;
  /** Position of the primary key in `columns`, to name the failing row's key in errors. */
  primaryKeyIndex: number;
}

interface TypeMapping {
  pgType: string;
  encoding: Encoding;
}

const unsigned = (c: SourceColumn) => c.columnType.includes('unsigned');
const fractional = (c: SourceColumn) => (c.datetimePrecision ? `(${c.datetimePrecision})` : '(0)');
const number = (pgType: string): TypeMapping => ({ pgType, encoding: 'number' });
const text = (pgType: string): TypeMapping => ({ pgType, encoding: 'text' });
const bytea: TypeMapping = { pgType: 'bytea', encoding: 'bytea' };

/**
 * The MySQL type → PostgreSQL type table. Each unsigned type moves up one width so its whole
 * range fits; BIGINT UNSIGNED needs numeric(20,0). tinyint(1) is MySQL's boolean.
 */
const TYPE_MAP: Record<string, (column: SourceColumn) => TypeMapping> = {
  tinyint: (c) => (c.columnType === 'tinyint(1)' ? { pgType: 'boolean', encoding: 'boolean' } : number('smallint')),
  smallint: (c) => number(unsigned(c) ? 'integer' : 'smallint'),
  mediumint: () => number('integer'),
  int: (c) => number(unsigned(c) ? 'bigint' : 'integer'),
  bigint: (c) => number(unsigned(c) ? 'numeric(20,0)' : 'bigint'),
  decimal: (c) => number(`numeric(${c.numericPrecision ?? 10},${c.numericScale ?? 0})`),
  float: () => number('real'),
  double: () => number('double precision'),
  year: () => number('smallint'),
  // MySQL returns CHAR values without their trailing pad, so varchar(n) holds exactly what is read.
  char: (c) => text(`varchar(${c.characterMaximumLength})`),
  varchar: (c) => text(`varchar(${c.characterMaximumLength})`),
  tinytext: () => text('text'),
  text: () => text('text'),
  mediumtext: () => text('text'),
  longtext: () => text('text'),
  enum: () => text('text'),
  set: () => text('text'),
  json: () => text('jsonb'),
  date: () => ({ pgType: 'date', encoding: 'date' }),
  datetime: (c) => ({ pgType: `timestamp${fractional(c)}`, encoding: 'datetime' }),
  timestamp: (c) => ({ pgType: `timestamptz${fractional(c)}`, encoding: 'timestamptz' }),
  binary: () => bytea,
  varbinary: () => bytea,
  tinyblob: () => bytea,
  blob: () => bytea,
  mediumblob: () => bytea,
  longblob: () => bytea,
};

const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'bigint']);

/** Maps one source column, or refuses it with its name and type. */
export function mapColumn(column: SourceColumn): ColumnPlan {
  const mapping = TYPE_MAP[column.dataType];
  if (!mapping) {
    throw new SchemaError(`Column "${column.name}" has type ${column.columnType}, which this tool does not migrate yet`);
  }
  const { pgType, encoding } = mapping(column);
  return { name: column.name, pgType, nullable: column.nullable, encoding };
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
  columnKey: string;
}

/** Reads the table's columns and primary key from the source's information_schema. */
export async function describeSourceTable(source: mysql.Connection, table: string): Promise<TableDescription> {
  let rows: ColumnRow[];
  let primaryKey: string[];
  try {
    const [columnRows] = await source.promise().query(
      `SELECT COLUMN_NAME AS name, DATA_TYPE AS dataType, COLUMN_TYPE AS columnType, IS_NULLABLE AS nullable,
              NUMERIC_PRECISION AS numericPrecision, NUMERIC_SCALE AS numericScale,
              DATETIME_PRECISION AS datetimePrecision, CHARACTER_MAXIMUM_LENGTH AS characterMaximumLength,
              COLUMN_KEY AS columnKey
         FROM information_schema.COLUMNS
        WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?
        ORDER BY ORDINAL_POSITION`,
      [table],
    );
    rows = columnRows as ColumnRow[];
    const [keyRows] = await source.promise().query(
      `SELECT COLUMN_NAME AS name FROM information_schema.KEY_COLUMN_USAGE
        WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY'
        ORDER BY ORDINAL_POSITION`,
      [table],
    );
    primaryKey = (keyRows as { name: string }[]).map((row) => row.name);
  } catch (error) {
    throw classifyDatabaseError(error, 'source');
  }
  if (rows.length === 0) {
    throw new InputValidationError(`"table": ${table} does not exist in the source database: give the name of an existing table`);
  }
  const columns = rows.map((row) => toSourceColumn(row));
  if (primaryKey.length !== 1) {
    throw new SchemaError(
      `Table ${table} has ${primaryKey.length === 0 ? 'no primary key' : `a composite primary key (${primaryKey.join(', ')})`}: ` +
        'ranges are split on a single integer primary key',
    );
  }
  const [keyName] = primaryKey as [string];
  const keyColumn = columns.find((column) => column.name === keyName)!;
  if (!INTEGER_TYPES.has(keyColumn.dataType)) {
    throw new SchemaError(`Table ${table} has primary key ${keyName} of type ${keyColumn.columnType}: ranges are split on an integer primary key`);
  }
  return {
    table,
    columns: columns.map(mapColumn),
    primaryKey: keyName,
    primaryKeyIndex: columns.indexOf(keyColumn),
  };
}

function toSourceColumn(row: ColumnRow): SourceColumn {
  const count = (value: number | string | null) => (value === null ? null : Number(value));
  return {
    name: row.name,
    dataType: row.dataType.toLowerCase(),
    columnType: row.columnType.toLowerCase(),
    nullable: row.nullable === 'YES',
    numericPrecision: count(row.numericPrecision),
    numericScale: count(row.numericScale),
    datetimePrecision: count(row.datetimePrecision),
    characterMaximumLength: count(row.characterMaximumLength),
  };
}

/** The CREATE TABLE for the target, from the mapped columns. */
export function createTableSql(description: TableDescription, targetSchema: string): string {
  const columns = description.columns.map(
    (column) => `  ${quotePg(column.name)} ${column.pgType}${column.nullable ? '' : ' NOT NULL'}`,
  );
  columns.push(`  PRIMARY KEY (${quotePg(description.primaryKey)})`);
  return `CREATE TABLE ${quotePg(targetSchema)}.${quotePg(description.table)} (\n${columns.join(',\n')}\n)`;
}

/**
 * Creates the target table when it is missing; when it exists, refuses it unless it has every
 * source column, so no value has nowhere to go.
 */
export async function prepareTargetTable(target: pg.Client, description: TableDescription, targetSchema: string): Promise<'created' | 'exists'> {
  try {
    const { rows } = await target.query<{ column_name: string }>(
      'SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2',
      [targetSchema, description.table],
    );
    if (rows.length === 0) {
      await target.query(createTableSql(description, targetSchema));
      return 'created';
    }
    const present = new Set(rows.map((row) => row.column_name));
    const missing = description.columns.filter((column) => !present.has(column.name)).map((column) => column.name);
    if (missing.length > 0) {
      throw new SchemaError(
        `Target table ${targetSchema}.${description.table} exists but lacks column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}: ` +
          'add them or drop the table so it is created from the source',
      );
    }
    return 'exists';
  } catch (error) {
    throw classifyDatabaseError(error, 'target');
  }
}
