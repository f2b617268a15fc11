import { performance } from 'node:perf_hooks';
import { type AppliedChanges, readAppliedChanges } from '../../functions/core/binlog/applied-changes.js';
import { closeTarget, endpointFromUrl, openTarget } from '../../functions/core/connections.js';
import { type FinishSummary, readFinishSummary } from '../../functions/core/finish/record.js';
import { type RunSummary, summarizeRun } from '../../functions/core/ledger.js';
import { ALREADY_RUNNING_PATH } from '../cdk/states.js';
import { queueOnDemand } from './queue.js';
import { functionErrorMessage, type LocalRunOptions, type LocalRunResult, runLocal } from './runner.js';

export type LocalMigrationOptions = Omit<LocalRunOptions, 'failedBatches'>;

export interface LocalMigrationResult {
  run: LocalRunResult;
  /**
   * The run's totals from the ledger, with what its finishing step did (as Summarize gives them);
   * null when the run never got past Plan, or the target cannot be reached.
   */
  summary: (RunSummary & { finish?: FinishSummary }) | null;
  /** What a binlog run (or cut-over) applied from the binary log; null for other runs. */
  changes: AppliedChanges | null;
  /** Why the run did nothing, when another run of the table held it. */
  alreadyRunning: string | null;
  /** The messages the run sent to the failed-batches queue. */
  failedBatches: unknown[];
  seconds: number;
}

/** Runs the workflow locally with its own failed-batches queue, then reads the outcome back. */
export async function migrateLocally(options: LocalMigrationOptions): Promise<LocalMigrationResult> {
  const started = performance.now();
  const queue = queueOnDemand();
  try {
    const run = await runLocal({ ...options, failedBatches: queue.get });
    const seconds = Math.round(performance.now() - started) / 1000;
    const failedBatches = await queue.drain();
    const { summary, changes } = await readOutcome(options.targetUrl, run.runId);
    const caught = (run.output as Record<string, { Cause?: string } | undefined> | undefined)?.[ALREADY_RUNNING_PATH];
    const alreadyRunning = caught?.Cause === undefined ? null : functionErrorMessage(caught.Cause);
    return { run, summary, changes, alreadyRunning, failedBatches, seconds };
  } finally {
    await queue.stop();
  }
}

/**
 * The run's totals and applied changes from the ledger, over a connection secured as the
 * functions' are; null when the run left none, or the target cannot be reached (the run's own
 * error then says why).
 */
async function readOutcome(
  targetUrl: string,
  runId: string,
): Promise<Pick<LocalMigrationResult, 'summary' | 'changes'>> {
  let target: Awaited<ReturnType<typeof openTarget>>;
  try {
    target = await openTarget(endpointFromUrl(targetUrl, 'target'));
  } catch {
    return { summary: null, changes: null };
  }
  try {
    const summary = await summarizeRun(target, runId).catch(() => null);
    const changes = await readAppliedChanges(target, runId).catch(() => null);
    const finish = await readFinishSummary(target, runId).catch(() => null);
    return { summary: summary && finish ? { ...summary, finish } : summary, changes };
  } finally {
    await closeTarget(target);
  }
}
