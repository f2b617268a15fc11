import { pipeline } from 'node:stream/promises';
import { performance } from 'node:perf_hooks';
import { from as copyFrom } from 'pg-copy-streams';
import { z } from 'zod';
import type { ConnectionPair } from './connections.js';
import { CopyTextEncoder } from './copy-encoder.js';
import { classifyDatabaseError } from './errors.js';
import { quoteMysql, quotePg } from './identifiers.js';
import { IDENTIFIER } from './input.js';
import { changedRowsCondition, changedRowsSchema, type ChangedRows } from './incremental.js';
import { renewLease } from './lease.js';
import { inTransaction, recordRangeCopied, recordRangeFailed } from './ledger.js';
import { TARGET_SCHEMA } from './plan.js';
import { rangeCondition, type KeyRange, type RowCondition } from './ranges.js';
import { describeSourceTable, type TableDescription } from './schema.js';

const key = z.string().regex(/^-?[0-9]{1,20}$/, 'must be an integer key as a decimal string').nullable();

/** One Map item: a range of one run. Validated because it also arrives from redrives and by hand. */
export const copyRangeEventSchema = z.object({
  runId: z.string().min(1),
  table: z.string().regex(IDENTIFIER),
  range: z.object({ index: z.number().int().nonnegative(), lo: key, hi: key }),
  /** An incremental run's changed rows; absent or null, the range is replaced whole. */
  changes: changedRowsSchema.nullable().optional(),
});

export type CopyRangeEvent = z.infer<typeof copyRangeEventSchema>;

export interface CopyRangeResult {
  runId: string;
  index: number;
  rows: number;
  seconds: number;
}

/**
 * Writes one range in one PostgreSQL transaction that also records it in the ledger and checks
 * the run still holds its table's lease, so a retry or a re-run gives the same target. A full run
 * replaces the target's rows of `[lo, hi)` with the source's; an incremental run upserts the
 * range's changed rows through a staging table and deletes nothing. Rows stream from MySQL
 * through the COPY encoder into `COPY ... FROM STDIN`; no range is ever held in memory.
 */
export async function copyRange(event: CopyRangeEvent, { source, target }: ConnectionPair): Promise<CopyRangeResult> {
  const { runId, table, range, changes } = copyRangeEventSchema.parse(event);
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started) / 1000;
  try {
    const description = await describeSourceTable(source, table);
    // A heartbeat before the work, and the fence inside the transaction below.
    await renewLease(target, table, runId);
    const rows = await inTransaction(target, async () => {
      const rows = changes
        ? await upsertChangedRows(description, range, changes, { source, target })
        : await replaceRange(description, range, { source, target });
      await renewLease(target, table, runId);
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

async function replaceRange(description: TableDescription, range: KeyRange, pair: ConnectionPair): Promise<number> {
  await pair.target.query(`DELETE FROM ${targetTable(description)} WHERE ${rangeCondition(quotePg(description.primaryKey), range)}`);
  return streamRange(description, range, null, targetTable(description), pair);
}

/** COPYs the range's changed rows into a staging table dropped at commit, then upserts them in one statement. */
async function upsertChangedRows(description: TableDescription, range: KeyRange, changes: ChangedRows, pair: ConnectionPair): Promise<number> {
  const columns = description.columns.map((column) => quotePg(column.name));
  const stage = quotePg(`${description.table}_changes`);
  await pair.target.query(`CREATE TEMPORARY TABLE ${stage} ON COMMIT DROP AS SELECT ${columns.join(', ')} FROM ${targetTable(description)} WITH NO DATA`);
  const rows = await streamRange(description, range, changedRowsCondition(changes), stage, pair);
  const key = quotePg(description.primaryKey);
  const updates = columns.filter((column) => column !== key).map((column) => `${column} = EXCLUDED.${column}`);
  await pair.target.query(
    `INSERT INTO ${targetTable(description)} (${columns.join(', ')}) SELECT ${columns.join(', ')} FROM ${stage}
     ON CONFLICT (${key}) DO ${updates.length ? `UPDATE SET ${updates.join(', ')}` : 'NOTHING'}`,
  );
  return rows;
}

function targetTable(description: TableDescription): string {
  return `${quotePg(TARGET_SCHEMA)}.${quotePg(description.table)}`;
}

async function streamRange(
  description: TableDescription,
  range: KeyRange,
  condition: RowCondition | null,
  into: string,
  { source, target }: ConnectionPair,
): Promise<number> {
  const columns = description.columns;
  const binary = new Set(columns.filter((column) => column.encoding === 'bytea').map((column) => column.name));
  const where = [rangeCondition(quoteMysql(description.primaryKey), range), ...(condition ? [condition.sql] : [])].join(' AND ');
  const select =
    `SELECT ${columns.map((column) => quoteMysql(column.name)).join(', ')} FROM ${quoteMysql(description.table)}` +
    ` WHERE ${where} ORDER BY ${quoteMysql(description.primaryKey)}`;
  const rows = source
    .query({
      sql: select,
      values: condition?.values ?? [],
      rowsAsArray: true,
      // Text as the server printed it (exact for numbers and dates), bytes for binary columns.
      typeCast: (field, next) => (binary.has(field.name) ? field.buffer() : field.type === 'NULL' ? next() : field.string()),
    })
    .stream();
  let sourceFailure: unknown;
  rows.once('error', (error: unknown) => (sourceFailure = error));
  const encoder = new CopyTextEncoder(description.table, columns, description.primaryKeyIndex);
  const copy = target.query(copyFrom(`COPY ${into} (${columns.map((column) => quotePg(column.name)).join(', ')}) FROM STDIN`));
  try {
    await pipeline(rows, encoder, copy);
  } catch (error) {
    throw classifyDatabaseError(error, error === sourceFailure ? 'source' : 'target');
  }
  return encoder.rows;
}
