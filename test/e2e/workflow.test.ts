import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { setTimeout } from 'node:timers/promises';
import { failedBatchMessageSchema } from '../../functions/core/failed-batch.js';
import { DEFAULT_POLICIES } from '../../functions/core/policies.js';
import { migrateLocally } from '../../infra/local/local-migration.js';
import { seededId } from '../../infra/local/seed.js';
import { SOURCE_URL, seededSuite, TARGET_URL } from '../support/databases.js';
import { within } from '../support/deadline.js';
import { assertTargetExact } from '../support/exactness.js';
import { jsonSummary, migrateArgs, runMigrate } from '../support/migrate-cli.js';
import { slowRanges } from '../support/slow-ranges.js';

const TABLE = 'e2e_users';
const ROWS = 24_000;

describe('the synthesized workflow, run locally', () => {
  const pairOf = seededSuite(TABLE, ROWS);

  test('migrates a sparse-id table exactly with its unique and secondary indexes, and a second run gives the same target', async () => {
    const pair = pairOf();
    await pair.source
      .promise()
      .query(`ALTER TABLE ${TABLE} ADD UNIQUE KEY uq_email (email), ADD KEY idx_updated_at (updated_at)`);
    for (const attempt of [1, 2]) {
      const outcome = await migrateLocally({
        sourceUrl: SOURCE_URL,
        targetUrl: TARGET_URL,
        input: { table: TABLE, chunkRows: 2_500, concurrency: 4 },
      });
      assert.equal(outcome.run.status, 'SUCCEEDED', `run ${attempt}: ${JSON.stringify(outcome.run.error)}`);
      assert.equal(outcome.summary?.status, 'succeeded');
      assert.equal(outcome.summary?.rows, ROWS);
      assert.equal(outcome.summary?.ranges, 10);
      assert.equal(outcome.summary?.failed, 0);
      assert.deepEqual(outcome.failedBatches, []);
      const exact = await assertTargetExact(pair, TABLE);
      assert.equal(exact.rows.target, ROWS);
      const { rows: indexes } = await pair.target.query<{ def: string }>(
        `SELECT indexdef AS def FROM pg_indexes WHERE tablename = $1 AND indexname <> $1 || '_pkey' ORDER BY indexname`,
        [TABLE],
      );
      assert.deepEqual(
        indexes.map((index) => index.def),
        [
          `CREATE INDEX ${TABLE}_idx_updated_at ON public.${TABLE} USING btree (updated_at)`,
          `CREATE UNIQUE INDEX ${TABLE}_uq_email ON public.${TABLE} USING btree (email)`,
        ],
      );
      // The first run builds them and updated_at's ON UPDATE trigger; the second finds all three there.
      const { created, present } = outcome.summary!.finish!.counts;
      assert.deepEqual({ created, present }, attempt === 1 ? { created: 3, present: 0 } : { created: 0, present: 3 });
    }
  });

  test('a failing range reaches the queue as one message while the other ranges land, and the run fails', async () => {
    const pair = pairOf();
    const poisoned = seededId(12_345, ROWS);
    await pair.source.promise().query(`UPDATE ${TABLE} SET is_active = 2 WHERE id = ${poisoned}`);
    try {
      const outcome = await migrateLocally({
        sourceUrl: SOURCE_URL,
        targetUrl: TARGET_URL,
        input: { table: TABLE, chunkRows: 2_500, concurrency: 4 },
      });
      assert.equal(outcome.run.status, 'FAILED');
      assert.equal(outcome.run.error?.name, 'RangesFailedError');
      assert.equal(outcome.summary?.failed, 1);
      assert.equal(outcome.summary?.rows, ROWS - 2_500);

      assert.equal(outcome.failedBatches.length, 1);
      const message = failedBatchMessageSchema.parse(outcome.failedBatches[0]);
      assert.equal(message.runId, outcome.run.runId);
      assert.equal(message.execution, outcome.run.execution);
      assert.equal(message.table, TABLE);
      // Enough to re-run the range as the run would have: its policies travel with it.
      assert.deepEqual(message.policies, DEFAULT_POLICIES);
      assert.ok(BigInt(message.range.lo!) <= BigInt(poisoned) && BigInt(poisoned) < BigInt(message.range.hi!));
      assert.equal(message.error.name, 'ValueConversionError');
      assert.match(message.error.message, new RegExp(`is_active at key ${poisoned}`));
      assert.equal(message.key, String(poisoned));
      assert.deepEqual(
        outcome.summary?.failedRanges.map((r) => r.index),
        [message.range.index],
      );

      // Every other range landed in full.
      const outside = `id < ${message.range.lo} OR id >= ${message.range.hi}`;
      const exact = await assertTargetExact(pair, TABLE, { where: outside });
      assert.equal(exact.rows.target, ROWS - 2_500);
    } finally {
      await pair.source.promise().query(`UPDATE ${TABLE} SET is_active = 1 WHERE id = ${poisoned}`);
    }
  });

  test('npm run migrate exits non-zero and lists the failed range in its JSON summary', async () => {
    const pair = pairOf();
    const poisoned = seededId(100, ROWS);
    await pair.source.promise().query(`UPDATE ${TABLE} SET created_at = '0000-00-00 00:00:00' WHERE id = ${poisoned}`);
    try {
      const run = runMigrate(['--table', TABLE, '--chunk-rows', '6000', '--json']);
      await assert.rejects(run, (error: { code: number; stdout: string }) => {
        assert.equal(error.code, 1);
        const summary = jsonSummary(error.stdout);
        assert.equal(summary.status, 'failed');
        assert.equal(summary.ranges, 4);
        assert.equal(summary.failed, 1);
        assert.equal(summary.rows, ROWS - 6_000);
        assert.equal(summary.failedRanges[0].index, 0);
        assert.match(summary.failedRanges[0].error, /created_at at key \d+: zero date/);
        return true;
      });
    } finally {
      await pair.source
        .promise()
        .query(`UPDATE ${TABLE} SET created_at = '2020-01-01 00:00:00' WHERE id = ${poisoned}`);
    }
  });
  test('Ctrl-C stops npm run migrate: its table is free at once, it exits 130, and --retry-failed copies what it left', async () => {
    const pair = pairOf();
    // A first run creates the target table, so the slowdown can be put on it.
    const first = await migrateLocally({ sourceUrl: SOURCE_URL, targetUrl: TARGET_URL, input: { table: TABLE } });
    assert.equal(first.summary?.status, 'succeeded');
    // Each range's transaction waits on its first row, so the run is still copying when it is stopped.
    const fast = await slowRanges(pair.target, TABLE, 0.3);
    try {
      const before = await latestRun(pair);
      const child = spawn(
        process.execPath,
        migrateArgs(['--table', TABLE, '--chunk-rows', '1000', '--concurrency', '2']),
        {
          env: { ...process.env, FORCE_COLOR: '0' },
        },
      );
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
      const exited = once(child, 'exit') as Promise<[number | null]>;
      // Stopped once its first range has landed: the run holds the table and is mid-way.
      await within(60_000, 'a range of the run to land', waitForCopiedRange(pair, before));
      child.kill('SIGINT');
      const [code] = await within(60_000, 'npm run migrate to stop', exited);
      assert.equal(code, 130, stderr);
      assert.match(stderr, /was stopped; its tables are free again/);
      const { rows } = await pair.target.query<{ leases: number; status: string }>(
        `SELECT (SELECT count(*)::int FROM migration.leases WHERE table_name = $1) AS leases,
                (SELECT status FROM migration.runs ORDER BY started_at DESC LIMIT 1) AS status`,
        [TABLE],
      );
      assert.deepEqual(rows[0], { leases: 0, status: 'failed' });
    } finally {
      await fast();
    }
    const { stdout } = await runMigrate(['--table', TABLE, '--retry-failed', '--json']);
    const summary = jsonSummary(stdout);
    assert.equal(summary.status, 'succeeded');
    assert.ok(summary.ranges > 0 && summary.ranges < ROWS / 1_000, `${summary.ranges} ranges left to copy`);
    await assertTargetExact(pair, TABLE);
  });
});

type Pair = ReturnType<ReturnType<typeof seededSuite>>;

/** The latest run in the ledger, if any. */
async function latestRun(pair: Pair): Promise<string | null> {
  const { rows } = await pair.target
    .query<{ run_id: string }>('SELECT run_id FROM migration.runs ORDER BY started_at DESC LIMIT 1')
    .catch(() => ({ rows: [] }));
  return rows[0]?.run_id ?? null;
}

/** Waits until a run newer than `before` has a range that is no longer pending. */
async function waitForCopiedRange(pair: Pair, before: string | null): Promise<void> {
  for (;;) {
    const run = await latestRun(pair);
    if (run !== before) {
      const { rows } = await pair.target.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM migration.ranges WHERE run_id = $1 AND status <> 'pending'`,
        [run],
      );
      if (rows[0]!.n > 0) return;
    }
    await setTimeout(50);
  }
}
