import type mysql from 'mysql2';
import { classifyDatabaseError } from './errors.js';
import { keyLiteral, quoteMysql } from './identifiers.js';
import type { ColumnPlan } from './schema.js';

/**
 * A half-open slice `[lo, hi)` of the key space. An integer key's boundaries are decimal strings
 * (BIGINT UNSIGNED does not fit a JSON number); a tuple key's are JSON arrays of each column's
 * boundary text (see {@link tupleBoundary}). `lo: null` reaches down to the smallest key and
 * `hi: null` up to the largest, so a run's ranges cover every key, including keys that appear
 * or vanish after planning.
 */
export interface KeyRange {
  index: number;
  lo: string | null;
  hi: string | null;
}

/**
 * Returns the key that has `offset` keys below it among the keys `>= from` (from the smallest key
 * when `from` is null), or null when fewer keys remain.
 */
export type KeyAtOffset = (from: string | null, offset: number) => Promise<string | null>;

/**
 * Splits the key space into ranges of `chunkRows` keys each by walking the key index, so sparse
 * or gapped ids still give ranges of equal row counts (only the last range may hold fewer).
 */
export async function splitKeySpace(keyAtOffset: KeyAtOffset, chunkRows: number): Promise<KeyRange[]> {
  // The walk advances by chunkRows keys a step; anything else would never end.
  if (!Number.isInteger(chunkRows) || chunkRows < 1)
    throw new RangeError(`chunkRows must be a whole number above 0, not ${chunkRows}`);
  const boundaries: string[] = [];
  let from: string | null = null;
  for (;;) {
    const next = await keyAtOffset(from, chunkRows);
    if (next === null) break;
    boundaries.push(next);
    from = next;
  }
  return rangesBetween(boundaries);
}

/** The ranges that the ascending `boundaries` cut the whole key space into. */
export function rangesBetween(boundaries: string[]): KeyRange[] {
  const edges = [null, ...boundaries, null];
  return edges.slice(0, -1).map((lo, index) => ({ index, lo, hi: edges[index + 1] ?? null }));
}

/** A range as people read it: `[lo, hi)`, with open ends shown as -inf and +inf. */
export function formatRange(range: Pick<KeyRange, 'lo' | 'hi'>): string {
  return `[${range.lo ?? '-inf'}, ${range.hi ?? '+inf'})`;
}

/** A boundary's shape: an integer key's decimal string, or a tuple key's JSON array (its values checked where it becomes SQL). */
export const BOUNDARY = /^(?:-?[0-9]{1,20}|\[[\s\S]*\])$/;

/** Why a boundary was refused. */
export const BOUNDARY_RULE = 'must be an integer key as a decimal string, or a key tuple as a JSON array of strings';

/** One side's view of a tuple key: each column in the order both sides agree on, and its literals. */
export interface TupleKey {
  columns: { sql: string; literal: (value: string) => string }[];
}

/** A range key on one side: an integer key's quoted name, or a tuple key. */
export type RangeKey = string | TupleKey;

/** A tuple boundary as the ledger and the workflow carry it: JSON text of each column's boundary text. */
export const tupleBoundary = (values: string[]) => JSON.stringify(values);

/** The values of a tuple boundary, as many as the key has columns. */
export function tupleValues(boundary: string, columns: number): string[] {
  let values: unknown;
  try {
    values = JSON.parse(boundary);
  } catch {
    values = null;
  }
  if (!Array.isArray(values) || values.length !== columns || values.some((v) => typeof v !== 'string'))
    throw new TypeError(`Not a boundary of a ${columns}-column key: ${boundary.slice(0, 60)}`);
  return values as string[];
}

/**
 * `key >= boundary` (or `<` when `below`) over a tuple, expanded column by column so that each
 * database's index on the leading columns serves it (MariaDB does not use an index for a
 * row-value comparison): `a >= x AND (a > x OR (a = x AND b >= y))`.
 */
function tupleCompare(key: TupleKey, boundary: string, below: boolean): string {
  const values = tupleValues(boundary, key.columns.length);
  const sides = key.columns.map((column, i) => ({ sql: column.sql, literal: column.literal(values[i]!) }));
  const strict = below ? '<' : '>';
  const last = below ? '<' : '>=';
  const nested = (i: number): string => {
    const { sql, literal } = sides[i]!;
    if (i === sides.length - 1) return `${sql} ${last} ${literal}`;
    return `(${sql} ${strict} ${literal} OR (${sql} = ${literal} AND ${nested(i + 1)}))`;
  };
  const { sql, literal } = sides[0]!;
  return sides.length === 1 ? nested(0) : `${sql} ${strict}= ${literal} AND ${nested(0)}`;
}

/**
 * The SQL condition selecting a range's rows, for either database: the one place a range
 * becomes SQL. An integer key compares with plain integer literals; a tuple key column by column
 * in the order its codecs give (see KeySql). A table without a range key (null) has one range,
 * the whole table.
 */
export function rangeCondition(key: RangeKey | null, range: Pick<KeyRange, 'lo' | 'hi'>): string {
  if (key === null) {
    if (range.lo !== null || range.hi !== null)
      throw new RangeError(`A table without a range key has no range ${formatRange(range)}`);
    return 'TRUE';
  }
  const parts: string[] = [];
  if (typeof key === 'string') {
    if (range.lo !== null) parts.push(`${key} >= ${keyLiteral(range.lo)}`);
    if (range.hi !== null) parts.push(`${key} < ${keyLiteral(range.hi)}`);
  } else {
    if (range.lo !== null) parts.push(`(${tupleCompare(key, range.lo, false)})`);
    if (range.hi !== null) parts.push(`(${tupleCompare(key, range.hi, true)})`);
  }
  return parts.length ? parts.join(' AND ') : 'TRUE';
}

/** The ORDER BY of a range key's columns. */
export const keyOrderBy = (key: RangeKey) =>
  typeof key === 'string' ? key : key.columns.map((column) => column.sql).join(', ');

/** A condition on the rows (with its `?` parameters) that restricts which keys count. */
export interface RowCondition {
  sql: string;
  values: unknown[];
}

/**
 * Walks the MySQL primary-key index: each step is one index-only `LIMIT 1 OFFSET n` read. With a
 * condition, only the rows that meet it count (an incremental run's changed rows), and a step also
 * reads those rows unless an index covers the condition.
 */
export function mysqlKeyAtOffset(
  source: mysql.Connection,
  table: string,
  primaryKey: string,
  condition: RowCondition | null = null,
): KeyAtOffset {
  const key = quoteMysql(primaryKey);
  return async (from, offset) => {
    const conditions = [
      ...(from === null ? [] : [`${key} >= ${keyLiteral(from)}`]),
      ...(condition ? [condition.sql] : []),
    ];
    const where = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
    try {
      const [rows] = await source.promise().query({
        sql: `SELECT ${key} FROM ${quoteMysql(table)} ${where} ORDER BY ${key} LIMIT 1 OFFSET ${Math.trunc(offset)}`,
        values: condition?.values ?? [],
        rowsAsArray: true,
      });
      const row = (rows as unknown[][])[0];
      return row ? String(row[0]) : null;
    } catch (error) {
      throw classifyDatabaseError(error, 'source');
    }
  };
}

/**
 * A tuple key on MySQL: the key in the order both sides agree on, and the select items that
 * print a row's key as a boundary's values (see {@link tupleBoundary}), each column's as its
 * codec reads it.
 */
export function mysqlTupleKey(keyset: ColumnPlan[]): { key: TupleKey; reads: string[] } {
  return {
    key: {
      columns: keyset.map((column) => ({
        sql: column.codec.key!.source(quoteMysql(column.name)),
        literal: column.codec.key!.sourceLiteral,
      })),
    },
    reads: keyset.map((column) => column.codec.key!.read(quoteMysql(column.name))),
  };
}

/**
 * Walks a tuple key on MySQL as {@link mysqlKeyAtOffset} does an integer key (with a condition,
 * only the rows that meet it count); the boundary is each column's text as its codec reads it. In
 * byte order, a text key's walk sorts the rows (MySQL's index is in the column's collation): Plan
 * reads the table once per range.
 */
export function mysqlTupleAtOffset(
  source: mysql.Connection,
  table: string,
  keyset: ColumnPlan[],
  condition: RowCondition | null = null,
): KeyAtOffset {
  const { key, reads } = mysqlTupleKey(keyset);
  return async (from, offset) => {
    const conditions = [
      ...(from === null ? [] : [rangeCondition(key, { lo: from, hi: null })]),
      ...(condition ? [condition.sql] : []),
    ];
    const where = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
    try {
      const [rows] = await source.promise().query({
        sql: `SELECT ${reads.join(', ')} FROM ${quoteMysql(table)} ${where} ORDER BY ${keyOrderBy(key)} LIMIT 1 OFFSET ${Math.trunc(offset)}`,
        values: condition?.values ?? [],
        rowsAsArray: true,
      });
      const row = (rows as unknown[][])[0];
      return row ? tupleBoundary(row.map(String)) : null;
    } catch (error) {
      throw classifyDatabaseError(error, 'source');
    }
  };
}

type Bounds = Pick<KeyRange, 'lo' | 'hi'>;

// An open end as a number that sorts past every key.
const lower = (range: Bounds) => (range.lo === null ? -Infinity : BigInt(range.lo));
const upper = (range: Bounds) => (range.hi === null ? Infinity : BigInt(range.hi));

/**
 * The same keys as `ranges`, as ascending disjoint ranges: overlapping ones (the same range
 * failed twice, or two runs cut the table differently) become one, so no key is copied twice
 * at the same time. Ranges that only touch stay apart.
 */
export function mergeRanges(ranges: Bounds[]): Bounds[] {
  // A tuple key's order is its columns' (byte order for text), which only the databases know:
  // its ranges come from one Plan's cut, so the same range twice is the overlap to drop.
  if (ranges.some((range) => [range.lo, range.hi].some((end) => end?.startsWith('[')))) {
    const seen = new Set<string>();
    return ranges.filter((range) => {
      const id = JSON.stringify([range.lo, range.hi]);
      return !seen.has(id) && Boolean(seen.add(id));
    });
  }
  const sorted = [...ranges].sort((a, b) => (lower(a) < lower(b) ? -1 : Number(lower(a) > lower(b))));
  const merged: Bounds[] = [];
  for (const range of sorted) {
    const last = merged.at(-1);
    if (last && lower(range) < upper(last)) {
      if (upper(range) > upper(last)) last.hi = range.hi;
    } else {
      merged.push({ lo: range.lo, hi: range.hi });
    }
  }
  return merged;
}
