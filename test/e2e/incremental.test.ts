import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout } from 'node:timers/promises';
import { asSourceTime } from '../../functions/core/ledger.js';
import { STATE } from '../../infra/cdk/states.js';
import { migrateLocally } from '../../infra/local/local-migration.js';
import { seededId } from '../../infra/local/seed.js';
import { closePair, openPair, SOURCE_URL, seededSuite, TARGET_URL } from '../support/databases.js';
import { within } from '../support/deadline.js';
import { assertTargetExact } from '../support/exactness.js';
import { jsonSummary, runMigrate } from '../support/migrate-cli.js';
import { slowRanges } from '../support/slow-ranges.js';

const TABLE = 'sync_e2e_users';
const ROWS = 6_000;
const CHUNK_ROWS = 2_000;

const migrate = (input: Record<string, unknown>, onEvent?: Parameters<typeof migrateLocally>[0]['onEvent']) =>
  migrateLocally({
    sourceUrl: SOURCE_URL,
    targetUrl: TARGET_URL,
    input: { table: TABLE, chunkRows: CHUNK_ROWS, ...input },
    onEvent,
  });

describe('scheduled incremental runs keep the target in sync, one run at a time', () => {
  const pairOf = seededSuite(TABLE, ROWS);

  const watermark = async () => {
    const { rows } = await pairOf().target.query<{ watermark: string }>(
      `SELECT ${asSourceTime('watermark')} AS watermark FROM migration.watermarks WHERE table_name = $1`,
      [TABLE],
    );
    return rows[0]?.watermark ?? null;
  };
  const watermarkRow = async () =>
    (
      await pairOf().target.query<{ watermark: string; run_id: string }>(
        `SELECT ${asSourceTime('watermark')} AS watermark, run_id FROM migration.watermarks WHERE table_name = $1`,
        [TABLE],
      )
    ).rows[0] ?? null;
  /** Waits (a second at most) until the source's clock is in a later second than `time`. */
  const nextSourceSecond = async (time: string) => {
    const [[{ wait }]] = (await pairOf()
      .source.promise()
      .query('SELECT GREATEST(0, TIMESTAMPDIFF(MICROSECOND, NOW(6), ? + INTERVAL 1 SECOND)) AS wait', [
        time.slice(0, 19),
      ])) as unknown as [[{ wait: number }]];
    await setTimeout(Math.min(Number(wait) / 1000 + 10, 1_100));
  };
  const leaseHolder = async () => {
    const { rows } = await pairOf().target.query<{ run_id: string }>(
      'SELECT run_id FROM migration.leases WHERE table_name = $1',
      [TABLE],
    );
    return rows[0]?.run_id ?? null;
  };

  test('after updates, inserts and deletes, an incremental run copies only the changed rows and leaves deletes to the next full run', async () => {
    const pair = pairOf();
    const full = await migrate({});
    assert.equal(full.summary?.status, 'succeeded', JSON.stringify(full.run.error));
    const fullWatermark = await watermark();
    assert.ok(fullWatermark, 'a full run of a table with a change column sets its watermark');

    const source = pair.source.promise();
    const updated = [seededId(0, ROWS), seededId(3_000, ROWS), seededId(5_999, ROWS)];
    const deleted = [seededId(10, ROWS), seededId(4_000, ROWS)];
    await source.query(`UPDATE ${TABLE} SET name = 'renamed', bio = 'tab\\there, line\\nbreak' WHERE id IN (?)`, [
      updated,
    ]);
    await source.query(`DELETE FROM ${TABLE} WHERE id IN (?)`, [deleted]);
    // One id in the gap of the sparse key space, one above every key.
    await source.query(
      `INSERT INTO ${TABLE} (id, email, name, created_at, is_active, balance, status, bio)
       VALUES (500000000, 'gap@example.com', 'In the gap', '2024-02-29 12:00:00.125', 1, '0.01', 'active', NULL),
              (9000000000, 'top@example.com', 'Above all', '2024-03-01 00:00:00', 0, '-5.00', 'suspended', 'new')`,
    );

    // What the schedule sends, here for this table rather than the stack's configured one.
    const incremental = await migrate({ mode: 'incremental' });
    assert.equal(incremental.run.status, 'SUCCEEDED', JSON.stringify(incremental.run.error));
    assert.equal(incremental.summary?.mode, 'incremental');
    assert.equal(incremental.summary?.rows, updated.length + 2);
    assert.equal(incremental.summary?.failed, 0);
    const kept = await assertTargetExact(pair, TABLE, { where: `id NOT IN (${deleted.join(', ')})` });
    assert.equal(kept.rows.target, ROWS - deleted.length + 2);
    const { rows: stayed } = await pair.target.query(`SELECT id FROM public.${TABLE} WHERE id = ANY($1)`, [deleted]);
    assert.equal(stayed.length, deleted.length, 'deleted rows stay until a full run');
    const movedTo = await watermark();
    assert.ok(movedTo! > fullWatermark!, `the watermark moved from ${fullWatermark} to ${movedTo}`);
    assert.equal(incremental.summary?.watermark, movedTo);

    // Nothing changed since: with no overlap window to re-read, nothing is copied and no range runs.
    const quiet = await migrate({ mode: 'incremental', overlapSeconds: 0 });
    assert.equal(quiet.summary?.status, 'succeeded', JSON.stringify(quiet.run.error));
    assert.equal(quiet.summary?.rows, 0);
    assert.equal(quiet.summary?.ranges, 0);
    assert.ok((await watermark())! >= movedTo!);

    const reconcile = await migrate({ mode: 'full' });
    assert.equal(reconcile.summary?.status, 'succeeded', JSON.stringify(reconcile.run.error));
    await assertTargetExact(pair, TABLE);
  });

  test('a failed incremental run leaves the watermark where it was, so the next run copies its rows again', async () => {
    const source = pairOf().source.promise();
    const full = await migrate({ mode: 'full' });
    assert.equal(full.summary?.status, 'succeeded', JSON.stringify(full.run.error));
    const before = await watermark();
    // The change below must fall in a later second than the watermark (its column has whole seconds).
    await nextSourceSecond(before!);
    const poisoned = seededId(2_500, ROWS);
    await source.query(`UPDATE ${TABLE} SET name = 'changed while it failed', is_active = 2 WHERE id = ?`, [poisoned]);

    try {
      const failed = await migrate({ mode: 'incremental' });
      assert.equal(failed.run.error?.name, 'RangesFailedError');
      assert.equal(await watermark(), before);
    } finally {
      // Fixed without touching its change column: only a watermark that stayed put reaches the row again.
      await source.query(`UPDATE ${TABLE} SET is_active = 1, updated_at = updated_at WHERE id = ?`, [poisoned]);
    }
    const again = await migrate({ mode: 'incremental', overlapSeconds: 0 });
    assert.equal(again.summary?.status, 'succeeded', JSON.stringify(again.run.error));
    const { rows } = await pairOf().target.query(`SELECT name FROM public.${TABLE} WHERE id = $1`, [poisoned]);
    assert.deepEqual(rows, [{ name: 'changed while it failed' }]);
    assert.ok((await watermark())! > before!);
  });

  test('a run of given ranges moves no watermark; a full run of the table does', async () => {
    await migrate({ mode: 'full' });
    const before = await watermarkRow();
    const hi = seededId(100, ROWS);
    const given = await migrate({ ranges: [{ lo: null, hi: String(hi) }] });
    assert.equal(given.summary?.status, 'succeeded', JSON.stringify(given.run.error));
    assert.equal(given.summary?.ranges, 1);
    await assertTargetExact(pairOf(), TABLE, { where: `id < ${hi}` });
    assert.deepEqual(await watermarkRow(), before);
    const full = await migrate({ mode: 'full' });
    assert.equal((await watermarkRow())?.run_id, full.run.runId);
  });

  test('a row whose write commits after Plan read the watermark is picked up by the next run, through the overlap window', async () => {
    const late = seededId(4_321, ROWS);
    const writer = await openPair();
    try {
      // The write sets its change column now but commits only after the run below has read everything.
      await writer.source.promise().query('BEGIN');
      await writer.source.promise().query(`UPDATE ${TABLE} SET name = 'committed late' WHERE id = ?`, [late]);
      const first = await migrate({ mode: 'incremental' });
      assert.equal(first.summary?.status, 'succeeded', JSON.stringify(first.run.error));
      await writer.source.promise().query('COMMIT');
      const name = async () =>
        (await pairOf().target.query(`SELECT name FROM public.${TABLE} WHERE id = $1`, [late])).rows[0]?.name;
      assert.notEqual(await name(), 'committed late');
      const [[{ changed }]] = (await pairOf()
        .source.promise()
        .query(`SELECT DATE_FORMAT(updated_at, '%Y-%m-%d %H:%i:%s.%f') AS changed FROM ${TABLE} WHERE id = ?`, [
          late,
        ])) as unknown as [[{ changed: string }]];
      // Below the watermark the first run set: only the overlap window reaches it.
      assert.ok(changed < (await watermark())!, `${changed} is below the watermark`);

      const second = await migrate({ mode: 'incremental' });
      assert.equal(second.summary?.status, 'succeeded', JSON.stringify(second.run.error));
      assert.equal(await name(), 'committed late');
      await assertTargetExact(pairOf(), TABLE, { where: `id = ${late}` });
    } finally {
      await writer.source.promise().query('ROLLBACK');
      await closePair(writer);
    }
  });

  test('every range renews the lease, so a run longer than its lease keeps the table', async () => {
    const target = pairOf().target;
    // Each range's transaction waits a second once, so the run outlasts the shortened lease below.
    const fast = await slowRanges(target, TABLE, 1);
    const probes: Promise<unknown>[] = [];
    let copied = 0;
    try {
      const outcome = await migrateLocally({
        sourceUrl: SOURCE_URL,
        targetUrl: TARGET_URL,
        input: { table: TABLE, chunkRows: 1_000, concurrency: 1 },
        onEvent: (event) => {
          if (event.type !== 'StateExited' || !('state' in event)) return;
          // Plan took the lease for 30 minutes: as if most of that time had gone, 1.5 s are left.
          if (event.state?.name === STATE.plan)
            probes.push(
              target.query(
                `UPDATE migration.leases SET expires_at = clock_timestamp() + interval '1.5 seconds' WHERE table_name = $1`,
                [TABLE],
              ),
            );
          // Well past those 1.5 s, the ranges since have renewed it for the full term.
          if (event.state?.name === STATE.copyRange && ++copied === 4)
            probes.push(
              target
                .query<{ run_id: string; left: boolean }>(
                  `SELECT run_id, expires_at > clock_timestamp() + interval '25 minutes' AS left
                     FROM migration.leases WHERE table_name = $1`,
                  [TABLE],
                )
                .then(({ rows }) => rows),
            );
        },
      });
      assert.equal(outcome.summary?.status, 'succeeded', JSON.stringify(outcome.run.error));
      assert.equal(copied, 6);
      const [, held] = await Promise.all(probes);
      assert.deepEqual(held, [{ run_id: outcome.run.runId, left: true }]);
    } finally {
      await fast();
    }
  });

  test('a run started while another holds the table does nothing and says so; npm run migrate exits 3', async () => {
    // Hold the target table so the first run stays inside CopyRanges while the others start.
    const blocker = await openPair();
    await blocker.target.query('BEGIN');
    await blocker.target.query(`LOCK TABLE public.${TABLE} IN SHARE MODE`);
    let planned!: (runId: string) => void;
    const firstPlanned = new Promise<string>((resolve) => (planned = resolve));
    const first = migrate({ mode: 'full' }, (event) => {
      if (event.type === 'StateExited' && 'state' in event && event.state?.name === STATE.plan)
        planned((event.state.output as { runId: string }).runId);
    });
    try {
      const holder = await within(
        60_000,
        "the first run's Plan",
        Promise.race([
          firstPlanned,
          first.then(() => Promise.reject(new Error('the first run ended before its Plan'))),
        ]),
      );

      const second = await migrate({ mode: 'incremental' });
      assert.equal(second.run.status, 'SUCCEEDED');
      assert.equal(second.summary, null);
      assert.match(
        second.alreadyRunning!,
        new RegExp(`^${TABLE} is being migrated by run ${holder} .*this run did nothing`),
      );
      // The function's message, not the runtime's JSON around it with its stack trace.
      assert.doesNotMatch(second.alreadyRunning!, /errorType|trace/);

      const cli = runMigrate(['--table', TABLE, '--mode', 'incremental', '--json']);
      await assert.rejects(cli, (error: { code: number; stdout: string; stderr: string }) => {
        assert.equal(error.code, 3);
        const outcome = jsonSummary(error.stdout);
        assert.equal(outcome.status, 'already-running');
        assert.match(outcome.reason, new RegExp(`by run ${holder}`));
        assert.match(error.stderr, new RegExp(`being migrated by run ${holder} .*this run did nothing`));
        return true;
      });
      assert.equal(await leaseHolder(), holder);
    } finally {
      await blocker.target.query('COMMIT');
      await closePair(blocker);
    }
    const outcome = await first;
    assert.equal(outcome.summary?.status, 'succeeded', JSON.stringify(outcome.run.error));
    assert.equal(await leaseHolder(), null);
  });

  test('the lease of a run that crashed expires and the next run takes the table over', async () => {
    const pair = pairOf();
    await pair.target.query(
      `INSERT INTO migration.leases (table_name, run_id, execution, expires_at)
       VALUES ($1, 'crashed-run', 'local:crashed-run', clock_timestamp() - interval '1 second')`,
      [TABLE],
    );
    const outcome = await migrate({ mode: 'incremental' });
    assert.equal(outcome.alreadyRunning, null);
    assert.equal(outcome.summary?.status, 'succeeded', JSON.stringify(outcome.run.error));
    assert.equal(await leaseHolder(), null);
  });
});
