import type pg from 'pg';
import { RangesFailedError } from './errors.js';
import { advanceWatermark } from './incremental.js';
import { releaseLease } from './lease.js';
import { finishRun, inTransaction, type RunSummary, summarizeRun } from './ledger.js';
import { formatRange } from './ranges.js';

export interface SummarizeEvent {
  runId: string;
}

/**
 * Closes the run in the ledger and returns its totals: a run whose every range landed moves the
 * table's watermark, and either way the table's lease is released. Fails the execution when a
 * range failed.
 */
export async function summarize(event: SummarizeEvent, target: pg.Client): Promise<RunSummary> {
  const totals = await summarizeRun(target, event.runId);
  const status = totals.failed === 0 ? 'succeeded' : 'failed';
  const seconds = await inTransaction(target, async () => {
    const seconds = await finishRun(target, event.runId, status);
    if (status === 'succeeded') await advanceWatermark(target, event.runId);
    await releaseLease(target, totals.table, event.runId);
    return seconds;
  });
  const summary = { ...totals, status, seconds } satisfies RunSummary;
  if (status === 'failed') {
    const listed = summary.failedRanges.map((r) => `${formatRange(r)} ${r.error ?? r.status}`).join('; ');
    throw new RangesFailedError(
      `${summary.failed} of ${summary.ranges} ranges of ${summary.table} failed: ${listed}`,
      summary.failed,
    );
  }
  return summary;
}
