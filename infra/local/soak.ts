import { performance } from 'node:perf_hooks';
import {
  type CanonicalRow,
  canonicalForms,
  canonicalSourceRow,
  canonicalTargetRow,
} from '../../functions/core/canonical.js';
import { type ConnectionPair, closePair, openPairFromUrls } from '../../functions/core/connections.js';
import type { SourceValue } from '../../functions/core/copy-encoder.js';
import { quotePg, TARGET_SCHEMA } from '../../functions/core/identifiers.js';
import { ensureLedger, LEDGER_SCHEMA, lastRunOf } from '../../functions/core/ledger.js';
import { DEFAULT_POLICIES } from '../../functions/core/policies.js';
import { compareRanges, describeDifferences } from '../../functions/core/range-comparison.js';
import { sourceRangeRows, targetRangeRows } from '../../functions/core/range-rows.js';
import { describeSourceTable } from '../../functions/core/schema.js';
import { STATE } from '../cdk/states.js';
import { type LocalMigrationResult, migrateLocally } from './local-migration.js';
import type { WorkflowEvent } from './runner.js';

/** The steps a soak kills connections in, and the databases it kills them on. */
export const SOAK_STEPS = [STATE.plan, STATE.copyRange, STATE.verifyRange] as const;
export type SoakStep = (typeof SOAK_STEPS)[number];
export type SoakSide = 'source' | 'target';

export interface SoakRunOptions {
  sourceUrl: string;
  targetUrl: string;
  /** A table already seeded on the source; its target table is dropped before the run. */
  table: string;
  chunkRows: number;
  concurrency: number;
  /** Kills planned for the run, each at a random entry of a random step, on a random side. */
  kills: number;
  /** The most a planned kill waits after its step was entered, so it lands inside the step. */
  killDelayMs: number;
  /** How long the run (and a retry of its failed ranges) may take before it counts as hung. */
  deadlineMs: number;
  /** Milliseconds between the workflow's retries instead of the definition's backoff. */
  retryIntervalMs: number;
  /** Says whether the target holds exactly the source's table: null when it does, else what differs. */
  differences: (table: string) => Promise<string | null>;
  random: () => number;
}

/** A kill that landed: the step it was planned in, the side, how many of the tool's connections it ended. */
export interface SoakKill {
  step: SoakStep;
  side: SoakSide;
  connections: number;
}

/**
 * How a run ended. `exact`: it succeeded and the target is exact. `healed`: ranges failed, every
 * one of them reported, and a retry of just those made the target exact. Any other outcome is a
 * defect: a range left `pending` (`unreported`), a run past its deadline (`hung`), a target that
 * differs (`inexact`), a run that failed otherwise or whose retry did not heal it (`failed`).
 */
export type SoakOutcome = 'exact' | 'healed' | 'unreported' | 'hung' | 'inexact' | 'failed';

export interface SoakRunResult {
  outcome: SoakOutcome;
  kills: SoakKill[];
  /** Invocations the workflow retried. */
  retries: number;
  failedRanges: number;
  seconds: number;
  detail: string | null;
}

/** A small seeded generator (mulberry32): a soak's kill plan is repeatable from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Runs the workflow once against the real databases while connections of the tool are killed on
 * both of them at random moments of Plan, CopyRange and VerifyRange, then judges the outcome
 * (see {@link SoakOutcome}). Only connections opened after the run started are killed: whatever
 * else uses the databases (the caller's own connections) is spared.
 */
export async function soakRun(options: SoakRunOptions): Promise<SoakRunResult> {
  const started = performance.now();
  const seconds = () => Math.round(performance.now() - started) / 1000;
  const killer = await openKiller(options);
  const kills: SoakKill[] = [];
  let retries = 0;
  const result = (outcome: SoakOutcome, failedRanges: number, detail: string | null): SoakRunResult => ({
    outcome,
    kills,
    retries,
    failedRanges,
    seconds: seconds(),
    detail,
  });
  try {
    await killer.pair.target.query(`DROP TABLE IF EXISTS ${quotePg(TARGET_SCHEMA)}.${quotePg(options.table)}`);
    await killer.spareExisting();
    const plan = planKills(options);
    const entered = new Map<string, number>();
    const pending = new Set<Promise<void>>();
    const timers = new Set<NodeJS.Timeout>();
    let running = true;
    const onEvent = (event: WorkflowEvent) => {
      if (event.type === 'StateRetried') retries++;
      if (event.type !== 'StateEntered' || !('state' in event) || !event.state) return;
      const step = event.state.name as SoakStep;
      const entry = (entered.get(step) ?? 0) + 1;
      entered.set(step, entry);
      for (const kill of plan.filter((k) => k.step === step && k.entry === entry)) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (!running) return;
          const done = killer
            .kill(kill.side)
            .then((connections) => {
              if (connections > 0) kills.push({ step, side: kill.side, connections });
            })
            .catch(() => {})
            .finally(() => pending.delete(done));
          pending.add(done);
        }, kill.delayMs);
        timers.add(timer);
      }
    };
    const run = await beforeDeadline(
      options.deadlineMs,
      migrateLocally({
        sourceUrl: options.sourceUrl,
        targetUrl: options.targetUrl,
        input: { table: options.table, chunkRows: options.chunkRows, concurrency: options.concurrency },
        retryIntervalMs: options.retryIntervalMs,
        onEvent,
      }),
    );
    running = false;
    for (const timer of timers) clearTimeout(timer);
    await Promise.all(pending);
    if (run === null) return result('hung', 0, `the run did not end within ${options.deadlineMs} ms`);
    return await judge(options, killer.pair, run, result);
  } finally {
    await killer.close();
  }
}

async function judge(
  options: SoakRunOptions,
  pair: ConnectionPair,
  run: LocalMigrationResult,
  result: (outcome: SoakOutcome, failedRanges: number, detail: string | null) => SoakRunResult,
): Promise<SoakRunResult> {
  await ensureLedger(pair.target);
  const { rows: ranges } = await pair.target.query<{ status: string; n: number }>(
    `SELECT status, count(*)::int AS n FROM ${LEDGER_SCHEMA}.ranges WHERE run_id = $1 GROUP BY status`,
    [run.run.runId],
  );
  const count = (status: string) => ranges.find((r) => r.status === status)?.n ?? 0;
  if (ranges.length === 0) {
    return result('failed', 0, `no range planned: ${run.run.error?.name}: ${run.run.error?.message}`);
  }
  if (count('pending') > 0) {
    return result('unreported', count('failed'), `${count('pending')} ranges left pending (never reported back)`);
  }
  if (run.run.status === 'SUCCEEDED') {
    const differences = await options.differences(options.table);
    return differences ? result('inexact', 0, differences) : result('exact', 0, null);
  }
  if (run.run.error?.name !== 'RangesFailedError') {
    return result('failed', count('failed'), `${run.run.error?.name}: ${run.run.error?.message}`);
  }
  // As `migrate --retry-failed` does: the last run's unfinished ranges, in a run of their own.
  const last = await lastRunOf(pair.target, options.table);
  const retry = await beforeDeadline(
    options.deadlineMs,
    migrateLocally({
      sourceUrl: options.sourceUrl,
      targetUrl: options.targetUrl,
      input: { table: options.table, ranges: last?.ranges ?? [], concurrency: options.concurrency },
      retryIntervalMs: options.retryIntervalMs,
    }),
  );
  if (retry === null) return result('hung', count('failed'), 'the retry of the failed ranges did not end in time');
  if (retry.run.status !== 'SUCCEEDED') {
    return result('failed', count('failed'), `the retry failed: ${retry.run.error?.name}: ${retry.run.error?.message}`);
  }
  const differences = await options.differences(options.table);
  return differences ? result('inexact', count('failed'), differences) : result('healed', count('failed'), null);
}

interface PlannedKill {
  step: SoakStep;
  side: SoakSide;
  /** Which entry into the step (1 is the first). */
  entry: number;
  delayMs: number;
}

/** Kills spread over the steps; CopyRange and VerifyRange are entered once per range (and retry). */
function planKills({ kills, killDelayMs, random }: SoakRunOptions): PlannedKill[] {
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  return Array.from({ length: kills }, () => {
    const step = pick(SOAK_STEPS);
    return {
      step,
      side: pick(['source', 'target'] as const),
      entry: step === STATE.plan ? 1 : 1 + Math.floor(random() * 4),
      delayMs: Math.floor(random() * killDelayMs),
    };
  });
}

/** The killer's own connections, and what it spares: every connection open before the run started. */
async function openKiller(options: Pick<SoakRunOptions, 'sourceUrl' | 'targetUrl'>) {
  const pair = await openPairFromUrls(options.sourceUrl, options.targetUrl);
  const spared = { source: new Set<number>(), target: new Set<number>() };
  const sourceIds = async () => {
    const [rows] = await pair.source
      .promise()
      .query(
        "SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> CONNECTION_ID() AND COMMAND <> 'Daemon'",
      );
    return (rows as { id: number }[]).map((row) => Number(row.id));
  };
  const targetPids = async () => {
    const { rows } = await pair.target.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
    );
    return rows.map((row) => row.pid);
  };
  return {
    pair,
    async spareExisting() {
      for (const id of await sourceIds()) spared.source.add(id);
      for (const pid of await targetPids()) spared.target.add(pid);
    },
    /** Ends every connection of the run on one side (`KILL CONNECTION`, `pg_terminate_backend`); how many it ended. */
    async kill(side: SoakSide): Promise<number> {
      let ended = 0;
      if (side === 'source') {
        for (const id of (await sourceIds()).filter((id) => !spared.source.has(id))) {
          // A connection that closed meanwhile is not an error.
          await pair.source
            .promise()
            .query(`KILL CONNECTION ${id}`)
            .then(() => ended++)
            .catch(() => {});
        }
      } else {
        const pids = (await targetPids()).filter((pid) => !spared.target.has(pid));
        const { rows } = await pair.target.query<{ ended: boolean }>(
          'SELECT pg_terminate_backend(pid) AS ended FROM unnest($1::int[]) AS pid',
          [pids],
        );
        ended = rows.filter((row) => row.ended).length;
      }
      return ended;
    },
    close: () => closePair(pair),
  };
}

/** The promise's value, or null when it has not settled within `ms` (it is left running). */
async function beforeDeadline<T>(ms: number, promise: Promise<T>): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Null when the target holds exactly the source's table, else what differs: the whole table
 * compared as one range, row by row in canonical form, as VerifyRange compares a range.
 */
export async function tableDifferences(pair: ConnectionPair, table: string): Promise<string | null> {
  const description = await describeSourceTable(pair.source, table, pair.target);
  const forms = canonicalForms(description.columns, DEFAULT_POLICIES);
  const whole = { lo: null, hi: null };
  async function* canonical<Row>(batches: AsyncIterable<Row[]>, form: (row: Row) => CanonicalRow) {
    for await (const rows of batches) yield rows.map(form);
  }
  const comparison = await compareRanges(
    canonical(sourceRangeRows(pair.source, description, whole), (row: SourceValue[]) => canonicalSourceRow(forms, row)),
    canonical(targetRangeRows(pair.target, description, whole), (row: (string | null)[]) =>
      canonicalTargetRow(forms, row),
    ),
    { names: description.columns.map((column) => column.name), keyIndex: description.primaryKeyIndex },
  );
  return comparison.differences.length === 0 && comparison.sourceRows === comparison.targetRows
    ? null
    : describeDifferences(comparison);
}
