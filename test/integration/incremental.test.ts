import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout } from 'node:timers/promises';
import type { ConnectionPair } from '../../functions/core/connections.js';
import { type CopyRangeEvent, copyRange } from '../../functions/core/copy-range.js';
import { type PlanEvent, plan } from '../../functions/core/plan.js';
import { endStoppedRun, summarize } from '../../functions/core/summarize.js';
import { verifyRange } from '../../functions/core/verify-range.js';
import { seedUsers } from '../../infra/local/seed.js';
import { closePair, dropTables, openPair } from '../support/databases.js';
import { assertTargetExact, readBothSides } from '../support/exactness.js';

const USERS = 'sync_users';
const PLAIN = 'sync_plain';
const TWO = 'sync_two_changes';
const NO_KEY = 'sync_no_target_key';
const COMPOSITE = 'sync_composite';
const TEXT_KEY = 'sync_text_key';
const WRONG_KEY = 'sync_wrong_target_key';
const TUPLE_TABLES = [COMPOSITE, TEXT_KEY, WRONG_KEY];
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
    for (const table of [USERS, PLAIN, TWO, NO_KEY, ...TUPLE_TABLES]) await dropTables(pair, table);
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
    for (const table of [USERS, PLAIN, TWO, NO_KEY, ...TUPLE_TABLES]) await dropTables(pair, table);
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

  test('tables keyed by a tuple (composite, or text in a case-insensitive collation) are kept in sync: changed rows upserted on every key column, and verified', async () => {
    const source = pair.source.promise();
    await source.query(
      `CREATE TABLE ${COMPOSITE} (a INT NOT NULL, b VARCHAR(20) NOT NULL, v VARCHAR(20) NOT NULL,
         updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
         PRIMARY KEY (a, b)) CHARSET utf8mb4 COLLATE utf8mb4_general_ci`,
    );
    await source.query(
      `CREATE TABLE ${TEXT_KEY} (code VARCHAR(20) NOT NULL PRIMARY KEY, n INT NOT NULL,
         updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))
         CHARSET utf8mb4 COLLATE utf8mb4_general_ci`,
    );
    // Byte order is not the collation's: 'Zeta' sorts before 'alpha' in bytes, after it in utf8mb4_general_ci.
    const codes = ['alpha', 'Zeta', 'a_b', 'a b', 'Straße', 'émile', 'Ørsted', '10', '9', 'beta'];
    await source.query(`INSERT INTO ${COMPOSITE} (a, b, v) VALUES ?`, [
      Array.from({ length: 30 }, (_, i) => [i % 3, codes[i % codes.length]! + (i >= 10 ? i : ''), `v${i}`]),
    ]);
    await source.query(`INSERT INTO ${TEXT_KEY} (code, n) VALUES ?`, [codes.map((code, i) => [code, i])]);
    const tables = [COMPOSITE, TEXT_KEY];
    const runAll = async (input: Record<string, unknown>) => {
      const planned = await plan(planEvent({ tables, chunkRows: 4, ...input }), pair, DEFAULTS);
      for (const range of planned.ranges)
        await copyAndVerify(
          { runId: planned.runId, table: range.table, range, changes: range.changes, policies: planned.policies },
          pair,
        );
      return { planned, summary: await summarize({ runId: planned.runId }, pair.target) };
    };
    const full = await runAll({});
    assert.equal(full.summary.status, 'succeeded');
    for (const table of tables) await assertTargetExact(pair, table);
    // Changes land in a later second than the full run's watermark, so the run without overlap sees exactly them.
    await setTimeout(1_100);
    await source.query(`INSERT INTO ${COMPOSITE} (a, b, v) VALUES (0, 'new', 'inserted'), (7, 'ZETA', 'inserted')`);
    await source.query(`UPDATE ${COMPOSITE} SET v = 'updated' WHERE (a, b) IN ((1, 'Zeta'), (2, 'a_b'))`);
    await source.query(`INSERT INTO ${TEXT_KEY} (code, n) VALUES ('Ähre', 100), ('zz', 101)`);
    await source.query(`UPDATE ${TEXT_KEY} SET n = n + 1000 WHERE code IN ('ZETA', 'straße')`);
    const before = await readBothSides(pair, TEXT_KEY);
    assert.notDeepEqual(before.target, before.source);
    // And the run begins a second later, so its verification counts none of them as changed while it ran.
    await setTimeout(1_100);

    const { planned, summary } = await runAll({ mode: 'incremental', overlapSeconds: 0 });
    assert.equal(summary.status, 'succeeded');
    assert.deepEqual(
      summary.tables.map((t) => [t.table, t.rows, t.refused]),
      [
        [COMPOSITE, 4, null],
        [TEXT_KEY, 4, null],
      ],
    );
    assert.equal(summary.verifiedRows, 8);
    assert.ok(planned.ranges.every((range) => range.changes?.since));
    for (const table of tables) await assertTargetExact(pair, table);

    // VerifyRange of the changed rows looks each up by its whole key: a wrong value there fails the range.
    await pair.target.query(`UPDATE public.${COMPOSITE} SET v = 'tampered' WHERE a = 7 AND b = 'ZETA'`);
    const ranges = planned.ranges.filter((range) => range.table === COMPOSITE);
    const results = await Promise.allSettled(
      ranges.map((range) =>
        verifyRange(
          { runId: planned.runId, table: COMPOSITE, range, changes: range.changes, policies: planned.policies },
          pair,
        ),
      ),
    );
    const failures = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as Error] : []));
    assert.equal(failures.length, 1);
    assert.equal(failures[0]!.name, 'VerificationMismatchError');
    assert.match(
      failures[0]!.message,
      /0 missing, 0 extra, 1 changed; column v at key .*7.*ZETA.*: source "inserted", target "tampered"/,
    );
  });

  test('a tuple-keyed target needs a unique index on exactly the key columns, in any order', async () => {
    await pair.source.promise().query(
      `CREATE TABLE ${WRONG_KEY} (a INT NOT NULL, b VARCHAR(20) NOT NULL,
         updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, PRIMARY KEY (a, b))`,
    );
    await pair.source.promise().query(`INSERT INTO ${WRONG_KEY} (a, b) VALUES (1, 'x'), (1, 'y'), (2, 'x')`);
    await pair.target.query(
      `CREATE TABLE public.${WRONG_KEY} (a integer NOT NULL, b varchar(20) NOT NULL, updated_at timestamptz(0) NOT NULL,
         CONSTRAINT more_than_the_key UNIQUE (a, b, updated_at))`,
    );
    await pair.target.query(`CREATE UNIQUE INDEX ${WRONG_KEY}_partial ON public.${WRONG_KEY} (a, b) WHERE a > 1`);
    await pair.target.query(`CREATE UNIQUE INDEX ${WRONG_KEY}_a ON public.${WRONG_KEY} (a) INCLUDE (b)`);
    await assert.rejects(plan(planEvent({ table: WRONG_KEY, mode: 'incremental' }), pair, DEFAULTS), {
      name: 'SchemaError',
      message:
        /public\.sync_wrong_target_key has no primary key or unique index on a, b, which an incremental run upserts on: add one/,
    });
    assert.equal(await leaseHolder(pair, WRONG_KEY), null);
    await pair.target.query(`DROP INDEX public.${WRONG_KEY}_a`);
    await pair.target.query(`CREATE UNIQUE INDEX ${WRONG_KEY}_b_a ON public.${WRONG_KEY} (b, a)`);
    const planned = await plan(planEvent({ table: WRONG_KEY, mode: 'incremental' }), pair, DEFAULTS);
    for (const range of planned.ranges)
      await copyAndVerify(
        { runId: planned.runId, table: WRONG_KEY, range, changes: range.changes, policies: planned.policies },
        pair,
      );
    assert.equal((await summarize({ runId: planned.runId }, pair.target)).rows, 3);
    await assertTargetExact(pair, WRONG_KEY);
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
  test('a run whose execution stopped is ended and gives its table back at once; an ended run, or one never begun, is left alone', async () => {
    const stopped = await plan(planEvent({}), pair, DEFAULTS);
    await copyAndVerify(
      { runId: stopped.runId, table: USERS, range: stopped.ranges[0]!, policies: stopped.policies },
      pair,
    );
    assert.deepEqual(await endStoppedRun({ runId: stopped.runId }, pair.target), { ended: true, released: 1 });
    assert.equal(await leaseHolder(pair, USERS), null);
    const { rows } = await pair.target.query<{ status: string }>(
      'SELECT status FROM migration.runs WHERE run_id = $1',
      [stopped.runId],
    );
    assert.deepEqual(rows, [{ status: 'failed' }]);
    // The next run takes the table without waiting for the lease to expire.
    const next = await plan(planEvent({}), pair, DEFAULTS);
    for (const range of next.ranges)
      await copyAndVerify({ runId: next.runId, table: USERS, range, policies: next.policies }, pair);
    const summary = await summarize({ runId: next.runId }, pair.target);
    assert.equal(summary.status, 'succeeded');
    // The stop of an execution whose run Summarize already ended, or that never got to Plan.
    assert.deepEqual(await endStoppedRun({ runId: next.runId }, pair.target), { ended: false, released: 0 });
    const { rows: ended } = await pair.target.query<{ status: string }>(
      'SELECT status FROM migration.runs WHERE run_id = $1',
      [next.runId],
    );
    assert.deepEqual(ended, [{ status: 'succeeded' }]);
    assert.deepEqual(await endStoppedRun({ runId: 'never-planned' }, pair.target), { ended: false, released: 0 });
    await assertTargetExact(pair, USERS);
  });
});
