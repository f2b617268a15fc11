import type pg from 'pg';
import { RangesFailedError } from './errors.js';
import { advanceWatermark } from './incremental.js';
import { releaseLease } from './lease.js';
import { finishRun, inTransaction, summarizeRun, type RunSummary } from './ledger.js';

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
  await inTransaction(target, async () => {
    await finishRun(target, event.runId, status);
    if (status === 'succeeded') await advanceWatermark(target, event.runId);
    await releaseLease(target, totals.table, event.runId);
  });
  const summary = { ...totals, status } satisfies RunSummary;
  if (status === 'failed') {
    const listed = summary.failedRanges.map((r) => `[${r.lo ?? '-inf'}, ${r.hi ?? '+inf'}) ${r.error ?? r.status}`).join('; ');
    throw new RangesFailedError(`${summary.failed} of ${summary.ranges} ranges of ${summary.table} failed: ${listed}`);
  }
  return summary;
}
