import type { SourceValue } from '../copy-encoder.js';
import { SchemaError } from '../errors.js';
import { quoteMysql } from '../identifiers.js';
import type { RowCondition } from '../ranges.js';
import type { ColumnPlan, TableDescription } from '../schema.js';

/** A table a binlog run follows, with its key columns in key order. */
export interface KeyedTable {
  description: TableDescription;
  key: ColumnPlan[];
}

/** One row's key: its values in key-column order, as the source prints them (bytes for binary columns). */
export type KeyValues = SourceValue[];

// Key types whose values the binlog reader gives in the same form the source's own queries print
// them, so a key read from the log selects the same row again and encodes like a read value.
// FLOAT/DOUBLE (rounded), TIMESTAMP (time zones), BIT, TIME, ENUM and SET keys are left out.
const FOLLOWED_KEY_TYPES = new Set([
  'tinyint',
  'smallint',
  'mediumint',
  'int',
  'bigint',
  'decimal',
  'char',
  'varchar',
  'tinytext',
  'text',
  'mediumtext',
  'longtext',
  'binary',
  'varbinary',
  'tinyblob',
  'blob',
  'mediumblob',
  'longblob',
  'date',
  'datetime',
]);

/**
 * The key columns of a table, in key order, checked for a binlog run: the primary key, or else
 * the unique NOT NULL key the source enforces (whatever its columns' number and types). Every
 * change is keyed by this tuple. A table without such a key is refused: its rows have no identity
 * to delete or re-read by, and a binlog image of a row with a duplicate could not say which copy.
 */
export function keyedTable(description: TableDescription): KeyedTable {
  if (!description.key) {
    throw new SchemaError(
      `Table ${description.table} has no primary key and no unique NOT NULL key: binlog runs cannot tell its rows apart; ` +
        'add a primary key in the source (then run a full run), or keep it on full runs',
    );
  }
  const key = description.key.columns.map((name) => description.columns.find((column) => column.name === name)!);
  const refused = key.filter((column) => !FOLLOWED_KEY_TYPES.has(column.source.dataType));
  if (refused.length > 0) {
    throw new SchemaError(
      `Table ${description.table} has key column${refused.length > 1 ? 's' : ''} ${refused.map((c) => `${c.name} (${c.source.columnType})`).join(', ')} ` +
        'that binlog runs cannot follow (its values in the binary log are not the values the source prints): keep it on full runs',
    );
  }
  return { description, key };
}

/**
 * The tables of a binlog run, each checked; every table that cannot be followed is named in one
 * refusal, with the reason and what to do.
 */
export function keyedTables(descriptions: TableDescription[]): KeyedTable[] {
  const keyed: KeyedTable[] = [];
  const refusals: string[] = [];
  for (const description of descriptions) {
    try {
      keyed.push(keyedTable(description));
    } catch (error) {
      if (!(error instanceof SchemaError)) throw error;
      refusals.push(error.message);
    }
  }
  if (refusals.length > 0) {
    const names = descriptions.filter((d) => !keyed.some((k) => k.description === d)).map((d) => d.table);
    throw new SchemaError(
      `Binlog runs cannot follow ${names.length} table${names.length > 1 ? 's' : ''} (${names.join(', ')}): ${refusals.join('; ')}. ` +
        'Run them with --mode full, or leave them out of binlog runs (--exclude-tables, excludeTables)',
    );
  }
  return keyed;
}

/** Where each key column stands in the table's columns. */
export function keyIndexes(table: KeyedTable): number[] {
  return table.key.map((column) => table.description.columns.indexOf(column));
}

/** A binlog row image's value as the source prints it: integers as decimal text, bytes as bytes. */
export function sourceValueOf(value: unknown): SourceValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || Buffer.isBuffer(value)) return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  throw new TypeError(`A key value of an unexpected kind (${typeof value}) in the binary log`);
}

/** The key of a row image (an object of column name to value). */
export function keyOfImage(table: KeyedTable, image: Record<string, unknown>): KeyValues {
  return table.key.map((column) => {
    if (!(column.name in image)) {
      throw new SchemaError(
        `The binary log's row of ${table.description.table} has no column ${column.name}: the table changed since; run a full run`,
      );
    }
    return sourceValueOf(image[column.name]);
  });
}

/** One string per distinct key, to keep each changed key once. */
export function keyId(values: KeyValues): string {
  return values.map(valueId).join('\u0000');
}

function valueId(value: SourceValue): string {
  if (value === null) return 'N';
  return Buffer.isBuffer(value) ? `b${value.toString('hex')}` : `s${value}`;
}

const NUMBER = /^-?\d+(\.\d+)?$/;

/**
 * The MySQL condition selecting the rows with these keys. Numbers go in as literals: MySQL
 * compares an integer column with a string parameter as doubles, which cannot tell 2^53 + 1
 * from 2^53. Other values are parameters. One key column gives `k IN (...)`; several give one
 * `(a = ? AND b = ?)` per key, OR-ed, which the range optimizer turns into index lookups.
 */
export function keysCondition(key: ColumnPlan[], keys: KeyValues[]): RowCondition {
  const values: unknown[] = [];
  const literal = (column: ColumnPlan, value: SourceValue) => {
    if ((column.codec.encoding === 'integer' || column.codec.encoding === 'numeric') && typeof value === 'string') {
      if (!NUMBER.test(value)) throw new TypeError(`Not a number key of ${column.name}: ${value.slice(0, 40)}`);
      return value;
    }
    values.push(value);
    return '?';
  };
  if (key.length === 1) {
    const [column] = key as [ColumnPlan];
    return { sql: `${quoteMysql(column.name)} IN (${keys.map((k) => literal(column, k[0]!)).join(', ')})`, values };
  }
  const sql = keys
    .map((k) => `(${key.map((column, i) => `${quoteMysql(column.name)} = ${literal(column, k[i]!)}`).join(' AND ')})`)
    .join(' OR ');
  return { sql: `(${sql})`, values };
}
