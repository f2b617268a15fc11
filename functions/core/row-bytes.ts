import type mysql from 'mysql2';
import { classifyDatabaseError } from './errors.js';
import { quoteMysql } from './identifiers.js';
import type { TableDescription } from './schema.js';

/** Rows whose lengths are summed to measure a table: a key-ordered read of a few, whatever the table's size. */
export const SAMPLE_ROWS = 1_000;

/**
 * A table's average row length in bytes, the larger of two measures: the summed `LENGTH()` of
 * every column of its first {@link SAMPLE_ROWS} rows in key order (exact for what it reads, BLOBs
 * stored off-page included, which InnoDB's `AVG_ROW_LENGTH` leaves out), and the server's own
 * statistics (`DATA_LENGTH / TABLE_ROWS`), which see the whole table, roughly. Taking the larger
 * errs toward smaller ranges. At least 1, so an empty table divides.
 */
export async function averageRowBytes(source: mysql.Connection, description: TableDescription): Promise<number> {
  const lengths = description.columns.map((column) => `COALESCE(LENGTH(${quoteMysql(column.name)}), 0)`).join(' + ');
  const order = description.primaryKey === null ? '' : ` ORDER BY ${quoteMysql(description.primaryKey)}`;
  try {
    const [sampled] = await source.promise().query({
      sql: `SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM (SELECT ${lengths} AS bytes FROM ${quoteMysql(description.table)}${order} LIMIT ${SAMPLE_ROWS}) AS sample`,
      rowsAsArray: true,
    });
    const [statistics] = await source.promise().query({
      sql: `SELECT COALESCE(DATA_LENGTH / NULLIF(TABLE_ROWS, 0), 0) FROM information_schema.TABLES
            WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`,
      values: [description.table],
      rowsAsArray: true,
    });
    const [rows, bytes] = (sampled as [number | string, number | string][])[0]!.map(Number) as [number, number];
    const estimated = Number((statistics as [number | string | null][])[0]?.[0] ?? 0);
    return Math.max(1, rows > 0 ? bytes / rows : 0, estimated);
  } catch (error) {
    throw classifyDatabaseError(error, 'source');
  }
}

/**
 * Rows per range for a table: `chunkRows`, or fewer when that many rows of the table's average
 * length would pass `chunkBytes`; at least one row, however wide a row is.
 */
export function rowsPerRange(chunkRows: number, chunkBytes: number, averageBytes: number): number {
  return Math.max(1, Math.min(chunkRows, Math.floor(chunkBytes / averageBytes)));
}
