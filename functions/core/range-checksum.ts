import type mysql from 'mysql2';
import type pg from 'pg';
import { type CanonicalSql, expectedSql } from './codecs/codec.js';
import { quoteMysql, quotePg } from './identifiers.js';
import type { Policies } from './policies.js';
import { quoted, requireRangeKey, rowsOfRange, targetTable } from './range-rows.js';
import { type KeyRange, keyOrderBy, mysqlTupleKey, type RangeKey, rangeCondition, tupleBoundary } from './ranges.js';
import type { ColumnPlan, TableDescription } from './schema.js';

/**
 * How a range is verified: `checksum` has each database sum its own rows' hashes and moves rows
 * only where the sums differ; `rows` reads every row of both sides and compares them all.
 */
export const VERIFY_MODES = ['checksum', 'rows'] as const;
export type VerifyMode = (typeof VERIFY_MODES)[number];

export type Bounds = Pick<KeyRange, 'lo' | 'hi'>;

/** One side's fingerprint of a range: its row count and the sum of its rows' hashes, as decimal text. */
export interface RangeSums {
  rows: string;
  sum: string;
}

/** The SQL of a row's hash on each side, and the columns it leaves to the row comparison. */
export interface RowHash {
  source: string;
  target: string;
  /** The columns whose codec has no canonical SQL (floats, JSON): compared row by row. */
  uncovered: ColumnPlan[];
}

// NULL is `N`, which no canonical text is; any other text is hashed after its length when it
// may hold any character, so the `|` between columns is never part of a value.
const mysqlPiece = (sql: string, { anyText }: CanonicalSql) =>
  anyText ? `COALESCE(CONCAT(CHAR_LENGTH(${sql}), ':', ${sql}), 'N')` : `COALESCE(${sql}, 'N')`;
const pgPiece = (sql: string, { anyText }: CanonicalSql) =>
  anyText ? `coalesce(length(${sql}) || ':' || ${sql}, 'N')` : `coalesce(${sql}, 'N')`;

/**
 * Each row's hash: the first 60 bits of the md5 of its canonical text (each covered column's
 * canonical SQL, joined by `|`), as an integer each server computes alike. Summed as an exact
 * decimal, the hashes make an order-free fingerprint in which a duplicated row counts twice.
 */
export function rowHash(description: TableDescription, policies: Policies): RowHash {
  const expect = expectedSql(policies);
  const source: string[] = [];
  const target: string[] = [];
  const uncovered: ColumnPlan[] = [];
  for (const column of description.columns) {
    const sql = column.codec.canonicalSql?.(expect);
    if (!sql) {
      uncovered.push(column);
      continue;
    }
    source.push(mysqlPiece(sql.source(quoteMysql(column.name)), sql));
    target.push(pgPiece(sql.target(quotePg(column.name)), sql));
  }
  // No covered column: the count alone still travels.
  const sourceText = source.length ? `CONCAT_WS('|', ${source.join(', ')})` : "''";
  const targetText = target.length ? `concat_ws('|', ${target.join(', ')})` : "''";
  return {
    source: `CAST(CONV(LEFT(MD5(${sourceText}), 15), 16, 10) AS UNSIGNED)`,
    target: `('x' || left(md5(${targetText}), 15))::bit(60)::bigint`,
    uncovered,
  };
}

/** The parts the ascending keys `cuts` make of a range: `[lo, cuts[0])`, `[cuts[0], cuts[1])`, ... `[cuts[n-1], hi)`. */
export function partsOf(range: Bounds, cuts: string[]): Bounds[] {
  const edges = [range.lo, ...cuts, range.hi];
  return edges.slice(0, -1).map((lo, i) => ({ lo, hi: edges[i + 1]! }));
}

/** Which of the parts a row is in, as SQL over the quoted key; the last part takes what the others do not. */
const partOf = (quotedKey: RangeKey | null, parts: Bounds[]) =>
  parts.length === 1
    ? '0'
    : `CASE ${parts
        .slice(0, -1)
        .map((part, i) => `WHEN ${rangeCondition(quotedKey, part)} THEN ${i}`)
        .join(' ')} ELSE ${parts.length - 1} END`;

/** Each part's sums from a server's rows of (part, count, sum); parts without rows are absent from them. */
function byPart(rows: [unknown, unknown, unknown][], parts: number): RangeSums[] {
  const sums = Array.from({ length: parts }, () => ({ rows: '0', sum: '0' }));
  for (const [part, count, sum] of rows) sums[Number(part)] = { rows: String(count), sum: String(sum) };
  return sums;
}

/** The source's count and sum of each part that `cuts` make of a range, computed by MySQL in one pass. */
export async function sourceSums(
  source: mysql.Connection,
  description: TableDescription,
  hash: RowHash,
  range: Bounds,
  cuts: string[] = [],
): Promise<RangeSums[]> {
  const where = rowsOfRange(description, range);
  const parts = partsOf(range, cuts);
  const [rows] = await source.promise().query({
    sql:
      `SELECT ${partOf(quoted('source', description), parts)}, CAST(COUNT(*) AS CHAR), CAST(SUM(${hash.source}) AS CHAR)` +
      ` FROM ${quoteMysql(description.table)} WHERE ${where.sql} GROUP BY 1`,
    values: where.values,
    rowsAsArray: true,
  });
  return byPart(rows as [unknown, unknown, unknown][], parts.length);
}

/** The target's count and sum of each part that `cuts` make of a range, computed by PostgreSQL in one pass. */
export async function targetSums(
  target: pg.Client,
  description: TableDescription,
  hash: RowHash,
  range: Bounds,
  cuts: string[] = [],
): Promise<RangeSums[]> {
  const key = quoted('target', description);
  const parts = partsOf(range, cuts);
  const { rows } = await target.query<[unknown, unknown, unknown]>({
    text:
      `SELECT ${partOf(key, parts)}, count(*)::text, sum(${hash.target})::text FROM ${targetTable(description)}` +
      ` WHERE ${rangeCondition(key, range)} GROUP BY 1`,
    rowMode: 'array',
  });
  return byPart(rows, parts.length);
}

/** Whether two fingerprints are of the same rows. */
export const sameSums = (a: RangeSums, b: RangeSums) => a.rows === b.rows && a.sum === b.sum;

/**
 * The keys that cut the source's rows of a range into parts of `step` rows: the keys with
 * step, 2·step, ... rows of the range below them, in one read of the key index. A tuple key's
 * cuts are boundaries as Plan's are, each column printed by its codec (see {@link mysqlTupleKey});
 * in byte order, a text key's rows are sorted for it (MySQL's index is in the column's collation).
 */
export async function sourceCuts(
  source: mysql.Connection,
  description: TableDescription,
  range: Bounds,
  step: number,
): Promise<string[]> {
  const tuple = description.keyset && mysqlTupleKey(description.keyset);
  const order = tuple ? keyOrderBy(tuple.key) : quoteMysql(requireRangeKey(description));
  const reads = tuple ? tuple.reads : [`CAST(${order} AS CHAR)`];
  const where = rowsOfRange(description, range);
  const [rows] = await source.promise().query({
    sql:
      `SELECT ${reads.map((_, i) => `k${i}`).join(', ')} FROM (SELECT ${reads.map((read, i) => `${read} AS k${i}`).join(', ')},` +
      ` ROW_NUMBER() OVER (ORDER BY ${order}) AS n FROM ${quoteMysql(description.table)} WHERE ${where.sql}) AS numbered` +
      ` WHERE n > 1 AND MOD(n - 1, ${Math.trunc(step)}) = 0 ORDER BY n`,
    values: where.values,
    rowsAsArray: true,
  });
  return (rows as unknown[][]).map((values) => (tuple ? tupleBoundary(values.map(String)) : String(values[0])));
}

/** The keys that cut the target's rows of a range into parts of `step` rows, as {@link sourceCuts}. */
export async function targetCuts(
  target: pg.Client,
  description: TableDescription,
  range: Bounds,
  step: number,
): Promise<string[]> {
  const key = quotePg(requireRangeKey(description));
  const { rows } = await target.query<[string]>({
    text:
      `SELECT k::text FROM (SELECT ${key} AS k, row_number() OVER (ORDER BY ${key}) AS n` +
      ` FROM ${targetTable(description)} WHERE ${rangeCondition(key, range)}) AS numbered` +
      ` WHERE n > 1 AND (n - 1) % ${Math.trunc(step)} = 0 ORDER BY n`,
    rowMode: 'array',
  });
  return rows.map(([cut]) => cut);
}
