import { z } from 'zod';
import { closeSource, endpointFromUrl, openSource } from '../../functions/core/connections.js';
import { DEFAULT_PAGE_LIMITS } from '../../functions/core/items.js';
import { rangesBetween } from '../../functions/core/ranges.js';
import { seedUsers } from '../local/seed.js';
import { LOCAL_SOURCE_URL, LOCAL_TARGET_URL, parseFlags, sourceUrlFlag, targetUrlFlag, UsageError } from './flags.js';

/**
 * The numbers of docs/SCALE.md, computed: `npm run scale` prints the section that the document
 * carries between its markers, and a test keeps the two equal. `npm run scale -- --run` runs a
 * table of that many ranges through the local workflow, as docs/SCALE.md reports it.
 */

/** Rates: measured here (see docs/SCALE.md), then rounded down for Lambda and a remote database. */
export const ASSUMED = {
  /** Rows per second one CopyRange streams, MySQL → encoder → COPY, on one vCPU (1,769 MB). */
  copyRowsPerSecond: 40_000,
  /** Rows per second the target takes through COPY from all copies together. */
  targetRowsPerSecond: 250_000,
  /** Keys per second Plan's index walk reads (one `LIMIT 1 OFFSET n` per range). */
  walkKeysPerSecond: 2_000_000,
  /** CopyRange's memory, as the stack sizes it. */
  copyMemoryMb: 1769,
  /**
   * Step Functions transitions: per range (enter CopyRange, leave it), per page of items
   * (ReadItems, CopyRanges, MoreItems), and per execution (Plan, FirstItems, Summarize, end).
   */
  transitionsPerRange: 2,
  transitionsPerPage: 3,
  transitionsPerExecution: 4,
  /** Events a page adds to the parent execution's history: ReadItems's task events, the Map Run's, MoreItems. */
  parentEventsPerPage: 14,
  /** Lambda keeps this share of its 15 minutes in reserve for a slow range. */
  rangeBudgetShare: 0.5,
} as const;

/** Public list prices (us-east-1, USD) at the time of writing: check the pricing pages for yours. */
export const PRICES = {
  lambdaArmGbSecond: 0.0000133334,
  lambdaRequest: 0.2 / 1_000_000,
  stateTransition: 0.025 / 1_000,
  sqsRequest: 0.4 / 1_000_000,
  secretsManagerCall: 0.05 / 10_000,
} as const;

const LAMBDA_SECONDS = 15 * 60;

/** Bytes a range item takes in a page (its JSON and a comma), on average over 1,000 ranges with keys of `keyDigits` digits. */
export function rangeBytes(keyDigits: number): number {
  const base = 10n ** BigInt(keyDigits - 1);
  const boundaries = Array.from({ length: 1_000 }, (_, i) => String(base + BigInt(i * 7)));
  // An item names its table (and, in an incremental run, its changed rows): as Plan records it.
  const ranges = rangesBetween(boundaries)
    .slice(1, -1)
    .map((range) => ({ table: 'users', ...range, changes: null }));
  return ranges.reduce((sum, range) => sum + Buffer.byteLength(JSON.stringify(range)) + 1, 0) / ranges.length;
}

/** How many range items one page carries: ReadItems's item count, unless the page's byte budget is reached first. */
export function rangesPerPage(keyDigits: number): number {
  return Math.min(DEFAULT_PAGE_LIMITS.items, Math.floor(DEFAULT_PAGE_LIMITS.bytes / rangeBytes(keyDigits)));
}

// Step Functions' cap on one execution's history.
const HISTORY_EVENTS = 25_000;

/** The most pages (and so ranges) one execution's history holds, keeping a tenth of it for retries and the rest. */
export function maxPages(): number {
  return Math.floor((HISTORY_EVENTS * 0.9) / ASSUMED.parentEventsPerPage);
}

export interface Run {
  rows: number;
  chunkRows: number;
  concurrency: number;
}

/** What one run costs in time and money, by the formulas of docs/SCALE.md. */
export function estimate({ rows, chunkRows, concurrency }: Run) {
  const ranges = Math.ceil(rows / chunkRows);
  // The copies share the target: past its rate, more of them only wait longer each.
  const perCopyRowsPerSecond = Math.min(ASSUMED.copyRowsPerSecond, ASSUMED.targetRowsPerSecond / concurrency);
  const rangeSeconds = chunkRows / perCopyRowsPerSecond;
  const planSeconds = rows / ASSUMED.walkKeysPerSecond;
  const copySeconds = Math.ceil(ranges / concurrency) * rangeSeconds;
  const gbSeconds = (rows / perCopyRowsPerSecond) * (ASSUMED.copyMemoryMb / 1024);
  const pages = Math.max(1, Math.ceil(ranges / DEFAULT_PAGE_LIMITS.items));
  const transitions =
    ranges * ASSUMED.transitionsPerRange + pages * ASSUMED.transitionsPerPage + ASSUMED.transitionsPerExecution;
  const cost = {
    lambda: gbSeconds * PRICES.lambdaArmGbSecond + ranges * PRICES.lambdaRequest,
    stepFunctions: transitions * PRICES.stateTransition,
    // Only a failed range sends a message; this is the worst case, every range failing.
    sqsWorstCase: ranges * PRICES.sqsRequest,
    // At most two secret reads per invocation (cold starts read, warm ones use the cache).
    secretsWorstCase: 2 * (ranges + 2) * PRICES.secretsManagerCall,
  };
  return {
    ranges,
    pages,
    perCopyRowsPerSecond,
    rangeSeconds,
    rangeFitsBudget: rangeSeconds <= LAMBDA_SECONDS * ASSUMED.rangeBudgetShare,
    planSeconds,
    planFitsBudget: planSeconds <= LAMBDA_SECONDS * ASSUMED.rangeBudgetShare,
    minutes: (planSeconds + copySeconds) / 60,
    gbSeconds,
    transitions,
    cost,
    total: Object.values(cost).reduce((sum, dollars) => sum + dollars, 0),
  };
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const usd = (n: number) => `$${n < 0.01 ? n.toFixed(4) : n.toFixed(2)}`;

/** The checked section of docs/SCALE.md. */
export function scaleReport(): string {
  const lines: string[] = [];
  const pages = maxPages();
  lines.push(
    '| key digits | bytes per range (JSON) | ranges per page | pages for 10^5 ranges | most ranges per execution |',
    '|---|---|---|---|---|',
  );
  for (const digits of [7, 10, 13, 19]) {
    const perPage = rangesPerPage(digits);
    lines.push(
      `| ${digits} | ${rangeBytes(digits).toFixed(1)} | ${int(perPage)} | ${int(Math.ceil(1e5 / perPage))} | ${int(pages * perPage)} |`,
    );
  }
  lines.push(
    '',
    '| rows | chunkRows | concurrency | ranges | pages | rows/s per copy | seconds per range | Plan walk (s) | minutes | Lambda GB-s | transitions | Lambda | Step Functions | SQS (worst) | Secrets (worst) | total |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  );
  const runs: Run[] = [
    { rows: 1e8, chunkRows: 100_000, concurrency: 4 },
    { rows: 1e8, chunkRows: 100_000, concurrency: 6 },
    { rows: 1e8, chunkRows: 100_000, concurrency: 16 },
    { rows: 1e9, chunkRows: 500_000, concurrency: 6 },
    { rows: 1e9, chunkRows: 1_000_000, concurrency: 6 },
    { rows: 1e9, chunkRows: 10_000, concurrency: 6 },
  ];
  for (const run of runs) {
    const e = estimate(run);
    lines.push(
      `| ${int(run.rows)} | ${int(run.chunkRows)} | ${run.concurrency} | ${int(e.ranges)} | ${int(e.pages)} | ${int(e.perCopyRowsPerSecond)} | ${int(e.rangeSeconds)} | ` +
        `${int(e.planSeconds)} | ${e.minutes.toFixed(1)} | ${int(e.gbSeconds)} | ${int(e.transitions)} | ${usd(e.cost.lambda)} | ${usd(e.cost.stepFunctions)} | ` +
        `${usd(e.cost.sqsWorstCase)} | ${usd(e.cost.secretsWorstCase)} | ${usd(e.total)} |`,
    );
  }
  const budgetRows = LAMBDA_SECONDS * ASSUMED.rangeBudgetShare * ASSUMED.copyRowsPerSecond;
  const walkRows = LAMBDA_SECONDS * ASSUMED.rangeBudgetShare * ASSUMED.walkKeysPerSecond;
  lines.push(
    '',
    `- Largest chunkRows inside half of Lambda's 15 minutes at ${int(ASSUMED.copyRowsPerSecond)} rows/s per copy: ${int(budgetRows)}.`,
    `- Largest table Plan walks inside half of Lambda's 15 minutes at ${int(ASSUMED.walkKeysPerSecond)} keys/s: ${int(walkRows)} rows.`,
    `- Concurrency past which copies only wait on the target (${int(ASSUMED.targetRowsPerSecond)} / ${int(ASSUMED.copyRowsPerSecond)} rows/s): ${int(Math.ceil(ASSUMED.targetRowsPerSecond / ASSUMED.copyRowsPerSecond))}.`,
  );
  return lines.join('\n');
}

const USAGE = 'Usage: npm run scale -- [--run [--ranges 10000] [--source mysql://...] [--target postgres://...]]';

const SCALE_FLAGS = {
  run: z.boolean().optional(),
  ranges: z.coerce.number().int().positive().default(10_000),
  source: sourceUrlFlag().default(LOCAL_SOURCE_URL),
  target: targetUrlFlag().default(LOCAL_TARGET_URL),
};

// Rows per range of the local run: small, so the run shows the per-range cost, not the rows'.
const RUN_CHUNK_ROWS = 10;

/**
 * Prints the checked numbers; with --run, seeds `scale_users` with ten rows per range and
 * migrates it locally (verified, 8 at a time), its ranges read from the ledger a page at a time.
 */
async function main(argv: string[]): Promise<number> {
  let flags: z.infer<z.ZodObject<typeof SCALE_FLAGS>>;
  try {
    flags = parseFlags(argv, SCALE_FLAGS).flags;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`${error.message}\n${USAGE}`);
    return 2;
  }
  if (!flags.run) {
    console.log(scaleReport());
    return 0;
  }
  const rows = flags.ranges * RUN_CHUNK_ROWS;
  const source = await openSource(endpointFromUrl(flags.source, 'source'));
  try {
    console.error(`Seeding ${int(rows)} rows into scale_users: ${int(flags.ranges)} ranges of ${RUN_CHUNK_ROWS}...`);
    await seedUsers(source, { table: 'scale_users', rows });
  } finally {
    await closeSource(source);
  }
  // Loaded only here: the report above needs no workflow.
  const { main: migrate } = await import('./migrate.js');
  return migrate([
    ...['--source', flags.source, '--target', flags.target, '--table', 'scale_users'],
    ...['--chunk-rows', String(RUN_CHUNK_ROWS), '--concurrency', '8'],
  ]);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exit(await main(process.argv.slice(2)));
}
