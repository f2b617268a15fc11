import { z } from 'zod';
import { closePair, openPairFromUrls } from '../../functions/core/connections.js';
import { seedUsers } from '../local/seed.js';
import { type SoakRunResult, seededRandom, soakRun, tableDifferences } from '../local/soak.js';
import {
  LOCAL_SOURCE_URL,
  LOCAL_TARGET_URL,
  parseFlags,
  sourceUrlFlag,
  TLS_FLAGS,
  targetUrlFlag,
  tlsVariables,
  UsageError,
} from './flags.js';

const USAGE = `Usage: npm run soak -- [--runs 20] [--rows 20000] [--chunk-rows 1000] [--concurrency 3] [--kills 3]
                        [--seed 1] [--deadline-seconds 60] [--table soak_users] [--json]
                        [--source mysql://...] [--target postgres://...] [--source-tls ...] [--target-tls ...] [--ca-bundle ...]`;

const count = () => z.coerce.number().int().positive();
const SOAK_FLAGS = {
  source: sourceUrlFlag().default(LOCAL_SOURCE_URL),
  target: targetUrlFlag().default(LOCAL_TARGET_URL),
  table: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a plain table name')
    .default('soak_users'),
  runs: count().default(20),
  rows: count().default(20_000),
  'chunk-rows': count().default(1_000),
  concurrency: count().max(64).default(3),
  kills: z.coerce.number().int().min(0).default(3),
  seed: z.coerce.number().int().min(0).default(1),
  'deadline-seconds': count().default(60),
  json: z.boolean().default(false),
  ...TLS_FLAGS,
};

/**
 * Seeds a table, then runs the workflow on it `--runs` times while killing the tool's connections
 * on both databases at random moments of Plan, CopyRange and VerifyRange, and says how each run
 * ended. Exits 0 when every run ended exact, or healed by a retry of its failed ranges; 1 when a
 * run hung, left a range unreported, or left the target wrong. It kills only connections to the
 * databases it is given, opened after each run started: run it against databases of its own.
 */
export async function main(argv: string[]): Promise<number> {
  let flags: z.infer<z.ZodObject<typeof SOAK_FLAGS>>;
  try {
    flags = parseFlags(argv, SOAK_FLAGS).flags;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`${error.message}\n${USAGE}`);
    return 2;
  }
  Object.assign(process.env, tlsVariables(flags));
  const pair = await openPairFromUrls(flags.source, flags.target);
  const results: SoakRunResult[] = [];
  try {
    console.error(`Seeding ${flags.rows} rows into ${flags.table}; ${flags.runs} runs, seed ${flags.seed}`);
    await seedUsers(pair.source, { table: flags.table, rows: flags.rows });
    const random = seededRandom(flags.seed);
    for (let run = 1; run <= flags.runs; run++) {
      const result = await soakRun({
        sourceUrl: flags.source,
        targetUrl: flags.target,
        table: flags.table,
        chunkRows: flags['chunk-rows'],
        concurrency: flags.concurrency,
        kills: flags.kills,
        killDelayMs: 200,
        deadlineMs: flags['deadline-seconds'] * 1000,
        retryIntervalMs: 50,
        random,
        differences: (table) => tableDifferences(pair, table),
      });
      results.push(result);
      const kills = result.kills.map((kill) => `${kill.step}/${kill.side}×${kill.connections}`).join(' ') || 'none';
      console.error(
        `run ${run}: ${result.outcome} in ${result.seconds} s, ${result.retries} retries, ` +
          `${result.failedRanges} failed ranges; kills: ${kills}${result.detail ? `; ${result.detail}` : ''}`,
      );
      // A hung run still holds its connections and the table: nothing after it would mean anything.
      if (result.outcome === 'hung') break;
    }
  } finally {
    await closePair(pair);
  }
  const totals = soakTotals(results);
  if (flags.json) console.log(JSON.stringify({ seed: flags.seed, ...totals, results }));
  else console.log(formatTotals(totals, flags.seed));
  return totals.defects === 0 ? 0 : 1;
}

/** What a soak did, in all: runs, kills by step and database, outcomes. */
export function soakTotals(results: SoakRunResult[]) {
  const tally = (keys: string[]) => {
    const counts: Record<string, number> = {};
    for (const key of keys) counts[key] = (counts[key] ?? 0) + 1;
    return counts;
  };
  const kills = results.flatMap((result) => result.kills);
  const outcomes = tally(results.map((result) => result.outcome));
  return {
    runs: results.length,
    kills: kills.length,
    connectionsKilled: kills.reduce((sum, kill) => sum + kill.connections, 0),
    killsByStep: tally(kills.map((kill) => `${kill.step} ${kill.side}`)),
    outcomes,
    retries: results.reduce((sum, result) => sum + result.retries, 0),
    failedRanges: results.reduce((sum, result) => sum + result.failedRanges, 0),
    longestRunSeconds: Math.max(0, ...results.map((result) => result.seconds)),
    defects: results.length - (outcomes.exact ?? 0) - (outcomes.healed ?? 0),
  };
}

function formatTotals(totals: ReturnType<typeof soakTotals>, seed: number): string {
  const list = (counts: Record<string, number>) =>
    Object.entries(counts)
      .map(([key, n]) => `${key} ${n}`)
      .join(', ');
  return [
    `runs ${totals.runs} (seed ${seed}): ${list(totals.outcomes)}`,
    `kills ${totals.kills} (${totals.connectionsKilled} connections): ${list(totals.killsByStep)}`,
    `retries ${totals.retries}, failed ranges ${totals.failedRanges}, longest run ${totals.longestRunSeconds} s`,
    totals.defects === 0 ? 'no hang, no unreported range, every target exact' : `${totals.defects} runs with a defect`,
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // A failure of the soak itself (a database it cannot reach) is one line, not a stack trace.
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: Error) => {
      console.error(`soak failed: ${error.name}: ${error.message}`);
      process.exit(1);
    },
  );
}
