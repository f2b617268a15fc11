import type mysql from 'mysql2';
import { classifyDatabaseError } from './errors.js';
import { keyLiteral, quoteMysql } from './identifiers.js';

/**
 * A half-open slice `[lo, hi)` of the primary-key space. Keys are decimal strings (BIGINT
 * UNSIGNED does not fit a JSON number). `lo: null` reaches down to the smallest key and
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

/**
 * The SQL condition selecting a range's rows, for either database (keys are plain integer literals).
 * A table without a range key (null) has one range, the whole table.
 */
export function rangeCondition(quotedKey: string | null, range: Pick<KeyRange, 'lo' | 'hi'>): string {
  if (quotedKey === null) {
    if (range.lo !== null || range.hi !== null)
      throw new RangeError(`A table without a range key has no range ${formatRange(range)}`);
    return 'TRUE';
  }
  const parts: string[] = [];
  if (range.lo !== null) parts.push(`${quotedKey} >= ${keyLiteral(range.lo)}`);
  if (range.hi !== null) parts.push(`${quotedKey} < ${keyLiteral(range.hi)}`);
  return parts.length ? parts.join(' AND ') : 'TRUE';
}

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
