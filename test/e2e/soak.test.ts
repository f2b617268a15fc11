import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ConnectionPair } from '../../functions/core/connections.js';
import { seedUsers } from '../../infra/local/seed.js';
import { type SoakRunResult, seededRandom, soakRun } from '../../infra/local/soak.js';
import { closePair, dropTables, openPair, SOURCE_URL, TARGET_URL } from '../support/databases.js';
import { within } from '../support/deadline.js';
import { compareTable } from '../support/exactness.js';

const TABLE = 'soak_users';
const RUNS = 4;
// Longer than any run with its retries takes; a run still going then has hung.
const RUN_DEADLINE_MS = 45_000;
// Printed with a failure, so the kill plan that found it can be replayed.
const SEED = Number(process.env.SOAK_SEED ?? Date.now() % 1_000_000);

describe(`fault soak: ${RUNS} runs, connections killed on both databases at random moments of Plan, CopyRange and VerifyRange (seed ${SEED})`, () => {
  let pair: ConnectionPair;
  const results: SoakRunResult[] = [];
  const random = seededRandom(SEED);
  before(async () => {
    pair = await openPair();
    await dropTables(pair, TABLE);
    await seedUsers(pair.source, { table: TABLE, rows: 6_000 });
  });
  after(async () => {
    await dropTables(pair, TABLE);
    await closePair(pair);
  });

  for (let run = 1; run <= RUNS; run++) {
    test(`run ${run} ends before its deadline, exact or with every failed range reported and healed by a retry`, async () => {
      const result = await within(
        RUN_DEADLINE_MS * 3,
        `soak run ${run}`,
        soakRun({
          sourceUrl: SOURCE_URL,
          targetUrl: TARGET_URL,
          table: TABLE,
          chunkRows: 1_000,
          concurrency: 3,
          kills: 3,
          killDelayMs: 150,
          deadlineMs: RUN_DEADLINE_MS,
          retryIntervalMs: 50,
          random,
          // The tests' own proof of exactness, apart from the product's comparison.
          differences: async (table) => {
            const comparison = await compareTable(pair, table);
            const exact = comparison.rows.source === comparison.rows.target && comparison.columns.length === 0;
            return exact ? null : `${JSON.stringify(comparison.rows)}: ${comparison.differences.join('; ')}`;
          },
        }),
      );
      results.push(result);
      assert.ok(
        result.outcome === 'exact' || result.outcome === 'healed',
        `run ${run} (seed ${SEED}): ${result.outcome}: ${result.detail} after kills ${JSON.stringify(result.kills)}`,
      );
    });
  }

  test('the kills landed, on both databases, and the workflow retried what they broke', () => {
    const kills = results.flatMap((result) => result.kills);
    assert.ok(kills.length >= RUNS, `only ${kills.length} kills landed (seed ${SEED})`);
    assert.deepEqual([...new Set(kills.map((kill) => kill.side))].sort(), ['source', 'target'], `seed ${SEED}`);
    assert.ok(
      results.some((result) => result.retries > 0),
      `seed ${SEED}`,
    );
  });
});
