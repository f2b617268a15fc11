import type { PlanResult } from '../../functions/core/plan.js';
import { MAX_PLAN_BYTES } from '../../functions/core/plan.js';
import { DEFAULT_POLICIES } from '../../functions/core/policies.js';
import { rangesBetween } from '../../functions/core/ranges.js';

/**
 * The numbers of docs/SCALE.md, computed: `npm run scale` prints the section that the document
 * carries between its markers, and a test keeps the two equal.
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
  /** Step Functions transitions: per range (enter CopyRange, leave it), and per execution (Plan, CopyRanges, Summarize, end). */
  transitionsPerRange: 2,
  transitionsPerExecution: 4,
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

/** Bytes a full run's Plan result takes with `ranges` ranges over keys of `keyDigits` digits (execution ARN and run id as the console makes them). */
export function planBytes(ranges: number, keyDigits: number): number {
  const base = 10 ** (keyDigits - 1);
  const boundaries = Array.from({ length: ranges - 1 }, (_, i) => String(base + i * 7));
  const result: PlanResult = {
    runId: '0f8e6c1a-2b3d-4e5f-9a8b-7c6d5e4f3a2b',
    execution:
      'arn:aws:states:eu-west-1:123456789012:execution:MigrationC13A4580-AbCdEfGhIjKl:0f8e6c1a-2b3d-4e5f-9a8b-7c6d5e4f3a2b',
    table: 'users',
    mode: 'full',
    concurrency: 16,
    changes: null,
    policies: DEFAULT_POLICIES,
    verify: true,
    ranges: rangesBetween(boundaries),
  };
  return Buffer.byteLength(JSON.stringify(result));
}

/** The most ranges one execution's state carries under Plan's limit. */
export function maxRanges(keyDigits: number): number {
  let low = 1;
  let high = 100_000;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (planBytes(mid, keyDigits) <= MAX_PLAN_BYTES) low = mid;
    else high = mid - 1;
  }
  return low;
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
  const transitions = ranges * ASSUMED.transitionsPerRange + ASSUMED.transitionsPerExecution;
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
  lines.push(
    '| key digits | bytes per range (JSON) | most ranges under 200 KiB | smallest chunkRows for 10^9 rows |',
    '|---|---|---|---|',
  );
  for (const digits of [7, 10, 13, 19]) {
    const most = maxRanges(digits);
    const perRange = (planBytes(1001, digits) - planBytes(1, digits)) / 1000;
    lines.push(`| ${digits} | ${perRange.toFixed(1)} | ${int(most)} | ${int(Math.ceil(1e9 / most))} |`);
  }
  lines.push(
    '',
    '| rows | chunkRows | concurrency | ranges | rows/s per copy | seconds per range | Plan walk (s) | minutes | Lambda GB-s | transitions | Lambda | Step Functions | SQS (worst) | Secrets (worst) | total |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  );
  const runs: Run[] = [
    { rows: 1e8, chunkRows: 100_000, concurrency: 4 },
    { rows: 1e8, chunkRows: 100_000, concurrency: 6 },
    { rows: 1e8, chunkRows: 100_000, concurrency: 16 },
    { rows: 1e9, chunkRows: 500_000, concurrency: 6 },
    { rows: 1e9, chunkRows: 1_000_000, concurrency: 6 },
  ];
  for (const run of runs) {
    const e = estimate(run);
    lines.push(
      `| ${int(run.rows)} | ${int(run.chunkRows)} | ${run.concurrency} | ${int(e.ranges)} | ${int(e.perCopyRowsPerSecond)} | ${int(e.rangeSeconds)} | ` +
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

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(scaleReport());
}
