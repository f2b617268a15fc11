import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
// zod's mini build: ApplyChanges bundles what it imports.
import * as z from 'zod/mini';
import type { ConnectionPair } from '../connections.js';
import type { TimeBudget } from '../copy-range.js';
import { classifyDatabaseError, InputValidationError, WritesContinueError } from '../errors.js';
import { NAME, NAME_RULE, TARGET_SCHEMA } from '../identifiers.js';
import { renewLease } from '../lease.js';
import { inTransaction } from '../ledger.js';
import { policiesSchema } from '../policies.js';
import { describeSourceTable } from '../schema.js';
import { checkTargetTable, writeAsReplica } from '../target-table.js';
import { type ChangesPass, recordChangesFailed, recordChangesPass } from './applied-changes.js';
import { applyChangedKeys } from './apply.js';
import { type ChangedKeys, readChangedKeys } from './change-reader.js';
import { moveCheckpoints, readCheckpoints } from './checkpoints.js';
import { type KeyedTable, keyedTables } from './keys.js';
import { CHANGES_MODES, type ChangesMode } from './modes.js';
import { type BinlogPosition, comparePositions, formatPosition } from './position.js';
import {
  binlogFiles,
  bytesAfter,
  describeWriters,
  endSnapshot,
  gtidAt,
  requireHeld,
  requireRowBinlog,
  sourceClock,
  sourceDatabase,
  startSnapshot,
} from './source.js';

/** How long a cut-over waits for a write to the run's tables before it calls the source quiet. */
export const DEFAULT_QUIET_SECONDS = 10;

/** One ApplyChanges invocation: a binlog run's tables, or a cut-over's. */
export const applyChangesEventSchema = z.object({
  runId: z.string().check(z.minLength(1)),
  tables: z.array(z.string().check(z.regex(NAME, NAME_RULE))).check(z.minLength(1)),
  mode: z.enum(CHANGES_MODES),
  policies: policiesSchema,
  /** At cut-over: how long the source must take no write to the tables. */
  quietSeconds: z.optional(z.nullable(z.int().check(z.nonnegative()))),
});

export type ApplyChangesEvent = z.infer<typeof applyChangesEventSchema>;

/** The limits of one invocation's reading, on top of its time budget. */
export interface ChangesLimits {
  /** The longest a pass reads the binary log. */
  maxReadMs: number;
  /** A pass stops reading at the next boundary once it holds this many changed keys. */
  maxKeys: number;
  /** The binlog stream may be silent this long before it counts as a lost connection. */
  idleMs: number;
}

export const DEFAULT_CHANGES_LIMITS: ChangesLimits = { maxReadMs: 5 * 60_000, maxKeys: 100_000, idleMs: 30_000 };

/** The limits from BINLOG_READ_SECONDS and BINLOG_MAX_KEYS, over the defaults. */
export function changesLimits(env: NodeJS.ProcessEnv = process.env): ChangesLimits {
  const whole = (name: string, fallback: number) => {
    const value = env[name] === undefined ? fallback : Number(env[name]);
    if (!Number.isInteger(value) || value <= 0) {
      throw new InputValidationError(`${name} must be a whole number above 0, not ${env[name]}`);
    }
    return value;
  };
  return {
    ...DEFAULT_CHANGES_LIMITS,
    maxReadMs: whole('BINLOG_READ_SECONDS', DEFAULT_CHANGES_LIMITS.maxReadMs / 1000) * 1000,
    maxKeys: whole('BINLOG_MAX_KEYS', DEFAULT_CHANGES_LIMITS.maxKeys),
  };
}

/** What an invocation applied, over its passes, and where it left the tables. */
export interface ApplyChangesResult extends Omit<ChangesPass, 'policyCounts'> {
  runId: string;
  mode: ChangesMode;
  tables: string[];
  passes: number;
}

interface Run {
  event: ApplyChangesEvent;
  pair: ConnectionPair;
  tables: KeyedTable[];
  database: string;
  budget: TimeBudget;
  limits: ChangesLimits;
}

/**
 * Applies the changes the source's binary log holds for the run's tables since their
 * checkpoints, and moves the checkpoints in the same PostgreSQL transaction. A pass opens a
 * consistent snapshot of the source, reads from the log which keys changed up to the snapshot's
 * place (within its time and key budget, stopping at a transaction boundary), then deletes those
 * keys in the target and writes the rows the snapshot holds for them: the target's rows of those
 * keys become the source's at that place. docs/BINLOG.md argues why nothing is lost or applied
 * twice in effect.
 *
 * A binlog run makes one pass; the next run goes on from the checkpoint. A cut-over passes until
 * it has caught up, waits `quietSeconds`, and passes once more: a change in that last pass means
 * the source still takes writes, and the cut-over fails with who is writing.
 */
export async function applyChanges(
  event: ApplyChangesEvent,
  pair: ConnectionPair,
  budget: TimeBudget,
  limits: ChangesLimits = DEFAULT_CHANGES_LIMITS,
): Promise<ApplyChangesResult> {
  const parsed = applyChangesEventSchema.parse(event);
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started) / 1000;
  const { source, target } = pair;
  try {
    const descriptions = [];
    for (const name of parsed.tables) {
      descriptions.push(await checkTargetTable(target, await describeSourceTable(source, name, target), TARGET_SCHEMA));
    }
    const tables = keyedTables(descriptions);
    await requireRowBinlog(source);
    for (const name of parsed.tables) await renewLease(target, name, parsed.runId);
    const run: Run = { event: parsed, pair, tables, database: await sourceDatabase(source), budget, limits };
    const passes: ChangesPass[] = [await applyPass(run)];
    if (parsed.mode === 'cutover') {
      while (!passes.at(-1)!.caughtUp && timeLeft(run) > 0) passes.push(await applyPass(run));
      await requireQuiet(run, passes);
    }
    return totals(parsed, passes, elapsed());
  } catch (error) {
    // Source reads name their errors where they happen; what is left came from the target.
    const named = classifyDatabaseError(error, 'target');
    // Best effort: if the target is gone the run stays `pending`, which Summarize counts as failed.
    await recordChangesFailed(target, parsed.runId, `${named.name}: ${named.message}`).catch(() => {});
    throw named;
  }
}

/** Milliseconds a pass may still read: half of what is left before the margin, so applying has the rest. */
function timeLeft({ budget, limits }: Run): number {
  return Math.min(limits.maxReadMs, (budget.remainingMs() - budget.marginMs) / 2);
}

async function applyPass(run: Run): Promise<ChangesPass> {
  const started = performance.now();
  const { pair, tables, event } = run;
  const { source, target } = pair;
  const names = tables.map((t) => t.description.table);
  const checkpoints = await readCheckpoints(target, names);
  const files = await binlogFiles(source);
  for (const [table, at] of checkpoints) requireHeld(files, at, [table]);
  const snapshot = await startSnapshot(source);
  try {
    const read = await readChangedKeys({
      source,
      database: run.database,
      tables,
      checkpoints,
      until: snapshot.position,
      deadline: Date.now() + Math.max(0, timeLeft(run)),
      maxKeys: run.limits.maxKeys,
      idleMs: run.limits.idleMs,
    });
    const caughtUp = read.stoppedBy === 'caught-up';
    const to: BinlogPosition = caughtUp
      ? snapshot.position
      : { ...read.through, gtid: await gtidAt(source, read.through) };
    return await inTransaction(target, async () => {
      await writeAsReplica(target, names, TARGET_SCHEMA);
      const applied = await applyChangedKeys(pair, changesOf(tables, read), event.policies);
      // The fence: the changes land only while the run still holds every table.
      for (const name of names) await renewLease(target, name, event.runId);
      // A table whose checkpoint is further on than this pass got keeps it.
      const behind = names.filter((name) => comparePositions(checkpoints.get(name)!, to) < 0);
      await moveCheckpoints(target, behind, to, event.runId);
      const now = await sourceClock(source);
      const pass: ChangesPass = {
        from: [...checkpoints.values()].reduce((a, b) => (comparePositions(b, a) < 0 ? b : a)),
        to,
        transactions: read.transactions,
        changedKeys: Object.fromEntries([...read.keys].map(([table, keys]) => [table, keys.size])),
        rowsDeleted: applied.deleted,
        rowsWritten: applied.written,
        policyCounts: applied.policyCounts,
        caughtUp,
        // Caught up, the target holds the source as of the snapshot; else at least its last commit read.
        lagSeconds: lag(now, caughtUp ? snapshot.takenAt : read.lastCommitAt),
        backlogBytes: bytesAfter(await binlogFiles(source), to),
        seconds: Math.round(performance.now() - started) / 1000,
      };
      await recordChangesPass(target, event.runId, pass);
      return pass;
    });
  } finally {
    await endSnapshot(source).catch(() => {});
  }
}

const lag = (now: number, since: number | null) =>
  since === null ? null : Math.max(0, Math.round((now - since) * 1000) / 1000);

function changesOf(tables: KeyedTable[], read: ChangedKeys) {
  return tables.map((table) => ({ table, keys: [...(read.keys.get(table.description.table)?.values() ?? [])] }));
}

/**
 * At cut-over, once caught up: waits the quiet period and passes once more. Writes in that window
 * are applied (nothing is lost), but the source was not quiet, so the cut-over fails naming them.
 */
async function requireQuiet(run: Run, passes: ChangesPass[]): Promise<void> {
  const last = passes.at(-1)!;
  if (!last.caughtUp) {
    throw new WritesContinueError(
      `The cut-over did not catch up with the binary log in this invocation (${last.backlogBytes} bytes behind at ${formatPosition(last.to)}): ` +
        'run binlog runs until their lag is small, stop the writes, then cut over',
    );
  }
  const quietSeconds = run.event.quietSeconds ?? DEFAULT_QUIET_SECONDS;
  await sleep(quietSeconds * 1000);
  const check = await applyPass(run);
  passes.push(check);
  if (check.transactions === 0) return;
  const writers = await describeWriters(run.pair.source);
  const changed = Object.entries(check.changedKeys)
    .filter(([, count]) => count > 0)
    .map(([table, count]) => `${count} keys of ${table}`);
  throw new WritesContinueError(
    `The source still takes writes: ${check.transactions} transactions changed ${changed.join(', ')} in the last ${quietSeconds} s ` +
      `(binary log ${formatPosition(check.from)} to ${formatPosition(check.to)}; applied). ` +
      `${writers.length > 0 ? `Busy now: ${writers.join('; ')}. ` : ''}Stop the application's writes, then run the cut-over again`,
  );
}

function totals(event: ApplyChangesEvent, passes: ChangesPass[], seconds: number): ApplyChangesResult {
  const last = passes.at(-1)!;
  const changedKeys: Record<string, number> = {};
  for (const pass of passes) {
    for (const [table, count] of Object.entries(pass.changedKeys))
      changedKeys[table] = (changedKeys[table] ?? 0) + count;
  }
  const sum = (field: 'transactions' | 'rowsDeleted' | 'rowsWritten') => passes.reduce((n, p) => n + p[field], 0);
  return {
    runId: event.runId,
    mode: event.mode,
    tables: event.tables,
    passes: passes.length,
    from: passes[0]!.from,
    to: last.to,
    transactions: sum('transactions'),
    changedKeys,
    rowsDeleted: sum('rowsDeleted'),
    rowsWritten: sum('rowsWritten'),
    caughtUp: last.caughtUp,
    lagSeconds: last.lagSeconds,
    backlogBytes: last.backlogBytes,
    seconds,
  };
}
