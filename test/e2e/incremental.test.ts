import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { asSourceTime } from '../../functions/core/ledger.js';
import { STATE } from '../../infra/cdk/states.js';
import { migrateLocally } from '../../infra/local/local-migration.js';
import { seededId } from '../../infra/local/seed.js';
import { closePair, openPair, SOURCE_URL, seededSuite, TARGET_URL } from '../support/databases.js';
import { assertTargetExact } from '../support/exactness.js';

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
      const holder = await firstPlanned;

      const second = await migrate({ mode: 'incremental' });
      assert.equal(second.run.status, 'SUCCEEDED');
      assert.equal(second.summary, null);
      assert.match(
        second.alreadyRunning!,
        new RegExp(`${TABLE} is being migrated by run ${holder} .*this run did nothing`),
      );

      const cli = promisify(execFile)(
        process.execPath,
        [
          '--import',
          'tsx',
          'infra/cli/migrate.ts',
          '--source',
          SOURCE_URL,
          '--target',
          TARGET_URL,
          '--table',
          TABLE,
          '--mode',
          'incremental',
          '--json',
        ],
        { env: { ...process.env, FORCE_COLOR: '0' } },
      );
      await assert.rejects(cli, (error: { code: number; stdout: string; stderr: string }) => {
        assert.equal(error.code, 3);
        const outcome = JSON.parse(error.stdout.trim().split('\n').at(-1)!);
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
