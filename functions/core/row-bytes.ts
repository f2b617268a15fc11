import type mysql from 'mysql2';
import { classifyDatabaseError } from './errors.js';
import { quoteMysql } from './identifiers.js';
import type { TableDescription } from './schema.js';

/** Rows whose lengths are summed to measure a table, at most: a key-ordered read of a few, whatever the table's size. */
const SAMPLE_ROWS = 1_000;

/** Rows read first; when they are wide, the sample stops near {@link SAMPLE_BYTES} rather than at SAMPLE_ROWS. */
const FIRST_ROWS = 16;

/** About the most bytes the sample reads: LENGTH() of a BLOB stored off-page reads the whole BLOB. */
const SAMPLE_BYTES = 64 * 1024 * 1024;

/**
 * A table's average row length in bytes, the larger of two measures: the summed `LENGTH()` of
 * every column of its first rows in key order (exact for what it reads, BLOBs stored off-page
 * included; {@link SAMPLE_ROWS} rows, or as many as hold about {@link SAMPLE_BYTES}, so Plan stays
 * quick on wide rows), and the server's own statistics (`DATA_LENGTH / TABLE_ROWS`), which see the
 * whole table roughly, and lag behind a table just filled. Taking the larger errs toward smaller
 * ranges. At least 1, so an empty table divides.
 */
export async function averageRowBytes(source: mysql.Connection, description: TableDescription): Promise<number> {
  try {
    const first = await sampledRowBytes(source, description, FIRST_ROWS);
    const more = Math.min(SAMPLE_ROWS, Math.floor(SAMPLE_BYTES / Math.max(1, first.average)));
    const sampled =
      first.rows === FIRST_ROWS && more > FIRST_ROWS ? await sampledRowBytes(source, description, more) : first;
    const [statistics] = await source.promise().query({
      sql: `SELECT COALESCE(DATA_LENGTH / NULLIF(TABLE_ROWS, 0), 0) FROM information_schema.TABLES
            WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`,
      values: [description.table],
      rowsAsArray: true,
    });
    const estimated = Number((statistics as [number | string | null][])[0]?.[0] ?? 0);
    return Math.max(1, sampled.average, estimated);
  } catch (error) {
    throw classifyDatabaseError(error, 'source');
  }
}

/** The rows read (fewer than `limit` when the table has fewer) and their average summed `LENGTH()`. */
async function sampledRowBytes(
  source: mysql.Connection,
  description: TableDescription,
  limit: number,
): Promise<{ rows: number; average: number }> {
  const lengths = description.columns.map((column) => `COALESCE(LENGTH(${quoteMysql(column.name)}), 0)`).join(' + ');
  const order = description.primaryKey === null ? '' : ` ORDER BY ${quoteMysql(description.primaryKey)}`;
  const [result] = await source.promise().query({
    sql: `SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM (SELECT ${lengths} AS bytes FROM ${quoteMysql(description.table)}${order} LIMIT ${Math.trunc(limit)}) AS sample`,
    rowsAsArray: true,
  });
  const [rows, bytes] = (result as [number | string, number | string][])[0]!.map(Number) as [number, number];
  return { rows, average: rows > 0 ? bytes / rows : 0 };
}

/**
 * Rows per range for a table: `chunkRows`, or fewer when that many rows of the table's average
 * length would pass `chunkBytes`; at least one row, however wide a row is.
 */
export function rowsPerRange(chunkRows: number, chunkBytes: number, averageBytes: number): number {
  return Math.max(1, Math.min(chunkRows, Math.floor(chunkBytes / averageBytes)));
}
