import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout } from 'node:timers/promises';
import type { ConnectionPair } from '../../functions/core/connections.js';
import { failedBatchMessageSchema } from '../../functions/core/failed-batch.js';
import { STATE } from '../../infra/cdk/states.js';
import { migrateLocally } from '../../infra/local/local-migration.js';
import { seededId, seedUsers } from '../../infra/local/seed.js';
import { closePair, dropTables, openPair, SOURCE_URL, TARGET_URL } from '../support/databases.js';
import { within } from '../support/deadline.js';
import { assertTargetExact } from '../support/exactness.js';

const TABLE = 'limits_users';
const ROWS = 6_000;
// Retries wait this long instead of the definition's seconds.
const RETRY_MS = 20;

describe('the limits a run keeps: retries that run out, connections per concurrency', () => {
  let pair: ConnectionPair;
  const runIds: string[] = [];

  before(async () => {
    pair = await openPair();
    await dropTables(pair, TABLE);
    await seedUsers(pair.source, { table: TABLE, rows: ROWS });
  });
  after(async () => {
    await pair.target.query(`DROP TRIGGER IF EXISTS limits_fault ON public.${TABLE}`);
    await pair.target.query('DROP FUNCTION IF EXISTS public.limits_fault()');
    await pair.target.query('DELETE FROM migration.runs WHERE run_id = ANY($1)', [runIds]);
    await dropTables(pair, TABLE);
    await closePair(pair);
  });

  /** Puts `body` (plpgsql, before each row the target inserts) on the target table. */
  const onTargetInsert = async (body: string) => {
    await pair.target.query(`CREATE OR REPLACE FUNCTION public.limits_fault() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN ${body} RETURN NEW; END $$`);
    await pair.target.query(`DROP TRIGGER IF EXISTS limits_fault ON public.${TABLE}`);
    await pair.target.query(
      `CREATE TRIGGER limits_fault BEFORE INSERT ON public.${TABLE} FOR EACH ROW EXECUTE FUNCTION public.limits_fault()`,
    );
  };

  test('a transient fault that never passes is retried five times, then queued with its six attempts', async () => {
    // A first run creates the target table, so the fault can be put on it.
    const first = await migrateLocally({ sourceUrl: SOURCE_URL, targetUrl: TARGET_URL, input: { table: TABLE } });
    runIds.push(first.run.runId);
    const stuck = seededId(3_000, ROWS);
    await onTargetInsert(
      `IF NEW.id = ${stuck} THEN RAISE EXCEPTION 'deadlock detected (a fault that stays)' USING ERRCODE = '40P01'; END IF;`,
    );
    let retries = 0;
    const outcome = await migrateLocally({
      sourceUrl: SOURCE_URL,
      targetUrl: TARGET_URL,
      input: { table: TABLE, chunkRows: 2_000 },
      retryIntervalMs: RETRY_MS,
      onEvent: (event) => {
        if (event.type === 'StateRetried' && 'state' in event && event.state?.name === STATE.copyRange) retries++;
      },
    });
    runIds.push(outcome.run.runId);
    assert.equal(outcome.run.error?.name, 'RangesFailedError');
    assert.equal(outcome.failedBatches.length, 1);
    const message = failedBatchMessageSchema.parse(outcome.failedBatches[0]);
    // docs/FAILURES.md: a transient fault is retried 5 times; the first try and 5 retries make 6.
    assert.deepEqual(
      { name: message.error.name, attempts: message.attempts, range: message.range.index },
      { name: 'TransientDatabaseError', attempts: 6, range: 1 },
    );
    assert.match(message.error.message, /deadlock detected .*\(40P01\)/);
    assert.equal(retries, 5);
    const { rows } = await pair.target.query(
      'SELECT status, attempts FROM migration.ranges WHERE run_id = $1 AND range_index = 1',
      [outcome.run.runId],
    );
    assert.deepEqual(rows, [{ status: 'failed', attempts: 6 }]);
  });

  test('a run of concurrency 3 holds at most three connections on each database, and uses them', async () => {
    // Every range's transaction waits a moment on its first row, so three ranges are open at once.
    await onTargetInsert(`
      IF coalesce(current_setting('limits.slept', true), '') = '' THEN
        PERFORM pg_sleep(0.3);
        PERFORM set_config('limits.slept', 'yes', true);
      END IF;`);
    const concurrency = 3;
    const most = { source: 0, target: 0 };
    let running = true;
    const run = migrateLocally({
      sourceUrl: SOURCE_URL,
      targetUrl: TARGET_URL,
      input: { table: TABLE, chunkRows: 500, concurrency },
    }).finally(() => {
      running = false;
    });
    // Sampled until the run ends, and no longer than its deadline.
    const deadline = Date.now() + 120_000;
    while (running && Date.now() < deadline) {
      const open = await otherConnections(pair);
      most.source = Math.max(most.source, open.source);
      most.target = Math.max(most.target, open.target);
      await setTimeout(20);
    }
    const outcome = await within(1_000, 'the run to end', run);
    runIds.push(outcome.run.runId);
    assert.equal(outcome.summary?.status, 'succeeded', JSON.stringify(outcome.run.error));
    assert.equal(outcome.summary?.ranges, 12);
    assert.deepEqual(most, { source: concurrency, target: concurrency });
    await assertTargetExact(pair, TABLE);
  });
});

/** Connections to this test's databases other than the pair's own: the run's. */
async function otherConnections(pair: ConnectionPair): Promise<{ source: number; target: number }> {
  const [[source]] = (await pair.source
    .promise()
    .query(
      "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> CONNECTION_ID() AND COMMAND <> 'Daemon'",
    )) as unknown as [[{ n: number }]];
  const { rows } = await pair.target.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
  );
  return { source: Number(source.n), target: rows[0]!.n };
}
