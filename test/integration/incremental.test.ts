import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ConnectionPair } from '../../functions/core/connections.js';
import { type CopyRangeEvent, copyRange } from '../../functions/core/copy-range.js';
import { type PlanEvent, plan } from '../../functions/core/plan.js';
import { summarize } from '../../functions/core/summarize.js';
import { verifyRange } from '../../functions/core/verify-range.js';
import { seedUsers } from '../../infra/local/seed.js';
import { closePair, dropTables, openPair } from '../support/databases.js';
import { assertTargetExact, readBothSides } from '../support/exactness.js';

const USERS = 'sync_users';
const PLAIN = 'sync_plain';
const TWO = 'sync_two_changes';
const NO_KEY = 'sync_no_target_key';
const DEFAULTS = { tables: [USERS], chunkRows: 500, concurrency: 2 };

let runs = 0;
const planEvent = (input: Record<string, unknown>): PlanEvent => {
  const runId = `sync-it-${process.pid}-${++runs}`;
  return { input, runId, execution: `local:${runId}` };
};

/** What each Map item of a run goes through: CopyRange, then VerifyRange. */
async function copyAndVerify(item: CopyRangeEvent, pair: ConnectionPair): Promise<void> {
  await copyRange(item, pair);
  await verifyRange(item, pair);
}

async function leaseHolder(pair: ConnectionPair, table: string): Promise<string | null> {
  const { rows } = await pair.target.query<{ run_id: string }>(
    'SELECT run_id FROM migration.leases WHERE table_name = $1',
    [table],
  );
  return rows[0]?.run_id ?? null;
}

describe('incremental planning and the table lease, against MariaDB and PostgreSQL', () => {
  let pair: ConnectionPair;

  before(async () => {
    pair = await openPair();
    for (const table of [USERS, PLAIN, TWO, NO_KEY]) await dropTables(pair, table);
    await seedUsers(pair.source, { table: USERS, rows: 1_200 });
    await pair.source
      .promise()
      .query(`CREATE TABLE ${PLAIN} (id INT PRIMARY KEY, v INT NOT NULL, seen TIMESTAMP NULL)`);
    await pair.source.promise().query(
      `CREATE TABLE ${TWO} (id INT PRIMARY KEY,
         touched TIMESTAMP NULL ON UPDATE CURRENT_TIMESTAMP,
         modified DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3))`,
    );
    await pair.source
      .promise()
      .query(
        `CREATE TABLE ${NO_KEY} (id INT PRIMARY KEY, updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP)`,
      );
    await pair.source.promise().query(`INSERT INTO ${NO_KEY} (id) VALUES (1), (2)`);
    await pair.target.query(`CREATE TABLE public.${NO_KEY} (id integer, updated_at timestamptz(0))`);
  });
  after(async () => {
    for (const table of [USERS, PLAIN, TWO, NO_KEY]) await dropTables(pair, table);
    await closePair(pair);
  });

  test('a first incremental run finds the ON UPDATE CURRENT_TIMESTAMP column itself and, with no watermark yet, upserts every row', async () => {
    const planned = await plan(planEvent({ mode: 'incremental' }), pair, DEFAULTS);
    assert.deepEqual(planned.ranges[0]?.changes, { column: 'updated_at', since: null });
    assert.equal(planned.ranges.length, 3);
    for (const range of planned.ranges)
      await copyAndVerify(
        { runId: planned.runId, table: USERS, range, changes: range.changes, policies: planned.policies },
        pair,
      );
    const summary = await summarize({ runId: planned.runId }, pair.target);
    assert.equal(summary.rows, 1_200);
    assert.match(summary.watermark!, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$/);
    await assertTargetExact(pair, USERS);
    assert.equal(await leaseHolder(pair, USERS), null);
  });

  test('a table without a change column: an incremental run is refused with the fix, a full run goes ahead without a watermark', async () => {
    await assert.rejects(plan(planEvent({ table: PLAIN, mode: 'incremental' }), pair, DEFAULTS), {
      name: 'SchemaError',
      message: /sync_plain has no change column .* name one in "changeColumn", or run "mode": "full"/,
    });
    await assert.rejects(plan(planEvent({ table: PLAIN, mode: 'incremental', changeColumn: 'v' }), pair, DEFAULTS), {
      name: 'InputValidationError',
      message: /"changeColumn": v has type int, not TIMESTAMP or DATETIME/,
    });
    await assert.rejects(plan(planEvent({ table: PLAIN, mode: 'incremental', changeColumn: 'seen' }), pair, DEFAULTS), {
      name: 'InputValidationError',
      message: /"changeColumn": seen allows NULL/,
    });
    // Nothing above took the table: a full run plans at once.
    const planned = await plan(planEvent({ table: PLAIN }), pair, DEFAULTS);
    assert.equal(planned.ranges[0]?.changes, null);
    for (const range of planned.ranges)
      await copyAndVerify({ runId: planned.runId, table: PLAIN, range, policies: planned.policies }, pair);
    const summary = await summarize({ runId: planned.runId }, pair.target);
    assert.equal(summary.status, 'succeeded');
    assert.equal(summary.watermark, null);
  });

  test('two columns set on update are refused until one is named', async () => {
    await assert.rejects(plan(planEvent({ table: TWO, mode: 'incremental' }), pair, DEFAULTS), {
      name: 'SchemaError',
      message: /several columns set on update \(touched, modified\): name the one to compare in "changeColumn"/,
    });
    const planned = await plan(
      planEvent({ table: TWO, mode: 'incremental', changeColumn: 'modified' }),
      pair,
      DEFAULTS,
    );
    const { rows } = await pair.target.query(
      'SELECT change_column, changed_since FROM migration.run_tables WHERE run_id = $1',
      [planned.runId],
    );
    assert.deepEqual(rows, [{ change_column: 'modified', changed_since: null }]);
    assert.deepEqual(planned.ranges, []);
    await summarize({ runId: planned.runId }, pair.target);
  });

  test('a target without a unique key cannot take upserts: refused, and the lease taken for the run is given back', async () => {
    await assert.rejects(plan(planEvent({ table: NO_KEY, mode: 'incremental' }), pair, DEFAULTS), {
      name: 'SchemaError',
      message: /public\.sync_no_target_key has no primary key or unique index on id/,
    });
    assert.equal(await leaseHolder(pair, NO_KEY), null);
  });

  test('a run whose expired lease was taken over writes nothing more, and its end leaves the new holder alone', async () => {
    const stale = await plan(planEvent({}), pair, DEFAULTS);
    await assert.rejects(plan(planEvent({}), pair, DEFAULTS), {
      name: 'RunInProgressError',
      message: new RegExp(`by run ${stale.runId}`),
    });
    // The stale run stops renewing (its process died) until its lease runs out.
    await pair.target.query(
      "UPDATE migration.leases SET expires_at = clock_timestamp() - interval '1 second' WHERE table_name = $1",
      [USERS],
    );
    const fresh = await plan(planEvent({}), pair, DEFAULTS);
    assert.equal(await leaseHolder(pair, USERS), fresh.runId);

    await pair.source.promise().query(`UPDATE ${USERS} SET name = 'written by the stale run?' WHERE id = 1`);
    const before = (await readBothSides(pair, USERS)).target;
    await assert.rejects(
      copyRange({ runId: stale.runId, table: USERS, range: stale.ranges[0]!, policies: stale.policies }, pair),
      { name: 'LeaseLostError' },
    );
    assert.deepEqual((await readBothSides(pair, USERS)).target, before);
    await assert.rejects(summarize({ runId: stale.runId }, pair.target), { name: 'RangesFailedError' });
    assert.equal(await leaseHolder(pair, USERS), fresh.runId);

    for (const range of fresh.ranges)
      await copyAndVerify({ runId: fresh.runId, table: USERS, range, policies: fresh.policies }, pair);
    await summarize({ runId: fresh.runId }, pair.target);
    await assertTargetExact(pair, USERS);
    assert.equal(await leaseHolder(pair, USERS), null);
  });
});
