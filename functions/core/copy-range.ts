import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import type mysql from 'mysql2';
import { from as copyFrom } from 'pg-copy-streams';
// zod's mini build: a CopyRange bundle of a few kilobytes of it instead of hundreds.
import * as z from 'zod/mini';
import { abandonPair, type ConnectionPair } from './connections.js';
import { CopyTextEncoder, type SourceValue } from './copy-encoder.js';
import {
  classifyDatabaseError,
  classifyEitherSide,
  InputValidationError,
  TransientDatabaseError,
  ValueConversionError,
} from './errors.js';
import { NAME, NAME_RULE, quoteMysql, quotePg, TARGET_SCHEMA } from './identifiers.js';
import { type ChangedRows, changedRowsCondition, changedRowsSchema, upsertKey } from './incremental.js';
import { renewLease } from './lease.js';
import {
  type CopiedChunk,
  inTransaction,
  recordFailure,
  recordRangeCopied,
  recordRangeFailed,
  type TargetOpener,
} from './ledger.js';
import { type Policies, type PolicyCounts, policiesSchema } from './policies.js';
import { quoted, rowsOfRange, sourceRangeBytes, targetTable } from './range-rows.js';
import { BOUNDARY, BOUNDARY_RULE, type KeyRange, type RowCondition, rangeCondition } from './ranges.js';
import { describeSourceTable, type TableDescription } from './schema.js';
import { checkTargetTable, writeAsReplica } from './target-table.js';

const key = z.nullable(z.string().check(z.regex(BOUNDARY, BOUNDARY_RULE)));

/** One Map item: a range of one run. Validated because it also arrives from redrives and by hand. */
export const copyRangeEventSchema = z.object({
  runId: z.string().check(z.minLength(1)),
  table: z.string().check(z.regex(NAME, NAME_RULE)),
  range: z.object({ index: z.int().check(z.nonnegative()), lo: key, hi: key }),
  /** An incremental run's changed rows; absent or null, the range is replaced whole. */
  changes: z.optional(z.nullable(changedRowsSchema)),
  /** The run's policies: every range of a run treats values alike. */
  policies: policiesSchema,
});

export type CopyRangeEvent = z.infer<typeof copyRangeEventSchema>;

/** What one invocation copied. With `next`, the range goes on from that key in another invocation. */
export interface CopyRangeResult {
  runId: string;
  index: number;
  rows: number;
  seconds: number;
  policyCounts: PolicyCounts;
  next?: string;
}

/** How long an invocation may read rows: it stops while `marginMs` remain, enough to commit and close. */
export interface TimeBudget {
  remainingMs: () => number;
  marginMs: number;
}

/** Time kept for committing and closing, unless COPY_TIME_MARGIN_MS says otherwise. */
export const DEFAULT_TIME_MARGIN_MS = 60_000;

/** The invocation's budget from the Lambda context and the COPY_TIME_MARGIN_MS environment. */
export function timeBudget(remainingMs: () => number, env: NodeJS.ProcessEnv = process.env): TimeBudget {
  const margin = Number(env.COPY_TIME_MARGIN_MS ?? DEFAULT_TIME_MARGIN_MS);
  if (!Number.isInteger(margin) || margin < 0) {
    throw new InputValidationError(
      `COPY_TIME_MARGIN_MS must be a whole number of milliseconds, not ${env.COPY_TIME_MARGIN_MS}`,
    );
  }
  return { remainingMs, marginMs: margin };
}

/**
 * Writes one range in one PostgreSQL transaction that also records it in the ledger and checks
 * the run still holds its table's lease, so a retry or a re-run gives the same target. A full run
 * replaces the target's rows of `[lo, hi)` with the source's; an incremental run upserts the
 * range's changed rows through a staging table and deletes nothing. Rows stream from MySQL
 * through the COPY encoder into `COPY ... FROM STDIN`; no range is ever held in memory.
 *
 * When the budget runs low, the rows read so far (a key-ordered prefix of the range) are
 * committed and the result's `next` says where the rest starts: the workflow then calls again
 * with `lo = next`, so no range has to fit in one invocation. The source connection's query is
 * then cut off, so the connection is closed: the pair is the invocation's own.
 */
export async function copyRange(
  event: CopyRangeEvent,
  { source, target }: ConnectionPair,
  budget?: TimeBudget,
  reopenTarget?: TargetOpener,
): Promise<CopyRangeResult> {
  const { runId, table, range, changes, policies } = copyRangeEventSchema.parse(event);
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started) / 1000;
  const reader = new RangeReader(budget);
  try {
    const description = await checkTargetTable(target, await describeSourceTable(source, table, target), TARGET_SCHEMA);
    // A heartbeat before the work, and the fence inside the transaction below.
    await renewLease(target, table, runId);
    const copied = await inTransaction(target, async () => {
      await writeAsReplica(target, [table], TARGET_SCHEMA);
      const copied = changes
        ? await upsertChangedRows(description, range, changes, policies, { source, target }, reader)
        : await replaceRange(description, range, policies, { source, target }, reader);
      await renewLease(target, table, runId);
      await recordRangeCopied(target, runId, range, copied, elapsed());
      return copied;
    });
    const { rows, policyCounts, next } = copied;
    return {
      runId,
      index: range.index,
      rows,
      seconds: elapsed(),
      policyCounts,
      ...(next === undefined ? {} : { next }),
    };
  } catch (error) {
    const named = classifyEitherSide(error);
    // A lost or silent connection on either side: neither is used again, nor left streaming.
    if (named instanceof TransientDatabaseError) abandonPair({ source, target });
    named.attempts = await recordFailure(target, named, reopenTarget, (ledger) =>
      recordRangeFailed(ledger, runId, range, `${named.name}: ${named.message}`, elapsed()),
    );
    throw named;
  }
}

/** Passes a range's row batches on in key order, and stops early when the budget runs low. */
class RangeReader {
  /** The key of the first row left unread when the budget stopped the read. */
  next: string | undefined;
  private rows = 0;

  constructor(private readonly budget?: TimeBudget) {}

  /**
   * Yields batches until the source ends or the budget runs low; at least one row, so every call
   * moves on. A table without a range key (keyIndex -1) has no key to go on from: it reads to the end.
   */
  async *read(batches: AsyncIterable<SourceValue[][]>, keyIndex: number): AsyncGenerator<SourceValue[][]> {
    for await (const batch of batches) {
      if (keyIndex >= 0 && this.budget && this.budget.remainingMs() < this.budget.marginMs) {
        const keep = this.rows === 0 ? 1 : 0;
        if (keep < batch.length) {
          this.next = String(batch[keep]![keyIndex]);
          if (keep > 0) yield batch.slice(0, keep);
          return;
        }
      }
      this.rows += batch.length;
      yield batch;
    }
  }
}

async function replaceRange(
  description: TableDescription,
  range: KeyRange,
  policies: Policies,
  pair: ConnectionPair,
  reader: RangeReader,
): Promise<CopiedChunk> {
  await pair.target.query(
    `DELETE FROM ${targetTable(description)} WHERE ${rangeCondition(quoted('target', description), range)}`,
  );
  return streamRange(description, range, null, targetTable(description), policies, pair, reader);
}

/** COPYs the range's changed rows into a staging table dropped at commit, then upserts them in one statement. */
async function upsertChangedRows(
  description: TableDescription,
  range: KeyRange,
  changes: ChangedRows,
  policies: Policies,
  pair: ConnectionPair,
  reader: RangeReader,
): Promise<CopiedChunk> {
  const columns = description.columns.map((column) => quotePg(column.name));
  const stage = quotePg(`${description.table}_changes`);
  await pair.target.query(
    `CREATE TEMPORARY TABLE ${stage} ON COMMIT DROP AS SELECT ${columns.join(', ')} FROM ${targetTable(description)} WITH NO DATA`,
  );
  const copied = await streamRange(description, range, changedRowsCondition(changes), stage, policies, pair, reader);
  const key = upsertKey(description).map(quotePg);
  const updates = columns.filter((column) => !key.includes(column)).map((column) => `${column} = EXCLUDED.${column}`);
  await pair.target.query(
    `INSERT INTO ${targetTable(description)} (${columns.join(', ')}) SELECT ${columns.join(', ')} FROM ${stage}
     ON CONFLICT (${key.join(', ')}) DO ${updates.length ? `UPDATE SET ${updates.join(', ')}` : 'NOTHING'}`,
  );
  return copied;
}

async function streamRange(
  description: TableDescription,
  range: KeyRange,
  condition: RowCondition | null,
  into: string,
  policies: Policies,
  { source, target }: ConnectionPair,
  reader: RangeReader,
): Promise<CopiedChunk> {
  const columns = description.columns;
  const rows = sourceRangeBytes(source, description, range, condition);
  const selected = rowsOfRange(description, range, condition);
  let sourceFailure: unknown;
  rows.once('error', (error: unknown) => (sourceFailure = error));
  const encoder = new CopyTextEncoder(description.table, columns, rowKeyIndexes(description), policies);
  const copy = target.query(
    copyFrom(`COPY ${into} (${columns.map((column) => quotePg(column.name)).join(', ')}) FROM STDIN`),
  );
  try {
    await pipeline(reader.read(rows, description.primaryKeyIndex), encoder, copy);
  } catch (error) {
    if (error === sourceFailure) throw classifyDatabaseError(error, 'source');
    throw (await rejectedValue(error, description, selected, source)) ?? classifyDatabaseError(error, 'target');
  }
  if (reader.next === undefined) return { rows: encoder.rows, policyCounts: encoder.policyCounts };
  // The rest of the range is still on its way: this connection cannot serve another query, and
  // draining it would spend the time the budget kept for committing.
  source.destroy();
  return { rows: encoder.rows, policyCounts: encoder.policyCounts, next: reader.next };
}

/** Where a row's key is among the columns: the range key, a tuple key's columns, or nowhere. */
function rowKeyIndexes({ primaryKeyIndex, keyset, columns }: TableDescription): number[] {
  if (primaryKeyIndex >= 0) return [primaryKeyIndex];
  return (keyset ?? []).map((column) => columns.indexOf(column));
}

/**
 * A value PostgreSQL itself refused during COPY (a data error naming the line and column) as a
 * ValueConversionError with the row's key, found again by its position among the range's rows.
 */
async function rejectedValue(
  error: unknown,
  description: TableDescription,
  rowsOfRange: RowCondition,
  source: mysql.Connection,
) {
  const { code, where, column, message } = error as {
    code?: string;
    where?: string;
    column?: string;
    message?: string;
  };
  const at = where && /^COPY [^,]+, line (\d+)(?:, column (.+?))?(?::|$)/m.exec(where);
  if (!at || !code || !/^2[23]/.test(code)) return null;
  // Without a key, rows come in no order: the COPY line is all that tells the row.
  if (description.primaryKey === null) {
    return new ValueConversionError(
      description.table,
      at[2] ?? column ?? '?',
      `(no key; row ${at[1]})`,
      `PostgreSQL refused it: ${message}`,
    );
  }
  const key = quoteMysql(description.primaryKey);
  try {
    // The abandoned stream may have paused the connection mid-result; let it read the rest first.
    source.resume();
    const [rows] = await source.promise().query({
      sql: `SELECT ${key} FROM ${quoteMysql(description.table)} WHERE ${rowsOfRange.sql} ORDER BY ${key} LIMIT 1 OFFSET ${Number(at[1]) - 1}`,
      values: rowsOfRange.values,
      rowsAsArray: true,
    });
    const row = (rows as unknown[][])[0];
    return new ValueConversionError(
      description.table,
      at[2] ?? column ?? '?',
      row ? String(row[0]) : '?',
      `PostgreSQL refused it: ${message}`,
    );
  } catch {
    return null;
  }
}
