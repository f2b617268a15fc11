import type pg from 'pg';
import { type AppliedChanges, readAppliedChanges } from './binlog/applied-changes.js';
import { checkpointFromFullRun } from './binlog/checkpoints.js';
import { ChangesFailedError, RangesFailedError } from './errors.js';
import { advanceWatermark } from './incremental.js';
import { releaseLease } from './lease.js';
import { finishRun, inTransaction, type RunStatus, type RunSummary, summarizeRun } from './ledger.js';
import { formatRange } from './ranges.js';

export interface SummarizeEvent {
  runId: string;
}

/**
 * Closes the run in the ledger and returns its totals: a run whose every range landed moves the
 * table's watermark (and, a full run, its binlog checkpoint), and either way the table's lease is
 * released. Fails the execution when a range, or a binlog run's changes, failed.
 */
export async function summarize(
  event: SummarizeEvent,
  target: pg.Client,
): Promise<RunSummary & { changes?: AppliedChanges }> {
  const totals = await summarizeRun(target, event.runId);
  // A binlog run (or cut-over) also fails when its changes did not land.
  const changes = await readAppliedChanges(target, event.runId);
  const changesFailed = changes !== null && changes.status !== 'applied';
  const status: RunStatus = totals.failed === 0 && !changesFailed ? 'succeeded' : 'failed';
  const seconds = await inTransaction(target, async () => {
    const seconds = await finishRun(target, event.runId, status);
    if (status === 'succeeded') {
      await advanceWatermark(target, event.runId);
      await checkpointFromFullRun(target, event.runId);
    }
    await releaseLease(target, totals.table, event.runId);
    return seconds;
  });
  // A binlog run's output says what it applied; other runs' output stays as it was.
  const summary = { ...totals, status, seconds, ...(changes ? { changes } : {}) };
  if (changesFailed) {
    throw new ChangesFailedError(
      `The changes of ${summary.table} from the binary log did not land: ${changes.error ?? 'ApplyChanges never reported back'}`,
    );
  }
  if (status === 'failed') {
    const listed = summary.failedRanges.map((r) => `${formatRange(r)} ${r.error ?? r.status}`).join('; ');
    throw new RangesFailedError(
      `${summary.failed} of ${summary.ranges} ranges of ${summary.table} failed: ${listed}`,
      summary.failed,
    );
  }
  return summary;
}
