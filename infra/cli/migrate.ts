import cliProgress from 'cli-progress';
import { z } from 'zod';
import type { AppliedChanges } from '../../functions/core/binlog/applied-changes.js';
import { type BinlogPosition, formatPosition } from '../../functions/core/binlog/position.js';
import { closeSource, closeTarget, endpointFromUrl, openSource, openTarget } from '../../functions/core/connections.js';
import type { FinishSummary } from '../../functions/core/finish/record.js';
import { lastRunOf, type RunSummary, type TableSummary, type UnfinishedRun } from '../../functions/core/ledger.js';
import { DEFAULT_POLICIES, POLICY_NAMES } from '../../functions/core/policies.js';
import { formatRange } from '../../functions/core/ranges.js';
import { STATE } from '../cdk/states.js';
import { type LocalMigrationResult, migrateLocally } from '../local/local-migration.js';
import type { WorkflowEvent } from '../local/runner.js';
import { parseFlags, sourceUrlFlag, TLS_FLAGS, targetUrlFlag, tlsVariables, UsageError } from './flags.js';
import { executionInputFromFlags, INPUT_FLAGS } from './input-flags.js';

const USAGE = `Usage: npm run migrate -- --source mysql://user[:pass]@host:port/db --target postgres://user[:pass]@host:port/db
                           [--table users | --tables users,orders] [--exclude-tables 'audit_*,tmp'] [--chunk-rows 100000] [--chunk-bytes 268435456] [--concurrency 4] [--retry-failed] [--verify checksum|rows] [--no-verify] [--json]
                           [--source-tls verify-full|require|off] [--target-tls verify-full|require|off] [--ca-bundle ca.pem]
                           [--mode full|incremental|binlog|cutover] [--change-column updated_at] [--overlap-seconds 60] [--quiet-seconds 10]
                           [--zero-dates null|fail] [--nul-bytes fail|strip] [--tinyint1 fail|nonzero-true] [--empty-enum keep|null|fail]
                           [--spatial bytea|fail]`;

/**
 * Exit codes: every range copied, some failed (or the command itself failed), the flags are
 * wrong, another run held the table, a database cannot be reached, the run was stopped (Ctrl-C,
 * SIGTERM: 128 + SIGINT, as shells report it).
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, alreadyRunning: 3, unreachable: 4, interrupted: 130 } as const;

// The execution input's own flags are checked by its schema (executionInputFromFlags).
const MIGRATE_FLAGS = {
  source: sourceUrlFlag(),
  target: targetUrlFlag(),
  ...INPUT_FLAGS,
  ...TLS_FLAGS,
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
async function lastRunOfTable(targetUrl: string, table: string | null): Promise<UnfinishedRun | null> {
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
 * after CopyRange and VerifyRange, or after its failure is queued) of planned, tables done of
 * planned and the biggest ones still going, rows, rows/s, ETA.
 */
function progressBar(enabled: boolean) {
  const bar = new cliProgress.SingleBar(
    {
      format:
        'CopyRanges [{bar}] {value}/{total} ranges ({failed} failed) | {tables} | {rows} rows | {rate} rows/s | ETA {eta_formatted}',
      hideCursor: true,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  let rows = 0;
  let failed = 0;
  let started = 0;
  const tables = new TableProgress();
  const rate = () => Math.round(rows / Math.max(0.001, (Date.now() - started) / 1000));
  const onEvent = (event: WorkflowEvent) => {
    if (!enabled) return;
    if (event.type === 'MapIterationSucceeded' || event.type === 'MapIterationFailed') {
      tables.rangeDone(event.index);
      bar.increment(1, { rows, failed, rate: rate(), tables: tables.describe() });
      return;
    }
    if (event.type !== 'StateExited' || !('state' in event) || !event.state) return;
    const { name, output } = event.state;
    // A Plan that found the table busy exits with no item count: there is nothing to show.
    const planned = name === STATE.plan ? (output as { items?: number }).items : undefined;
    if (planned !== undefined) {
      started = Date.now();
      tables.expect((output as { tables: string[] }).tables.length);
      bar.start(planned, 0, { rows, failed, rate: 0, tables: tables.describe() });
    } else if (name === STATE.readItems) {
      // Each page of items names the table of every range the Map is about to run.
      tables.page((output as { page: { items: { table: string }[] } }).page.items.map((item) => item.table));
    } else if (name === STATE.copyRange) {
      rows += (output as { copied: { rows: number } }).copied.rows;
      bar.update({ rows, rate: rate() });
    } else if (name === STATE.sendFailedBatch) {
      failed++;
    }
  };
  return { onEvent, stop: () => enabled && bar.stop() };
}

/**
 * Tables done of planned, from the pages of items the Map runs: which table each range of the
 * current page is of, and how many of each table's ranges seen so far are left.
 */
export class TableProgress {
  private planned = 0;
  private tableOfRange: string[] = [];
  private readonly left = new Map<string, number>();
  private readonly total = new Map<string, number>();

  /** How many tables the run has (Plan's tables). */
  expect(tables: number): void {
    this.planned = tables;
  }

  /** The next page of items, each named by its table: the Map's iterations are numbered within it. */
  page(tableOfRange: string[]): void {
    this.tableOfRange = tableOfRange;
    for (const table of tableOfRange) {
      this.left.set(table, (this.left.get(table) ?? 0) + 1);
      this.total.set(table, (this.total.get(table) ?? 0) + 1);
    }
  }

  rangeDone(index: number): void {
    const table = this.tableOfRange[index];
    if (table !== undefined) this.left.set(table, (this.left.get(table) ?? 1) - 1);
  }

  /** `3/16 tables; film 4/9, rental 2/6`: tables done of planned, then the two with most ranges left. */
  describe(): string {
    const done = [...this.left.values()].filter((left) => left === 0).length;
    const going = [...this.left]
      .filter(([, left]) => left > 0)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 2)
      .map(([table, left]) => {
        const total = this.total.get(table)!;
        return `${table} ${total - left}/${total}`;
      });
    return `${done}/${Math.max(this.planned, this.total.size)} tables${going.length ? `; ${going.join(', ')}` : ''}`;
  }
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

/** `14 of 16 migrated, 2 refused`: the run's tables at a glance. */
function tablesDone(summary: RunSummary): string {
  const done = summary.tableCount - summary.refusedTables - summary.failedTables;
  const refused = summary.refusedTables > 0 ? `, ${summary.refusedTables} refused` : '';
  return `${done} of ${summary.tableCount} migrated${refused}`;
}

/** One line per table: rows, ranges, what verification found, or why the table was refused. */
function tableReport(summary: RunSummary): string[] {
  return columns([
    ['table', 'rows', 'ranges', 'verification', 'note'],
    ...summary.tables.map((table) => [
      table.table,
      table.refused === null ? table.rows : '-',
      table.refused === null ? `${table.ranges - table.failed} of ${table.ranges} ok` : '-',
      tableVerification(summary, table),
      tableNote(table),
    ]),
  ]);
}

function tableNote(table: TableSummary): string {
  if (table.refused !== null) return `refused: ${table.refused}`;
  return table.whole ?? '';
}

function tableVerification(summary: RunSummary, table: TableSummary): string {
  if (table.refused !== null) return '-';
  if (!summary.verify) return 'off';
  if (table.mismatchedRanges > 0) return `${table.mismatchedRanges} ranges differ`;
  return table.verifiedRanges === table.ranges ? 'exact' : `${table.verifiedRanges} of ${table.ranges} verified`;
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
  if (run.status === 'ABORTED') {
    return `Run ${run.runId} was stopped; its tables are free again. What it copied stays; run again, or with --retry-failed to copy only what it left`;
  }
  if (!summary) return `Run ${run.runId} failed before any range was copied: ${run.error?.name}: ${run.error?.message}`;
  const copiesRanges = changes === null;
  const lines = columns([
    ['run', summary.runId],
    summary.tableCount > 1 ? ['tables', tablesDone(summary)] : ['table', summary.table],
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
  if (summary.tableCount > 1) lines.push('', ...tableReport(summary).map((line) => `  ${line}`));
  if (summary.tableCount > summary.tables.length) {
    lines.push(
      `  ... ${summary.tableCount - summary.tables.length} more: SELECT * FROM migration.run_tables WHERE run_id = '${summary.runId}';`,
    );
  }
  if (summary.ranges === 0) return lines.join('\n');
  const several = summary.tableCount > 1;
  lines.push(
    '',
    ...columns([
      ['range', ...(several ? ['table'] : []), 'lo', 'hi', 'status', 'rows', 'seconds', 'verification', 'checksum'],
      ...summary.rangeResults.map((r) => [
        `#${r.index}`,
        ...(several ? [r.table] : []),
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
      lines.push(
        `  #${range.index} ${several ? `${range.table} ` : ''}${formatRange(range)}  ${range.error ?? range.status}`,
      );
  }
  return lines.join('\n');
}

/**
 * Turns the input into a retry of what the last run left unfinished: of `--table`, or of the last
 * run of any tables (a whole database's) when no table is named. Returns an exit code when there
 * is nothing to run, null when the input is ready.
 */
async function retryInput(flags: ReturnType<typeof migrateFlags>): Promise<number | null> {
  const { table, tables } = flags.input;
  if (tables !== undefined) {
    console.error(`--retry-failed retries the last run as it was: give --table, or no table at all\n${USAGE}`);
    return EXIT.usage;
  }
  const what = table ?? 'any table';
  const last = await lastRunOfTable(flags.targetUrl, table ?? null);
  if (!last) {
    console.error(`The ledger has no run of ${what}: there is nothing to retry; run without --retry-failed`);
    return EXIT.usage;
  }
  if (last.ranges.length === 0) {
    console.error(`Run ${last.runId} of ${table ?? last.tables.join(', ')} left no range unfinished: nothing to retry`);
    return EXIT.ok;
  }
  console.error(
    `Retrying the ${last.ranges.length} unfinished range${last.ranges.length > 1 ? 's' : ''} of run ${last.runId}`,
  );
  if (table !== undefined) {
    flags.input.ranges = last.ranges.map(({ lo, hi }) => ({ lo, hi }));
  } else {
    // Each range names its table: the run copies those tables' ranges and nothing else.
    flags.input.tables = [...new Set(last.ranges.map((range) => range.table))];
    flags.input.ranges = last.ranges.map(({ table: of, lo, hi }) => ({ table: of, lo, hi }));
  }
  return null;
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
    const code = await retryInput(flags);
    if (code !== null) return code;
  }
  const progress = progressBar(process.stderr.isTTY === true);
  const stopping = stopOnSignals(progress.stop);
  const outcome = await migrateLocally({
    sourceUrl: flags.sourceUrl,
    targetUrl: flags.targetUrl,
    input: flags.input,
    onEvent: progress.onEvent,
    signal: stopping.signal,
  }).finally(stopping.done);
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
        table: summary?.table ?? flags.input.table ?? null,
        tables: summary?.tables ?? [],
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

type RunStatus = 'succeeded' | 'failed' | 'already-running' | 'interrupted';

const EXIT_OF_STATUS: Record<RunStatus, number> = {
  succeeded: EXIT.ok,
  failed: EXIT.failed,
  'already-running': EXIT.alreadyRunning,
  interrupted: EXIT.interrupted,
};

/**
 * The first Ctrl-C (or SIGTERM) stops the run, which then gives its tables back before the
 * command exits; a second one exits at once, leaving them to their leases' expiry.
 */
function stopOnSignals(beforeExit: () => void): { signal: AbortSignal; done: () => void } {
  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      process.exit(EXIT.interrupted);
    }
    beforeExit();
    console.error(`${signal}: stopping the run and giving its tables back (again to quit at once)`);
    controller.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return {
    signal: controller.signal,
    done: () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}

/** Every range copied and verified, some not, nothing done because another run held the table, or stopped. */
function runStatus(outcome: LocalMigrationResult): RunStatus {
  if (outcome.run.status === 'ABORTED') return 'interrupted';
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
