import type pg from 'pg';
import { type AppliedChanges, readAppliedChanges } from './binlog/applied-changes.js';
import { checkpointFromFullRun } from './binlog/checkpoints.js';
import { ChangesFailedError, FinishFailedError, RangesFailedError, SchemaError } from './errors.js';
import { type FinishSummary, readFinishSummary } from './finish/record.js';
import { advanceWatermarks } from './incremental.js';
import { releaseLeases } from './lease.js';
import {
  finishRun,
  inTransaction,
  LEDGER_SCHEMA,
  landedTables,
  type RunStatus,
  type RunSummary,
  summarizeRun,
} from './ledger.js';
import { formatRange } from './ranges.js';

export interface SummarizeEvent {
  runId: string;
}

/** Whether every range of the run landed and, in a binlog run, its changes did; if not, why. */
export async function dataOutcome(
  target: pg.Client,
  runId: string,
): Promise<{ succeeded: boolean; why: string | null; totals: RunSummary; changes: AppliedChanges | null }> {
  const totals = await summarizeRun(target, runId);
  const changes = await readAppliedChanges(target, runId);
  const changesFailed = changes !== null && changes.status !== 'applied';
  let why: string | null = null;
  if (changesFailed) why = 'the changes from the binary log did not land';
  else if (totals.failed > 0) why = `${totals.failed} of ${totals.ranges} ranges failed`;
  return { succeeded: why === null, why, totals, changes };
}

/**
 * Closes the run in the ledger and returns its totals: each table whose every range landed moves
 * its watermark, a full run whose every table landed moves their binlog checkpoints, and either
 * way the run's leases are released. Fails the execution when a range, a table (refused), or a
 * binlog run's changes failed.
 */
export async function summarize(
  event: SummarizeEvent,
  target: pg.Client,
): Promise<RunSummary & { changes?: AppliedChanges; finish?: FinishSummary }> {
  // A binlog run (or cut-over) also fails when its changes did not land.
  const { totals, changes } = await dataOutcome(target, event.runId);
  const changesFailed = changes !== null && changes.status !== 'applied';
  // A finishing step that failed, or never reported back, leaves a target the application cannot switch to.
  const finish = await readFinishSummary(target, event.runId);
  const finishFailed = finish?.status === 'failed' || finish?.status === 'running';
  const status: RunStatus =
    totals.failed === 0 && totals.refusedTables === 0 && !changesFailed && !finishFailed ? 'succeeded' : 'failed';
  const seconds = await inTransaction(target, async () => {
    const seconds = await finishRun(target, event.runId, status);
    if (!changesFailed) await advanceWatermarks(target, event.runId, await landedTables(target, event.runId));
    if (status === 'succeeded') await checkpointFromFullRun(target, event.runId);
    await releaseLeases(target, event.runId);
    return seconds;
  });
  // A binlog run's output says what it applied; other runs' output stays as it was.
  const summary = { ...totals, status, seconds, ...(changes ? { changes } : {}), ...(finish ? { finish } : {}) };
  if (changesFailed) {
    throw new ChangesFailedError(
      `The changes of ${summary.table} from the binary log did not land: ${changes.error ?? 'ApplyChanges never reported back'}`,
    );
  }
  if (finishFailed && totals.failed === 0) {
    throw new FinishFailedError(`The finishing step of ${summary.table} did not complete: ${finish.error}`);
  }
  const refused = summary.tables
    .filter((table) => table.refused !== null)
    .map((table) => `${table.table}: ${table.refused}`);
  const count = summary.refusedTables;
  const more = count > refused.length ? `; and ${count - refused.length} more (migration.run_tables has them)` : '';
  const refusals = count
    ? `${count} table${count > 1 ? 's' : ''} not migrated (leave ${count > 1 ? 'them' : 'it'} out with "excludeTables", or fix the source): ${refused.join('; ')}${more}`
    : '';
  if (summary.failed > 0) {
    const listed = summary.failedRanges
      .map((r) => `${tableOf(summary, r.table)}${formatRange(r)} ${r.error ?? r.status}`)
      .join('; ');
    throw new RangesFailedError(
      `${summary.failed} of ${summary.ranges} ranges of ${summary.table} failed: ${listed}${refusals ? `; ${refusals}` : ''}`,
      summary.failed,
    );
  }
  const migrated = summary.tableCount - count;
  if (refusals) throw new SchemaError(`${migrated} table${migrated === 1 ? '' : 's'} migrated; ${refusals}`);
  return summary;
}

/** A range's table, named when the run has several. */
const tableOf = (summary: RunSummary, table: string) => (summary.tableCount > 1 ? `${table} ` : '');

/** What ending a stopped run did: whether the run was still open and is now failed, and how many tables it gave back. */
export interface StoppedRun {
  ended: boolean;
  released: number;
}

/**
 * Ends the run of an execution that stopped without Summarize (stopped from the console, timed
 * out, or failed before its end): a run still open is marked failed, and every table it holds is
 * given back at once instead of when its lease expires. It moves no watermark, so the next run
 * copies again whatever this one may not have finished. A run that already ended, or never
 * began, is left as it is.
 */
export async function endStoppedRun(event: SummarizeEvent, target: pg.Client): Promise<StoppedRun> {
  const ledger = await target.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [
    `${LEDGER_SCHEMA}.runs`,
  ]);
  if (!ledger.rows[0]!.present) return { ended: false, released: 0 };
  return inTransaction(target, async () => {
    const ended = await target.query(
      `UPDATE ${LEDGER_SCHEMA}.runs SET status = 'failed', ended_at = clock_timestamp() WHERE run_id = $1 AND status = 'running'`,
      [event.runId],
    );
    return { ended: ended.rowCount === 1, released: await releaseLeases(target, event.runId) };
  });
}
