import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { z } from 'zod';
import { executionInputSchema, formatIssues } from '../functions/core/input.js';
import { STATE } from './workflow.js';
import { migrateLocally, type LocalMigrationResult } from './local/local-migration.js';
import type { WorkflowEvent } from './local/runner.js';

const USAGE = `Usage: npm run migrate -- --source mysql://user[:pass]@host:port/db --target postgres://user[:pass]@host:port/db
                           --table users [--chunk-rows 100000] [--concurrency 4] [--json]`;

const flagsSchema = z.strictObject({
  source: z.string({ error: 'is required' }).startsWith('mysql://', 'must be a mysql:// URL'),
  target: z.string({ error: 'is required' }).regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
  table: z.string({ error: 'is required' }),
  'chunk-rows': z.coerce.number().optional(),
  concurrency: z.coerce.number().optional(),
  json: z.boolean().default(false),
});

/** Parses the flags into the execution input the workflow receives; exits 2 with the reason when they are wrong. */
export function parseFlags(argv: string[]) {
  let values: Record<string, unknown>;
  try {
    values = parseArgs({
      args: argv,
      options: {
        source: { type: 'string' },
        target: { type: 'string' },
        table: { type: 'string' },
        'chunk-rows': { type: 'string' },
        concurrency: { type: 'string' },
        json: { type: 'boolean' },
      },
      strict: true,
    }).values;
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${USAGE}`);
  }
  const flags = flagsSchema.safeParse(values);
  if (!flags.success) throw new Error(`${formatIssues(flags.error).replace(/"([a-z-]+)"/g, '--$1')}\n${USAGE}`);
  const input = executionInputSchema.safeParse({
    table: flags.data.table,
    chunkRows: flags.data['chunk-rows'],
    concurrency: flags.data.concurrency,
  });
  if (!input.success) {
    throw new Error(`${formatIssues(input.error).replace('"chunkRows"', '--chunk-rows').replace(/"(table|concurrency)"/, '--$1')}\n${USAGE}`);
  }
  return { sourceUrl: flags.data.source, targetUrl: flags.data.target, input: input.data, json: flags.data.json };
}

/** A progress bar on stderr fed by the workflow's own events: ranges done of planned, rows, rows/s. */
function progressBar(enabled: boolean) {
  const bar = new cliProgress.SingleBar(
    { format: 'CopyRanges [{bar}] {value}/{total} ranges | {rows} rows | {rate} rows/s | ETA {eta_formatted}', hideCursor: true, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  let rows = 0;
  let started = 0;
  const onEvent = (event: WorkflowEvent) => {
    if (!enabled || !('state' in event) || !event.state) return;
    const { name } = event.state;
    if (event.type === 'StateExited' && name === STATE.plan) {
      started = Date.now();
      bar.start((event.state.output as { ranges: unknown[] }).ranges.length, 0, { rows: 0, rate: 0 });
    } else if ((event.type === 'StateExited' && name === STATE.copyRange) || (event.type === 'StateCaught' && name === STATE.copyRange)) {
      if (event.type === 'StateExited') rows += (event.state.output as { rows: number }).rows;
      const rate = Math.round(rows / Math.max(0.001, (Date.now() - started) / 1000));
      bar.increment(1, { rows, rate });
    }
  };
  return { onEvent, stop: () => enabled && bar.stop() };
}

function report(outcome: LocalMigrationResult): string {
  const { summary, run } = outcome;
  const lines: string[] = [];
  if (!summary) {
    lines.push(`Run ${run.runId} failed before any range was copied: ${run.error?.name}: ${run.error?.message}`);
    return lines.join('\n');
  }
  const rate = Math.round(summary.rows / Math.max(outcome.seconds, 0.001));
  const rows: [string, string | number][] = [
    ['run', summary.runId],
    ['table', summary.table],
    ['status', summary.status],
    ['ranges copied', `${summary.copiedRanges} of ${summary.ranges}`],
    ['ranges failed', summary.failed],
    ['rows', summary.rows],
    ['seconds', outcome.seconds],
    ['rows/s', rate],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  lines.push(...rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`));
  if (summary.failed > 0) {
    lines.push('', 'Failed ranges (also on the failed-batches queue):');
    for (const range of summary.failedRanges) lines.push(`  #${range.index} [${range.lo ?? '-inf'}, ${range.hi ?? '+inf'})  ${range.error ?? range.status}`);
  }
  return lines.join('\n');
}

/** The `migrate` command: runs the workflow locally, prints the outcome, returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  let flags: ReturnType<typeof parseFlags>;
  try {
    flags = parseFlags(argv);
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  const progress = progressBar(process.stderr.isTTY === true);
  const outcome = await migrateLocally({ sourceUrl: flags.sourceUrl, targetUrl: flags.targetUrl, input: flags.input, onEvent: progress.onEvent });
  progress.stop();
  const ok = outcome.run.status === 'SUCCEEDED' && outcome.summary?.failed === 0;
  const text = report(outcome);
  if (flags.json) {
    console.error(text);
    const { summary } = outcome;
    console.log(
      JSON.stringify({
        runId: outcome.run.runId,
        status: ok ? 'succeeded' : 'failed',
        table: flags.input.table,
        rows: summary?.rows ?? 0,
        ranges: summary?.ranges ?? 0,
        failed: summary?.failed ?? 0,
        failedRanges: summary?.failedRanges ?? [],
        seconds: outcome.seconds,
        ...(summary ? {} : { error: outcome.run.error }),
      }),
    );
  } else {
    (ok ? console.log : console.error)(text);
  }
  return ok ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
