import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { failedBatchMessageSchema } from '../../functions/core/failed-batch.js';
import { DEFAULT_POLICIES } from '../../functions/core/policies.js';
import { migrateLocally } from '../../infra/local/local-migration.js';
import { seededId } from '../../infra/local/seed.js';
import { SOURCE_URL, seededSuite, TARGET_URL } from '../support/databases.js';
import { assertTargetExact } from '../support/exactness.js';

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
      const run = promisify(execFile)(
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
          '--chunk-rows',
          '6000',
          '--json',
        ],
        { env: { ...process.env, FORCE_COLOR: '0' } },
      );
      await assert.rejects(run, (error: { code: number; stdout: string }) => {
        assert.equal(error.code, 1);
        const summary = JSON.parse(error.stdout.trim().split('\n').at(-1)!);
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
});
