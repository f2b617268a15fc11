import type mysql from 'mysql2';
import type pg from 'pg';
import { type CanonicalSql, expectedSql } from './codecs/codec.js';
import { quoteMysql, quotePg } from './identifiers.js';
import type { Policies } from './policies.js';
import { rowsOfRange, targetTable } from './range-rows.js';
import { type KeyRange, rangeCondition } from './ranges.js';
import type { ColumnPlan, TableDescription } from './schema.js';

/**
 * How a range is verified: `checksum` has each database sum its own rows' hashes and moves rows
 * only where the sums differ; `rows` reads every row of both sides and compares them all.
 */
export const VERIFY_MODES = ['checksum', 'rows'] as const;
export type VerifyMode = (typeof VERIFY_MODES)[number];

type Bounds = Pick<KeyRange, 'lo' | 'hi'>;

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

/** The source's count and sum of a range, computed by MySQL. */
export async function sourceSums(
  source: mysql.Connection,
  description: TableDescription,
  hash: RowHash,
  range: Bounds,
): Promise<RangeSums> {
  const where = rowsOfRange(description, range);
  const [rows] = await source.promise().query({
    sql:
      `SELECT CAST(COUNT(*) AS CHAR), CAST(COALESCE(SUM(${hash.source}), 0) AS CHAR)` +
      ` FROM ${quoteMysql(description.table)} WHERE ${where.sql}`,
    values: where.values,
    rowsAsArray: true,
  });
  const [count, sum] = (rows as [string, string][])[0]!;
  return { rows: count, sum };
}

/** The target's count and sum of a range, computed by PostgreSQL. */
export async function targetSums(
  target: pg.Client,
  description: TableDescription,
  hash: RowHash,
  range: Bounds,
): Promise<RangeSums> {
  const { rows } = await target.query<[string, string]>({
    text:
      `SELECT count(*)::text, coalesce(sum(${hash.target}), 0)::text FROM ${targetTable(description)}` +
      ` WHERE ${rangeCondition(quotePg(description.primaryKey), range)}`,
    rowMode: 'array',
  });
  const [count, sum] = rows[0]!;
  return { rows: count, sum };
}

/** Whether two fingerprints are of the same rows. */
export const sameSums = (a: RangeSums, b: RangeSums) => a.rows === b.rows && a.sum === b.sum;

/** The key with `offset` keys below it in the target's part of the range, or null past the end. */
export async function targetKeyAtOffset(
  target: pg.Client,
  description: TableDescription,
  range: Bounds,
  offset: number,
): Promise<string | null> {
  const key = quotePg(description.primaryKey);
  const { rows } = await target.query<[string]>({
    text:
      `SELECT ${key}::text FROM ${targetTable(description)} WHERE ${rangeCondition(key, range)}` +
      ` ORDER BY ${key} OFFSET ${Math.trunc(offset)} LIMIT 1`,
    rowMode: 'array',
  });
  return rows[0]?.[0] ?? null;
}
