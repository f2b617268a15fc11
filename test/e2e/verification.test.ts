import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { ConnectionPair } from '../../functions/core/connections.js';
import type { FailedBatchMessage } from '../../functions/core/failed-batch.js';
import type { RunSummary } from '../../functions/core/ledger.js';
import { migrateLocally } from '../../infra/local/local-migration.js';
import { seededId, seedUsers } from '../../infra/local/seed.js';
import { closePair, dropTables, openPair, SOURCE_URL, TARGET_URL } from '../support/databases.js';
import { jsonSummary, runMigrate } from '../support/migrate-cli.js';

const TABLE = 'verified_e2e_verification';
const ROWS = 6_000;
const INPUT = { table: TABLE, chunkRows: 1_500, concurrency: 2 };

interface LedgerRange {
  range_index: number;
  lo: string | null;
  hi: string | null;
  status: string;
  rows: number | null;
  verification: string | null;
  checksum: string | null;
  error: string | null;
}

describe('verification in the workflow, run locally', () => {
  let pair: ConnectionPair;
  const runIds: string[] = [];

  const ledger = async (runId: string) =>
    (
      await pair.target.query<LedgerRange>(
        `SELECT range_index, lo::text, hi::text, status, rows::int AS rows, verification, checksum, error
           FROM migration.ranges WHERE run_id = $1 ORDER BY range_index`,
        [runId],
      )
    ).rows;

  const migrate = async (input: Record<string, unknown>) => {
    const outcome = await migrateLocally({ sourceUrl: SOURCE_URL, targetUrl: TARGET_URL, input });
    runIds.push(outcome.run.runId);
    return outcome;
  };

  before(async () => {
    pair = await openPair();
    await dropTables(pair, TABLE);
    await seedUsers(pair.source, { table: TABLE, rows: ROWS });
  });
  after(async () => {
    await pair.target.query('DELETE FROM migration.runs WHERE run_id = ANY($1)', [runIds]);
    await dropTables(pair, TABLE);
    await closePair(pair);
  });

  test("the execution's result says per range and in total what was copied and that it was verified, as the ledger has it", async () => {
    const outcome = await migrate(INPUT);
    assert.equal(outcome.run.status, 'SUCCEEDED', JSON.stringify(outcome.run.error));
    const result = outcome.run.output as RunSummary;
    assert.deepEqual(result, outcome.summary);

    const ranges = await ledger(outcome.run.runId);
    assert.equal(ranges.length, 4);
    assert.deepEqual(
      result.rangeResults.map(({ index, lo, hi, status, rows, verification, checksum }) => ({
        index,
        lo,
        hi,
        status,
        rows,
        verification,
        checksum,
      })),
      ranges.map((r) => ({
        index: r.range_index,
        lo: r.lo,
        hi: r.hi,
        status: r.status,
        rows: r.rows,
        verification: r.verification,
        checksum: r.checksum,
      })),
    );
    assert.ok(ranges.every((r) => r.status === 'copied' && r.verification === 'verified'));
    assert.equal(
      result.rows,
      ranges.reduce((sum, r) => sum + r.rows!, 0),
    );
    assert.equal(result.rows, ROWS);
    assert.deepEqual(
      {
        verify: result.verify,
        ranges: result.ranges,
        verifiedRanges: result.verifiedRanges,
        verifiedRows: result.verifiedRows,
        mismatched: result.mismatchedRanges,
        failed: result.failed,
      },
      { verify: true, ranges: 4, verifiedRanges: 4, verifiedRows: ROWS, mismatched: 0, failed: 0 },
    );

    assert.ok(ranges.every((r) => /^sum60:[0-9]+$/.test(r.checksum!)));
    assert.equal(new Set(ranges.map((r) => r.checksum)).size, ranges.length);
  });

  test("a range's checksum is the sum of its rows' hashes, or by rows their sha256, as VERIFICATION.md gives", async () => {
    const SMALL = 'verified_e2e_checksum';
    await dropTables(pair, SMALL);
    await pair.source.promise().query(
      `CREATE TABLE ${SMALL} (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL, amount DECIMAL(6,2) NOT NULL,
         at DATETIME(3) NOT NULL, flag TINYINT(1) NOT NULL, note TEXT NULL) DEFAULT CHARSET=utf8mb4`,
    );
    await pair.source.promise().query(
      `INSERT INTO ${SMALL} VALUES (1, 'Ann', 1.50, '2024-01-02 03:04:05.500', 1, NULL),
                                   (2, 'Zoë 🚀', -0.05, '2024-01-02 03:04:05.000', 0, 'tab\there')`,
    );
    try {
      const byChecksum = await migrate({ table: SMALL });
      assert.equal(byChecksum.run.status, 'SUCCEEDED', JSON.stringify(byChecksum.run.error));
      // Written out by hand: each column's canonical text (text after its length in characters,
      // NULL as N), joined by |; the first 60 bits of each row's md5, summed.
      const texts = [
        '1|3:Ann|1.50|2024-01-02 03:04:05.500 AD|true|N',
        '2|5:Zoë 🚀|-0.05|2024-01-02 03:04:05.000 AD|false|8:tab\there',
      ];
      const sum = texts.reduce(
        (total, text) => total + BigInt(`0x${createHash('md5').update(text).digest('hex').slice(0, 15)}`),
        0n,
      );
      assert.equal((await ledger(byChecksum.run.runId))[0]!.checksum, `sum60:${sum}`);

      const outcome = await migrate({ table: SMALL, verify: 'rows' });
      assert.equal(outcome.run.status, 'SUCCEEDED', JSON.stringify(outcome.run.error));
      // Written out by hand: decimals and fractions without trailing zeros, booleans as t/f,
      // NULL as JSON null, one JSON array and a newline per row, in key order.
      const canonical =
        '["1","Ann","1.5","2024-01-02 03:04:05.5","t",null]\n' +
        '["2","Zoë 🚀","-0.05","2024-01-02 03:04:05","f","tab\\there"]\n';
      const [range] = await ledger(outcome.run.runId);
      assert.equal(range!.checksum, createHash('sha256').update(canonical).digest('hex'));
    } finally {
      await dropTables(pair, SMALL);
    }
  });

  test('a target that alters a value on the way in fails that range at VerifyRange, and the failure reaches the queue', async () => {
    const altered = seededId(4_000, ROWS);
    // A trigger stands in for a faulty copy path: the data is changed after CopyRange wrote it faithfully.
    await pair.target.query(`CREATE OR REPLACE FUNCTION public.verified_alter_name() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN NEW.name := 'altered'; RETURN NEW; END $$`);
    await pair.target.query(
      `CREATE TRIGGER verified_alter_name BEFORE INSERT ON public.${TABLE} FOR EACH ROW WHEN (NEW.id = ${altered}) EXECUTE FUNCTION public.verified_alter_name()`,
    );
    try {
      const outcome = await migrate(INPUT);
      assert.equal(outcome.run.status, 'FAILED');
      assert.equal(outcome.run.error?.name, 'RangesFailedError');
      assert.equal(outcome.failedBatches.length, 1);
      const message = outcome.failedBatches[0] as FailedBatchMessage;
      assert.equal(message.runId, outcome.run.runId);
      assert.equal(message.error.name, 'VerificationMismatchError');
      assert.equal(message.key, String(altered));
      // Where the range differs leaves the Lambda; the values stay in the ledger.
      assert.match(
        message.error.message,
        new RegExp(`0 missing, 0 extra, 1 changed; column name at key ${altered} differs$`),
      );
      assert.doesNotMatch(JSON.stringify(message), /User 4000|altered/);

      const summary = outcome.summary!;
      assert.deepEqual(
        {
          failed: summary.failed,
          mismatched: summary.mismatchedRanges,
          verified: summary.verifiedRanges,
          rows: summary.rows,
          verifiedRows: summary.verifiedRows,
        },
        { failed: 1, mismatched: 1, verified: 3, rows: ROWS, verifiedRows: ROWS - 1_500 },
      );
      assert.deepEqual(
        summary.failedRanges.map((r) => r.index),
        [message.range.index],
      );
      const failed = (await ledger(outcome.run.runId)).find((r) => r.range_index === message.range.index)!;
      assert.equal(failed.status, 'failed');
      assert.equal(failed.verification, 'mismatch');
      assert.match(
        failed.error!,
        new RegExp(`^VerificationMismatchError: .*column name at key ${altered}: source "User 4000", target "altered"`),
      );
    } finally {
      await pair.target.query(`DROP TRIGGER IF EXISTS verified_alter_name ON public.${TABLE}`);
      await pair.target.query('DROP FUNCTION IF EXISTS public.verified_alter_name()');
    }
  });

  test('npm run migrate --no-verify skips VerifyRange and says so in its JSON summary', async () => {
    const { stdout } = await runMigrate(['--table', TABLE, '--chunk-rows', '3000', '--no-verify', '--json']);
    const summary = jsonSummary(stdout);
    runIds.push(summary.runId);
    assert.deepEqual(
      {
        status: summary.status,
        verify: summary.verify,
        ranges: summary.ranges,
        rows: summary.rows,
        verifiedRanges: summary.verifiedRanges,
        verifiedRows: summary.verifiedRows,
      },
      { status: 'succeeded', verify: false, ranges: 2, rows: ROWS, verifiedRanges: 0, verifiedRows: 0 },
    );
    assert.ok(
      (await ledger(summary.runId)).every(
        (r) => r.status === 'copied' && r.verification === null && r.checksum === null,
      ),
    );
  });

  test('a range copied over several invocations is verified whole, and a failed verification sends back the range as planned', async () => {
    const PARTS = 'verified_e2e_verify_parts';
    await dropTables(pair, PARTS);
    await seedUsers(pair.source, { table: PARTS, rows: 30 });
    // The first row of the second range is altered: only a verification from the range's start sees it.
    const altered = seededId(15, 30);
    await migrateLocally({
      sourceUrl: SOURCE_URL,
      targetUrl: TARGET_URL,
      input: { table: PARTS, chunkRows: 15, verify: false },
    }).then((o) => runIds.push(o.run.runId));
    await pair.target.query(`CREATE OR REPLACE FUNCTION public.verified_alter_part() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN NEW.bio := 'altered'; RETURN NEW; END $$`);
    await pair.target.query(
      `CREATE TRIGGER verified_alter_part BEFORE INSERT ON public.${PARTS} FOR EACH ROW WHEN (NEW.id = ${altered}) EXECUTE FUNCTION public.verified_alter_part()`,
    );
    // Each invocation has 1 s and keeps 1 s for committing: it copies one row, then hands back the rest.
    process.env.COPY_TIME_MARGIN_MS = '1000';
    try {
      const outcome = await migrateLocally({
        sourceUrl: SOURCE_URL,
        targetUrl: TARGET_URL,
        input: { table: PARTS, chunkRows: 15 },
        lambdaTimeoutMs: 1_000,
      });
      runIds.push(outcome.run.runId);
      assert.equal(outcome.run.status, 'FAILED');
      const ranges = await ledger(outcome.run.runId);
      assert.deepEqual(
        ranges.map((r) => ({ status: r.status, rows: r.rows, verification: r.verification })),
        [
          { status: 'copied', rows: 15, verification: 'verified' },
          { status: 'failed', rows: 15, verification: 'mismatch' },
        ],
      );
      assert.equal(outcome.failedBatches.length, 1);
      const message = outcome.failedBatches[0] as FailedBatchMessage;
      assert.deepEqual(message.range, { index: 1, lo: ranges[1]!.lo, hi: null });
      assert.equal(message.key, String(altered));
    } finally {
      delete process.env.COPY_TIME_MARGIN_MS;
      await dropTables(pair, PARTS);
      await pair.target.query('DROP FUNCTION IF EXISTS public.verified_alter_part()');
    }
  });
});
