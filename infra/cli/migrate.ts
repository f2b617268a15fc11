import cliProgress from 'cli-progress';
import { z } from 'zod';
import type { AppliedChanges } from '../../functions/core/binlog/applied-changes.js';
import { type BinlogPosition, formatPosition } from '../../functions/core/binlog/position.js';
import { closeSource, closeTarget, endpointFromUrl, openSource, openTarget } from '../../functions/core/connections.js';
import type { FinishSummary } from '../../functions/core/finish/record.js';
import { lastRunOf, type RunSummary, type UnfinishedRun } from '../../functions/core/ledger.js';
import { DEFAULT_POLICIES, POLICY_NAMES } from '../../functions/core/policies.js';
import { formatRange } from '../../functions/core/ranges.js';
import { STATE } from '../cdk/states.js';
import { type LocalMigrationResult, migrateLocally } from '../local/local-migration.js';
import type { WorkflowEvent } from '../local/runner.js';
import { parseFlags, sourceUrlFlag, TLS_FLAGS, targetUrlFlag, tlsVariables, UsageError } from './flags.js';
import { executionInputFromFlags, INPUT_FLAGS } from './input-flags.js';

const USAGE = `Usage: npm run migrate -- --source mysql://user[:pass]@host:port/db --target postgres://user[:pass]@host:port/db
                           --table users [--chunk-rows 100000] [--concurrency 4] [--retry-failed] [--verify checksum|rows] [--no-verify] [--json]
                           [--source-tls verify-full|require|off] [--target-tls verify-full|require|off] [--ca-bundle ca.pem]
                           [--mode full|incremental|binlog|cutover] [--change-column updated_at] [--overlap-seconds 60] [--quiet-seconds 10]
                           [--zero-dates null|fail] [--nul-bytes fail|strip] [--tinyint1 fail|nonzero-true] [--empty-enum keep|null|fail]
                           [--spatial bytea|fail]`;

/**
 * Exit codes: every range copied, some failed (or the command itself failed), the flags are
 * wrong, another run held the table, a database cannot be reached.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, alreadyRunning: 3, unreachable: 4 } as const;

// The execution input's own flags are checked by its schema (executionInputFromFlags).
const MIGRATE_FLAGS = {
  source: sourceUrlFlag(),
  target: targetUrlFlag(),
  ...INPUT_FLAGS,
  ...TLS_FLAGS,
  table: z.string({ error: 'is required' }),
  'retry-failed': z.boolean().default(false),
  json: z.boolean().default(false),
};

/**
 * Parses the flags into the execution input the workflow receives and the TLS variables every
 * connection of the run reads (checked against the URLs' own TLS settings); a UsageError (with
 * the usage) when they are wrong.
 */
export function migrateFlags(argv: string[], env: NodeJS.ProcessEnv = process.env) {
  let parsed: ReturnType<typeof parseFlags<typeof MIGRATE_FLAGS>>;
  let input: ReturnType<typeof executionInputFromFlags>;
  let tls: Record<string, string>;
  try {
    parsed = parseFlags(argv, MIGRATE_FLAGS);
    input = executionInputFromFlags(parsed.given);
    tls = tlsVariables(parsed.flags);
    endpointFromUrl(parsed.flags.source, 'source', { ...env, ...tls });
    endpointFromUrl(parsed.flags.target, 'target', { ...env, ...tls });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${USAGE}`);
  }
  const { flags } = parsed;
  return {
    sourceUrl: flags.source,
    targetUrl: flags.target,
    input,
    tls,
    retryFailed: flags['retry-failed'],
    json: flags.json,
  };
}

/** The ranges the table's last run left unfinished, from the ledger in the target; null when it has no run of the table. */
async function lastRunOfTable(targetUrl: string, table: string): Promise<UnfinishedRun | null> {
  const target = await openTarget(endpointFromUrl(targetUrl, 'target'));
  try {
    return await lastRunOf(target, table);
  } finally {
    await closeTarget(target);
  }
}

/** A database the command cannot reach: what, where (never the password), and the fix; `reason` is the driver's. */
class UnreachableError extends Error {
  constructor(
    message: string,
    readonly reason: Error,
  ) {
    super(message);
  }
}

/**
 * Opens and closes a connection to each database before the run, so a server that is down or a
 * wrong URL ends the command at once with one line, instead of after the workflow's retries.
 */
async function checkReachable(sourceUrl: string, targetUrl: string): Promise<void> {
  const sides = [
    { side: 'source', url: sourceUrl, open: () => openSource(endpointFromUrl(sourceUrl, 'source')).then(closeSource) },
    { side: 'target', url: targetUrl, open: () => openTarget(endpointFromUrl(targetUrl, 'target')).then(closeTarget) },
  ] as const;
  for (const { side, url, open } of sides) {
    try {
      await open();
    } catch (error) {
      const { host, port, database } = endpointFromUrl(url, side);
      throw new UnreachableError(
        `Cannot connect to the ${side} database ${database} at ${host}:${port}: ${(error as Error).message}. ` +
          `Check that the server is running and reachable there, and the --${side} URL's user, password, database and TLS settings.`,
        error as Error,
      );
    }
  }
}

/**
 * A progress bar on stderr fed by the workflow's own events: ranges done (a Map iteration ends
 * after CopyRange and VerifyRange, or after its failure is queued) of planned, rows, rows/s, ETA.
 */
function progressBar(enabled: boolean) {
  const bar = new cliProgress.SingleBar(
    {
      format:
        'CopyRanges [{bar}] {value}/{total} ranges ({failed} failed) | {rows} rows | {rate} rows/s | ETA {eta_formatted}',
      hideCursor: true,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  let rows = 0;
  let failed = 0;
  let started = 0;
  const rate = () => Math.round(rows / Math.max(0.001, (Date.now() - started) / 1000));
  const onEvent = (event: WorkflowEvent) => {
    if (!enabled) return;
    if (event.type === 'MapIterationSucceeded' || event.type === 'MapIterationFailed') {
      bar.increment(1, { rows, failed, rate: rate() });
      return;
    }
    if (event.type !== 'StateExited' || !('state' in event) || !event.state) return;
    const { name, output } = event.state;
    // A Plan that found the table busy exits with no item count: there is nothing to show.
    const planned = name === STATE.plan ? (output as { items?: number }).items : undefined;
    if (planned !== undefined) {
      started = Date.now();
      bar.start(planned, 0, { rows, failed, rate: 0 });
    } else if (name === STATE.copyRange) {
      rows += (output as { copied: { rows: number } }).copied.rows;
      bar.update({ rows, rate: rate() });
    } else if (name === STATE.sendFailedBatch) {
      failed++;
    }
  };
  return { onEvent, stop: () => enabled && bar.stop() };
}

/** Left-aligned columns, two spaces apart. */
function columns(rows: (string | number)[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => String(row[i]).length)));
  return rows.map((row) =>
    row
      .map((cell, i) => String(cell).padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
}

function verificationResult(summary: RunSummary): string {
  if (!summary.verify) return 'off (--no-verify)';
  const mismatched = summary.mismatchedRanges > 0 ? `, ${summary.mismatchedRanges} mismatched` : '';
  // A cut-over verifies ranges it did not copy: the ledger counts rows only for copied ones.
  const rows = summary.verifiedRows > 0 ? ` (${summary.verifiedRows} rows)` : '';
  return `${summary.verifiedRanges} of ${summary.ranges} ranges verified${rows}${mismatched}`;
}

/** What a binlog run or a cut-over applied from the binary log, and how far behind the target is. */
export function changesReport(changes: AppliedChanges): (string | number)[][] {
  const position = (p: BinlogPosition | null) => (p ? formatPosition(p) : '-');
  const keys = Object.entries(changes.changedKeys).map(([table, count]) => `${table} ${count}`);
  return [
    ['changes', changes.status === 'failed' ? `failed: ${changes.error}` : changes.status],
    ['binary log', `${position(changes.from)} -> ${position(changes.to)}`],
    ['transactions', changes.transactions],
    ['changed keys', keys.join(', ') || 0],
    ['rows deleted, written', `${changes.rowsDeleted}, ${changes.rowsWritten}`],
    ['caught up', caughtUp(changes)],
    ['lag', changes.lagSeconds === null ? 'unknown' : `${changes.lagSeconds} s`],
  ];
}

function caughtUp(changes: AppliedChanges): string {
  if (changes.caughtUp === null) return '-';
  if (changes.caughtUp) return 'yes';
  return `no: ${changes.backlogBytes} bytes of binary log still to read (the next binlog run goes on)`;
}

/** What the finishing step built, and each object not carried or not valid with why. */
export function finishReport(finish: FinishSummary): string[] {
  const { counts } = finish;
  const lines = [
    `Finish: ${finish.status}${finish.error ? ` (${finish.error})` : ''}; ${counts.created} created, ${counts.present} present, ` +
      `${counts.updated} updated, ${counts['not valid']} not valid, ${counts['not carried']} not carried`,
  ];
  for (const o of finish.attention) {
    lines.push(`  ${o.status}: ${o.kind} ${o.table ? `${o.table}.` : ''}${o.name}: ${o.detail}`);
  }
  return lines;
}

function report(outcome: LocalMigrationResult): string {
  const { summary, run, changes } = outcome;
  if (outcome.alreadyRunning) return `Run ${run.runId}: ${outcome.alreadyRunning}`;
  if (!summary) return `Run ${run.runId} failed before any range was copied: ${run.error?.name}: ${run.error?.message}`;
  const copiesRanges = changes === null;
  const lines = columns([
    ['run', summary.runId],
    ['table', summary.table],
    ['mode', summary.mode],
    ['status', summary.status],
    // A binlog run copies no range; a cut-over's ranges are verified, not copied.
    ...(copiesRanges
      ? [
          ['ranges ok', `${summary.ranges - summary.failed} of ${summary.ranges}`],
          ['ranges failed', summary.failed],
          ['rows copied', summary.rows],
        ]
      : []),
    ['seconds', outcome.seconds],
    ...(copiesRanges ? [['rows/s', Math.round(summary.rows / Math.max(outcome.seconds, 0.001))]] : []),
    ...(summary.ranges > 0 ? [['verification', verificationResult(summary)]] : []),
    ...(summary.watermark
      ? [['watermark', `${summary.watermark}${summary.status === 'succeeded' ? '' : ' (not reached: the run failed)'}`]]
      : []),
    ...(changes ? changesReport(changes) : []),
    // Every policy with its setting, so a zero says the policy ran and found nothing.
    ...POLICY_NAMES.map((name) => [
      `${name}: ${summary.policies[name]}`,
      summary.policyCounts[name] + (changes?.policyCounts[name] ?? 0),
    ]),
  ]);
  if (summary.ranges === 0) return lines.join('\n');
  lines.push(
    '',
    ...columns([
      ['range', 'lo', 'hi', 'status', 'rows', 'seconds', 'verification', 'checksum'],
      ...summary.rangeResults.map((r) => [
        `#${r.index}`,
        r.lo ?? '-inf',
        r.hi ?? '+inf',
        r.status,
        r.rows ?? '-',
        r.seconds ?? '-',
        r.verification ?? (summary.verify ? 'not verified' : 'off'),
        r.checksum ? r.checksum.slice(0, 16) : '-',
      ]),
    ]).map((line) => `  ${line}`),
  );
  if (summary.ranges > summary.rangeResults.length) {
    lines.push(
      `  ... ${summary.ranges - summary.rangeResults.length} more: SELECT * FROM migration.ranges WHERE run_id = '${summary.runId}' ORDER BY range_index;`,
    );
  }
  if (summary.schemaNotes.length > 0) {
    lines.push('', 'Created the target table without these source definitions:');
    for (const note of summary.schemaNotes) lines.push(`  ${note}`);
  }
  if (summary.finish) lines.push('', ...finishReport(summary.finish));
  // A cut-over whose changes failed verified nothing: its changes line says why.
  if (summary.failed > 0 && changes?.status !== 'failed') {
    lines.push(
      '',
      copiesRanges
        ? 'Failed ranges (run again with the same flags and --retry-failed to copy just these):'
        : 'Ranges that differ (--retry-failed without --mode copies them again; then cut over again):',
    );
    for (const range of summary.failedRanges)
      lines.push(`  #${range.index} ${formatRange(range)}  ${range.error ?? range.status}`);
  }
  return lines.join('\n');
}

/**
 * The `migrate` command: runs the workflow locally, prints the outcome, returns the exit code.
 * Whatever fails ends in one line on stderr and an exit code, never a stack trace.
 */
export async function main(argv: string[]): Promise<number> {
  try {
    return await migrate(argv);
  } catch (error) {
    const { name, message } = error instanceof Error ? error : new Error(String(error));
    console.error(`migrate failed: ${name}: ${message}`);
    return EXIT.failed;
  }
}

async function migrate(argv: string[]): Promise<number> {
  let flags: ReturnType<typeof migrateFlags>;
  try {
    flags = migrateFlags(argv);
  } catch (error) {
    console.error((error as Error).message);
    return EXIT.usage;
  }
  // Every connection of the run, the functions' and this command's own, reads them from here.
  Object.assign(process.env, flags.tls);
  try {
    await checkReachable(flags.sourceUrl, flags.targetUrl);
  } catch (error) {
    if (!(error instanceof UnreachableError)) throw error;
    console.error(error.message);
    if (flags.json) {
      const { name, message } = error.reason;
      const { table, mode = 'full' } = flags.input;
      console.log(JSON.stringify({ runId: null, status: 'failed', table, mode, error: { name, message } }));
    }
    return EXIT.unreachable;
  }
  if (flags.retryFailed) {
    const last = await lastRunOfTable(flags.targetUrl, flags.input.table!);
    if (!last) {
      console.error(
        `The ledger has no run of ${flags.input.table}: there is nothing to retry; run without --retry-failed`,
      );
      return EXIT.usage;
    }
    if (last.ranges.length === 0) {
      console.error(`Run ${last.runId} of ${flags.input.table} left no range unfinished: nothing to retry`);
      return EXIT.ok;
    }
    console.error(
      `Retrying the ${last.ranges.length} unfinished range${last.ranges.length > 1 ? 's' : ''} of run ${last.runId}`,
    );
    flags.input.ranges = last.ranges;
  }
  const progress = progressBar(process.stderr.isTTY === true);
  const outcome = await migrateLocally({
    sourceUrl: flags.sourceUrl,
    targetUrl: flags.targetUrl,
    input: flags.input,
    onEvent: progress.onEvent,
  });
  progress.stop();
  const status = runStatus(outcome);
  const ok = status === 'succeeded';
  const text = report(outcome);
  if (flags.json) {
    console.error(text);
    const { summary } = outcome;
    console.log(
      JSON.stringify({
        runId: outcome.run.runId,
        status,
        table: flags.input.table,
        mode: flags.input.mode ?? 'full',
        rows: summary?.rows ?? 0,
        ranges: summary?.ranges ?? 0,
        failed: summary?.failed ?? 0,
        failedRanges: summary?.failedRanges ?? [],
        verify: summary?.verify ?? flags.input.verify !== false,
        verifiedRanges: summary?.verifiedRanges ?? 0,
        verifiedRows: summary?.verifiedRows ?? 0,
        mismatchedRanges: summary?.mismatchedRanges ?? 0,
        seconds: outcome.seconds,
        watermark: summary?.watermark ?? null,
        policies: summary?.policies ?? { ...DEFAULT_POLICIES, ...flags.input.policies },
        policyCounts: summary?.policyCounts ?? null,
        schemaNotes: summary?.schemaNotes ?? [],
        changes: outcome.changes,
        finish: summary?.finish ?? null,
        ...whyNotRun(outcome),
      }),
    );
  } else {
    (ok ? console.log : console.error)(text);
  }
  return EXIT_OF_STATUS[status];
}

type RunStatus = 'succeeded' | 'failed' | 'already-running';

const EXIT_OF_STATUS: Record<RunStatus, number> = {
  succeeded: EXIT.ok,
  failed: EXIT.failed,
  'already-running': EXIT.alreadyRunning,
};

/** Every range copied and verified, some not, or nothing done because another run held the table. */
function runStatus(outcome: LocalMigrationResult): RunStatus {
  if (outcome.alreadyRunning) return 'already-running';
  return outcome.run.status === 'SUCCEEDED' && outcome.summary?.failed === 0 ? 'succeeded' : 'failed';
}

/** Why a run has no summary, for the JSON line: the run that held the table, or the error that stopped it. */
function whyNotRun(outcome: LocalMigrationResult): { reason?: string; error?: unknown } {
  if (outcome.alreadyRunning) return { reason: outcome.alreadyRunning };
  return outcome.summary ? {} : { error: outcome.run.error };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
