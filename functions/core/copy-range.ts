import { pipeline } from 'node:stream/promises';
import { performance } from 'node:perf_hooks';
import { from as copyFrom } from 'pg-copy-streams';
import { z } from 'zod';
import type { ConnectionPair } from './connections.js';
import { CopyTextEncoder } from './copy-encoder.js';
import { classifyDatabaseError } from './errors.js';
import { quoteMysql, quotePg } from './identifiers.js';
import { IDENTIFIER } from './input.js';
import { inTransaction, recordRangeCopied, recordRangeFailed } from './ledger.js';
import { TARGET_SCHEMA } from './plan.js';
import { rangeCondition } from './ranges.js';
import { describeSourceTable, type TableDescription } from './schema.js';

const key = z.string().regex(/^-?[0-9]{1,20}$/, 'must be an integer key as a decimal string').nullable();

/** One Map item: a range of one run. Validated because it also arrives from redrives and by hand. */
export const copyRangeEventSchema = z.object({
  runId: z.string().min(1),
  table: z.string().regex(IDENTIFIER),
  range: z.object({ index: z.number().int().nonnegative(), lo: key, hi: key }),
});

export type CopyRangeEvent = z.infer<typeof copyRangeEventSchema>;

export interface CopyRangeResult {
  runId: string;
  index: number;
  rows: number;
  seconds: number;
}

/**
 * Replaces the target's rows of `[lo, hi)` with the source's, in one PostgreSQL transaction that
 * also records the range in the ledger: a retry or a re-run gives the same target. Rows stream
 * from MySQL through the COPY encoder into `COPY ... FROM STDIN`; no range is ever held in memory.
 */
export async function copyRange(event: CopyRangeEvent, { source, target }: ConnectionPair): Promise<CopyRangeResult> {
  const { runId, range } = copyRangeEventSchema.parse(event);
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started) / 1000;
  try {
    const description = await describeSourceTable(source, event.table);
    const rows = await inTransaction(target, async () => {
      await target.query(`DELETE FROM ${targetTable(description)} WHERE ${rangeCondition(quotePg(description.primaryKey), range)}`);
      const rows = await streamRange(description, range, { source, target });
      await recordRangeCopied(target, runId, range, rows, elapsed());
      return rows;
    });
    return { runId, index: range.index, rows, seconds: elapsed() };
  } catch (error) {
    const named = classifyDatabaseError(error, 'target');
    // Best effort: if the target is gone the range stays `pending`, which Summarize counts as failed.
    await recordRangeFailed(target, runId, range, `${named.name}: ${named.message}`, elapsed()).catch(() => {});
    throw named;
  }
}

function targetTable(description: TableDescription): string {
  return `${quotePg(TARGET_SCHEMA)}.${quotePg(description.table)}`;
}

async function streamRange(description: TableDescription, range: CopyRangeEvent['range'], { source, target }: ConnectionPair): Promise<number> {
  const columns = description.columns;
  const binary = new Set(columns.filter((column) => column.encoding === 'bytea').map((column) => column.name));
  const select =
    `SELECT ${columns.map((column) => quoteMysql(column.name)).join(', ')} FROM ${quoteMysql(description.table)}` +
    ` WHERE ${rangeCondition(quoteMysql(description.primaryKey), range)} ORDER BY ${quoteMysql(description.primaryKey)}`;
  const rows = source
    .query({
      sql: select,
      rowsAsArray: true,
      // Text as the server printed it (exact for numbers and dates), bytes for binary columns.
      typeCast: (field, next) => (binary.has(field.name) ? field.buffer() : field.type === 'NULL' ? next() : field.string()),
    })
    .stream();
  let sourceFailure: unknown;
  rows.once('error', (error: unknown) => (sourceFailure = error));
  const encoder = new CopyTextEncoder(description.table, columns, description.primaryKeyIndex);
  const copy = target.query(
    copyFrom(`COPY ${targetTable(description)} (${columns.map((column) => quotePg(column.name)).join(', ')}) FROM STDIN`),
  );
  try {
    await pipeline(rows, encoder, copy);
  } catch (error) {
    throw classifyDatabaseError(error, error === sourceFailure ? 'source' : 'target');
  }
  return encoder.rows;
}
