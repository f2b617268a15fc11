import '../support/quiet-functions.js';
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, mock, test } from 'node:test';
import type { ConnectionPair } from '../../functions/core/connections.js';
import { copyRange } from '../../functions/core/copy-range.js';
import { releaseLeases } from '../../functions/core/lease.js';
import { type PlanResult, plan } from '../../functions/core/plan.js';
import { TARGET_BATCH_CHARS, targetRangeRows } from '../../functions/core/range-rows.js';
import { describeSourceTable } from '../../functions/core/schema.js';
import { summarize } from '../../functions/core/summarize.js';
import { verifyRange } from '../../functions/core/verify-range.js';
import { metrics } from '../../functions/middleware/observability.js';
import { handler as verifyRangeHandler } from '../../functions/verify-range/handler.js';
import { seededId, seedUsers } from '../../infra/local/seed.js';
import {
  assertConnectionsBackTo,
  closePair,
  dropTables,
  openConnectionCounts,
  openPair,
  SOURCE_URL,
  TARGET_URL,
} from '../support/databases.js';

const TABLE = 'verify_range';
const ROWS = 3_000;
const DEFAULTS = { tables: [TABLE], chunkRows: 1_000, concurrency: 2 };

describe('VerifyRange against MariaDB and PostgreSQL', () => {
  let pair: ConnectionPair;
  let planned: PlanResult;
  // The middle range: keys from seededId(1000) to seededId(2000), exclusive.
  const key = (i: number) => String(seededId(1_000 + i, ROWS));
  const item = () => ({ runId: planned.runId, table: TABLE, range: planned.ranges[1]!, policies: planned.policies });

  async function ledgerRange() {
    const { rows } = await pair.target.query(
      'SELECT status, rows::int AS rows, verification, checksum, error FROM migration.ranges WHERE run_id = $1 AND range_index = 1',
      [planned.runId],
    );
    return rows[0] as {
      status: string;
      rows: number;
      verification: string | null;
      checksum: string | null;
      error: string | null;
    };
  }

  async function assertMismatch(pattern: RegExp) {
    await assert.rejects(verifyRange(item(), pair), (error: Error) => {
      assert.equal(error.name, 'VerificationMismatchError');
      assert.match(error.message, pattern);
      return true;
    });
    const ledger = await ledgerRange();
    assert.equal(ledger.status, 'failed');
    assert.equal(ledger.verification, 'mismatch');
    assert.equal(ledger.checksum, null);
    assert.match(
      ledger.error!,
      new RegExp(
        `^VerificationMismatchError: ${TABLE} range \\[${key(0)}, ${key(1_000)}\\) differs: .*${pattern.source}`,
      ),
    );
  }

  before(async () => {
    pair = await openPair();
    await dropTables(pair, TABLE);
    await seedUsers(pair.source, { table: TABLE, rows: ROWS });
    const runId = `verify-range-${process.pid}`;
    planned = await plan({ input: {}, runId, execution: `local:${runId}` }, pair, DEFAULTS);
  });
  after(async () => {
    await pair.target.query('DELETE FROM migration.runs WHERE run_id = $1', [planned.runId]);
    await dropTables(pair, TABLE);
    await closePair(pair);
  });
  beforeEach(async () => {
    await copyRange(item(), pair);
  });

  test('a faithful copy verifies, with its row count and checksum in the ledger', async () => {
    const result = await verifyRange(item(), pair);
    assert.equal(result.rows, 1_000);
    // Each server summed its own rows, and they agreed: no row was read.
    assert.equal(result.compared, 0);
    assert.match(result.checksum, /^sum60:[0-9]+$/);
    assert.deepEqual(await ledgerRange(), {
      status: 'copied',
      rows: 1_000,
      verification: 'verified',
      checksum: result.checksum,
      error: null,
    });
    // The same rows give the same checksum.
    assert.equal((await verifyRange(item(), pair)).checksum, result.checksum);
    // Verifying by rows reads every row, and records the sha256 of them.
    const byRows = await verifyRange({ ...item(), verify: 'rows' }, pair);
    assert.deepEqual({ rows: byRows.rows, compared: byRows.compared }, { rows: 1_000, compared: 1_000 });
    assert.match(byRows.checksum, /^[0-9a-f]{64}$/);
    assert.equal((await ledgerRange()).checksum, byRows.checksum);
  });

  test('by rows, as by checksum, one changed value is named by column, key and both values', async () => {
    await pair.target.query(`UPDATE public.${TABLE} SET name = 'Mallory' WHERE id = $1`, [key(10)]);
    await assert.rejects(verifyRange({ ...item(), verify: 'rows' }, pair), {
      name: 'VerificationMismatchError',
      message: new RegExp(`1 changed; column name at key ${key(10)}: source "User 1010", target "Mallory"`),
    });
  });

  test('a range larger than a part compared by rows is split down to one, and its differences named', async () => {
    const whole = { ...item(), range: { index: 1, lo: null, hi: null } };
    for (const range of [planned.ranges[0]!, planned.ranges[2]!]) await copyRange({ ...item(), range }, pair);
    // One cent, one millisecond (the column's precision), one character, far apart: each half that differs is split again.
    const [first, middle, last] = [String(seededId(5, ROWS)), key(700), String(seededId(2_990, ROWS))];
    await pair.target.query(`UPDATE public.${TABLE} SET balance = balance + 0.01 WHERE id = $1`, [first]);
    await pair.target.query(
      `UPDATE public.${TABLE} SET created_at = created_at + interval '1 millisecond' WHERE id = $1`,
      [middle],
    );
    await pair.target.query(`UPDATE public.${TABLE} SET bio = coalesce(bio, '') || 'x' WHERE id = $1`, [last]);
    await assert.rejects(verifyRange(whole, pair), (error: Error) => {
      assert.match(error.message, /3000 source rows, 3000 target rows: 0 missing, 0 extra, 3 changed; /);
      assert.match(
        error.message,
        new RegExp(
          `column balance at key ${first}: .*column created_at at key ${middle}: .*column bio at key ${last}: `,
        ),
      );
      return true;
    });
    await pair.target.query(`DELETE FROM public.${TABLE} WHERE id = $1`, [middle]);
    await assert.rejects(verifyRange(whole, pair), {
      message: new RegExp(
        `3000 source rows, 2999 target rows: 1 missing, 0 extra, 2 changed; .*key ${middle} is missing from the target`,
      ),
    });
  });

  test('a target column that prints its values otherwise still verifies, through the row comparison', async () => {
    // A numeric column with more fractional digits holds the same numbers, printed with more zeros.
    await pair.target.query(`ALTER TABLE public.${TABLE} ALTER COLUMN balance TYPE numeric(14,4)`);
    try {
      const result = await verifyRange(item(), pair);
      assert.deepEqual({ rows: result.rows, compared: result.compared }, { rows: 1_000, compared: 1_000 });
    } finally {
      await pair.target.query(`ALTER TABLE public.${TABLE} ALTER COLUMN balance TYPE numeric(12,2)`);
    }
  });

  test('one changed value is named by column, key and both values', async () => {
    await pair.target.query(`UPDATE public.${TABLE} SET name = 'Mallory' WHERE id = $1`, [key(10)]);
    await assertMismatch(
      new RegExp(`0 missing, 0 extra, 1 changed; column name at key ${key(10)}: source "User 1010", target "Mallory"`),
    );
  });

  test('a row missing from the target is named by its key', async () => {
    await pair.target.query(`DELETE FROM public.${TABLE} WHERE id = $1`, [key(500)]);
    await assertMismatch(
      new RegExp(
        `1000 source rows, 999 target rows: 1 missing, 0 extra, 0 changed; key ${key(500)} is missing from the target`,
      ),
    );
  });

  test('a row the source does not have is named by its key', async () => {
    // Past the dense ids, seeded ids are three apart.
    const extra = String(BigInt(key(500)) + 1n);
    await pair.target.query(
      `INSERT INTO public.${TABLE} SELECT $1::numeric, email, name, created_at, updated_at, is_active, balance, status, bio FROM public.${TABLE} WHERE id = $2`,
      [extra, key(0)],
    );
    await assertMismatch(
      new RegExp(
        `1000 source rows, 1001 target rows: 0 missing, 1 extra, 0 changed; key ${extra} is in the target but not in the source`,
      ),
    );
  });

  test('a timestamp shifted by an hour is caught', async () => {
    await pair.target.query(`UPDATE public.${TABLE} SET updated_at = updated_at + interval '1 hour' WHERE id = $1`, [
      key(20),
    ]);
    const [[{ updated_at: original }]] = (await pair.source
      .promise()
      .query(`SELECT updated_at FROM ${TABLE} WHERE id = ?`, [key(20)])) as unknown as [[{ updated_at: string }]];
    const hour = Number(original.slice(11, 13));
    const shifted = `${original.slice(0, 11)}${String(hour + 1).padStart(2, '0')}${original.slice(13)}`;
    await assertMismatch(new RegExp(`column updated_at at key ${key(20)}: source "${original}", target "${shifted}"`));
  });

  test('copying the range again clears its mismatch, and it verifies', async () => {
    await pair.target.query(`UPDATE public.${TABLE} SET balance = balance + 1 WHERE id = $1`, [key(30)]);
    await assert.rejects(verifyRange(item(), pair), { name: 'VerificationMismatchError' });
    await copyRange(item(), pair);
    assert.equal((await ledgerRange()).verification, null);
    await verifyRange(item(), pair);
    assert.equal((await ledgerRange()).verification, 'verified');
  });

  test('the handler verifies with its own connection pair, closes it, and counts rows and mismatches', async (t) => {
    process.env.SOURCE_URL = SOURCE_URL;
    process.env.TARGET_URL = TARGET_URL;
    const added = mock.method(metrics, 'addMetric');
    t.after(() => mock.restoreAll());
    const idle = await openConnectionCounts(pair);

    await verifyRangeHandler(item(), {} as never);
    await assertConnectionsBackTo(pair, idle);

    await pair.target.query(`UPDATE public.${TABLE} SET bio = 'changed' WHERE id = $1`, [key(40)]);
    await assert.rejects(verifyRangeHandler(item(), {} as never), { name: 'VerificationMismatchError' });
    await assertConnectionsBackTo(pair, idle);

    assert.deepEqual(
      added.mock.calls.map((call) => call.arguments.slice(0, 1).concat(call.arguments[2])),
      [
        ['RowsVerified', 1_000],
        ['RangeErrors', 1],
        ['VerificationMismatches', 1],
      ],
    );
  });
});

describe('VerifyRange on every mapped type', () => {
  const TYPES_TABLE = 'verify_types';
  let pair: ConnectionPair;

  before(async () => {
    pair = await openPair();
    await dropTables(pair, TYPES_TABLE);
  });
  after(async () => {
    await dropTables(pair, TYPES_TABLE);
    await closePair(pair);
  });

  test('values each server prints differently still verify, and one changed byte does not', async () => {
    await pair.source.promise().query(`CREATE TABLE ${TYPES_TABLE} (
      id BIGINT UNSIGNED PRIMARY KEY, flag TINYINT(1), tiny TINYINT, small_u SMALLINT UNSIGNED, medium MEDIUMINT, int_u INT UNSIGNED,
      big BIGINT, dec65 DECIMAL(65,30), real_f FLOAT, dbl DOUBLE, yr YEAR, fixed CHAR(5), var VARCHAR(20), txt TEXT, long_txt LONGTEXT,
      en ENUM('', 'a', 'b'), st SET('x', 'y'), doc JSON, d DATE, dt DATETIME, dt6 DATETIME(6), ts TIMESTAMP(3) NULL,
      bin BINARY(4), vbin VARBINARY(8), blb BLOB
    )`);
    await pair.source.promise().query(`INSERT INTO ${TYPES_TABLE} VALUES
      (1, 1, -128, 65535, -8388608, 4294967295, -9223372036854775808, '-12345678901234567890123456789012345.123456789012345678901234567890',
       0.1, 1e20, 2155, 'ab', 'tab\\there', 'line\\nbreak \\\\ back', 'emoji 🚀 é', '', 'x,y', '{"b": [1, 2.50, {"z": null, "a": "s"}], "a": true}',
       '2024-02-29', '1970-01-01 00:00:00', '2038-01-19 03:14:07.999999', '2020-09-14 12:26:40.120', UNHEX('00FF0000'), UNHEX('0001'), UNHEX('DEADBEEF00')),
      (18446744073709551615, 0, 127, 0, 8388607, 0, 9223372036854775807, '0.000000000000000000000000000001',
       1.2345678, 0.0000001, 1901, '', '', '', NULL, 'b', '', '[]', '1000-01-01', '9999-12-31 23:59:59', '2020-01-01 00:00:00.100000', NULL,
       UNHEX('00000000'), UNHEX(''), UNHEX('')),
      (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`);
    const runId = `verify-types-${process.pid}`;
    const planned = await plan({ input: { table: TYPES_TABLE }, runId, execution: `local:${runId}` }, pair, DEFAULTS);
    try {
      const item = { runId, table: TYPES_TABLE, range: planned.ranges[0]!, policies: planned.policies };
      await copyRange(item, pair);
      assert.equal((await verifyRange(item, pair)).rows, 3);

      await pair.target.query(`UPDATE public.${TYPES_TABLE} SET blb = '\\xdeadbeef'::bytea WHERE id = 1`);
      await assert.rejects(verifyRange(item, pair), {
        name: 'VerificationMismatchError',
        message: /column blb at key 1: source "\\\\xdeadbeef00", target "\\\\xdeadbeef"/,
      });
      await pair.target.query(`UPDATE public.${TYPES_TABLE} SET blb = '\\xdeadbeef00'::bytea WHERE id = 1`);
      assert.equal((await verifyRange(item, pair)).compared, 3);
      // Floats and JSON have no canonical SQL: they are compared row by row, and still named.
      await pair.target.query(`UPDATE public.${TYPES_TABLE} SET dbl = 1e20 + 1e5 WHERE id = 1`);
      await assert.rejects(verifyRange(item, pair), {
        message: /1 changed; column dbl at key 1: source "100000000000000000000"/,
      });
      await pair.target.query(`UPDATE public.${TYPES_TABLE} SET dbl = 1e20, doc = doc - 'a' WHERE id = 1`);
      await assert.rejects(verifyRange(item, pair), { message: /1 changed; column doc at key 1: / });
    } finally {
      await pair.target.query('DELETE FROM migration.runs WHERE run_id = $1', [runId]);
    }
  });
});

describe('VerifyRange in incremental runs and while the source changes', () => {
  const LIVE = 'verify_live';
  const ROWS_LIVE = 1_200;
  let pair: ConnectionPair;
  let runs = 0;

  /** Plans a run and copies every range, as the workflow does before VerifyRange. */
  async function copyRun(input: Record<string, unknown>): Promise<PlanResult> {
    const runId = `verify-live-${process.pid}-${++runs}`;
    const planned = await plan(
      { input: { table: LIVE, chunkRows: 500, ...input }, runId, execution: `local:${runId}` },
      pair,
      DEFAULTS,
    );
    for (const range of planned.ranges)
      await copyRange({ runId, table: LIVE, range, changes: range.changes, policies: planned.policies }, pair);
    return planned;
  }
  const verifyAll = (planned: PlanResult) =>
    Promise.all(
      planned.ranges.map((range) =>
        verifyRange(
          { runId: planned.runId, table: LIVE, range, changes: range.changes, policies: planned.policies },
          pair,
        ),
      ),
    );

  before(async () => {
    pair = await openPair();
    await dropTables(pair, LIVE);
    await seedUsers(pair.source, { table: LIVE, rows: ROWS_LIVE });
    const full = await copyRun({});
    await verifyAll(full);
    await summarize({ runId: full.runId }, pair.target);
  });
  after(async () => {
    await pair.target.query(`DELETE FROM migration.runs WHERE run_id LIKE $1`, [`verify-live-${process.pid}-%`]);
    await dropTables(pair, LIVE);
    await closePair(pair);
  });

  test("an incremental run proves its changed rows and leaves alone the target's rows it did not touch", async () => {
    // Rows the source deleted stay in the target until a full run: not a difference here.
    await pair.source.promise().query(`DELETE FROM ${LIVE} WHERE id = ?`, [seededId(10, ROWS_LIVE)]);
    await pair.source
      .promise()
      .query(`UPDATE ${LIVE} SET name = 'renamed' WHERE id IN (?, ?)`, [
        seededId(20, ROWS_LIVE),
        seededId(900, ROWS_LIVE),
      ]);
    // Changed rows carry a change time before the next run's Plan.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const incremental = await copyRun({ mode: 'incremental' });
    const results = await verifyAll(incremental);
    assert.equal(
      results.reduce((sum, result) => sum + result.rows, 0),
      2,
    );

    await pair.target.query(`UPDATE public.${LIVE} SET name = 'renamed twice' WHERE id = $1`, [
      seededId(900, ROWS_LIVE),
    ]);
    const range = incremental.ranges.find((r) => r.hi === null)!;
    await assert.rejects(
      verifyRange(
        { runId: incremental.runId, table: LIVE, range, changes: range.changes, policies: incremental.policies },
        pair,
      ),
      {
        name: 'VerificationMismatchError',
        message: new RegExp(
          `2 source rows, 2 target rows: 0 missing, 0 extra, 1 changed; column name at key ${seededId(900, ROWS_LIVE)}: source "renamed", target "renamed twice"`,
        ),
      },
    );
    await pair.target.query(`DELETE FROM public.${LIVE} WHERE id = $1`, [seededId(900, ROWS_LIVE)]);
    await assert.rejects(
      verifyRange(
        { runId: incremental.runId, table: LIVE, range, changes: range.changes, policies: incremental.policies },
        pair,
      ),
      {
        name: 'VerificationMismatchError',
        message: new RegExp(`key ${seededId(900, ROWS_LIVE)} is missing from the target`),
      },
    );
    // The run ends failed, and gives the table back.
    await assert.rejects(summarize({ runId: incremental.runId }, pair.target), { name: 'RangesFailedError' });
  });

  test('rows the source changes after the run began are left to the next run; a row deleted meanwhile still shows', async () => {
    const full = await copyRun({});
    await pair.source
      .promise()
      .query(`UPDATE ${LIVE} SET bio = 'written during the run' WHERE id = ?`, [seededId(30, ROWS_LIVE)]);
    // Past the dense ids, seeded ids are three apart: this one is new.
    const inserted = seededId(499, ROWS_LIVE) + 1;
    await pair.source
      .promise()
      .query(
        `INSERT INTO ${LIVE} (id, email, name, created_at, is_active, balance, status) VALUES (?, 'new@example.com', 'New', NOW(), 1, 0, 'active')`,
        [inserted],
      );
    const results = await verifyAll(full);
    assert.equal(
      results.reduce((sum, result) => sum + result.unsettled, 0),
      2,
    );

    await pair.source.promise().query(`DELETE FROM ${LIVE} WHERE id = ?`, [seededId(40, ROWS_LIVE)]);
    await assert.rejects(
      verifyRange(
        { runId: full.runId, table: LIVE, range: full.ranges[0]!, changes: null, policies: full.policies },
        pair,
      ),
      {
        name: 'VerificationMismatchError',
        message: new RegExp(`key ${seededId(40, ROWS_LIVE)} is in the target but not in the source`),
      },
    );
  });
});

describe('VerifyRange of large values', () => {
  const BLOBS = 'verify_blobs';
  const ROWS_BLOBS = 12;
  // Three megabytes a value: six million characters of hex on the target side.
  const BLOB_BYTES = 3 * 1024 * 1024;
  let pair: ConnectionPair;

  before(async () => {
    pair = await openPair();
    await dropTables(pair, BLOBS);
    await pair.source.promise().query(`CREATE TABLE ${BLOBS} (id INT PRIMARY KEY, b LONGBLOB NOT NULL)`);
    for (let id = 1; id <= ROWS_BLOBS; id++) {
      await pair.source
        .promise()
        .query(`INSERT INTO ${BLOBS} VALUES (?, REPEAT(UNHEX(MD5(?)), ?))`, [id, id, BLOB_BYTES / 16]);
    }
  });
  after(async () => {
    await pair.target.query('DELETE FROM migration.runs WHERE run_id = $1', [`verify-blobs-${process.pid}`]);
    await dropTables(pair, BLOBS);
    await closePair(pair);
  });

  test('by checksum no value moves; by rows the target is read a few megabytes at a time, not a thousand rows', async () => {
    const runId = `verify-blobs-${process.pid}`;
    const planned = await plan({ input: { table: BLOBS }, runId, execution: `local:${runId}` }, pair, DEFAULTS);
    const item = { runId, table: BLOBS, range: planned.ranges[0]!, policies: planned.policies };
    await copyRange(item, pair);
    assert.deepEqual(await verifyRange(item, pair).then(({ rows, compared }) => ({ rows, compared })), {
      rows: ROWS_BLOBS,
      compared: 0,
    });
    assert.equal((await verifyRange({ ...item, verify: 'rows' }, pair)).compared, ROWS_BLOBS);

    const description = await describeSourceTable(pair.source, BLOBS, pair.target);
    const batches: number[] = [];
    for await (const rows of targetRangeRows(pair.target, description, item.range)) {
      assert.ok(rows.every((row) => row[1]!.length === 2 + 2 * BLOB_BYTES));
      batches.push(rows.length);
    }
    assert.equal(
      batches.reduce((sum, rows) => sum + rows, 0),
      ROWS_BLOBS,
    );
    const perBatch = Math.max(1, Math.floor(TARGET_BATCH_CHARS / (2 + 2 * BLOB_BYTES)));
    assert.ok(
      batches.every((rows) => rows <= perBatch),
      `batches of ${batches.join(', ')} rows`,
    );
  });
});

describe('VerifyRange over tuple keys', () => {
  const PAIRS = 'verify_pairs';
  const WORDS = 'verify_words';
  // More rows than a part compared by rows holds (1,000), so a mismatching range is cut first.
  const ROWS_TUPLE = 3_000;
  /**
   * Prefixes whose order under utf8mb4_general_ci is not their bytes': case (`B` before `a` in
   * bytes), accents (`é` after `z`), `_` (between upper and lower case), and a character beyond
   * U+FFFF, which comes before U+FFFD in UTF-16 but after it in UTF-8 (and equals it in the collation).
   */
  const PREFIXES = ['a', 'B', 'é', 'E', 'z', 'Ñ', 'ß', '_', '😀', '\uFFFD'];
  const word = (i: number) => `${PREFIXES[i % PREFIXES.length]}${i}`;
  // The words in the order both sides cut and compare them: their UTF-8 bytes'.
  const inByteOrder = Array.from({ length: ROWS_TUPLE }, (_, i) => word(i)).sort((a, b) =>
    Buffer.compare(Buffer.from(a), Buffer.from(b)),
  );
  let pair: ConnectionPair;
  const runIds: string[] = [];

  /** Plans the table in ranges of `chunkRows` and copies them all. */
  async function copied(table: string, chunkRows: number): Promise<PlanResult> {
    const runId = `verify-tuple-${process.pid}-${runIds.length}`;
    runIds.push(runId);
    const planned = await plan({ input: { table, chunkRows }, runId, execution: `local:${runId}` }, pair, DEFAULTS);
    for (const range of planned.ranges) await copyRange({ runId, table, range, policies: planned.policies }, pair);
    // The table is free for the next test's run.
    await releaseLeases(pair.target, runId);
    return planned;
  }
  const item = (planned: PlanResult, index: number) => ({
    runId: planned.runId,
    table: planned.tables[0]!,
    range: planned.ranges[index]!,
    policies: planned.policies,
  });

  /** The source's statements while `verify` runs, as their SQL text. */
  async function sourceStatements(verify: () => Promise<unknown>): Promise<string[]> {
    const query = mock.method(pair.source, 'query');
    try {
      await verify();
    } catch {
      // What was read is the question here; the outcome is asserted by the caller.
    } finally {
      query.mock.restore();
    }
    return query.mock.calls.map(({ arguments: [sql] }) =>
      typeof sql === 'string' ? sql : (sql as { sql: string }).sql,
    );
  }

  before(async () => {
    pair = await openPair();
    await dropTables(pair, PAIRS);
    await dropTables(pair, WORDS);
    const db = pair.source.promise();
    // A DOUBLE has no canonical SQL: it is compared row by row, beside the key.
    await db.query(`CREATE TABLE ${PAIRS} (a INT NOT NULL, b VARCHAR(20) NOT NULL, v VARCHAR(40), f DOUBLE, PRIMARY KEY (a, b))
      CHARSET utf8mb4 COLLATE utf8mb4_general_ci`);
    await db.query(`CREATE TABLE ${WORDS} (w VARCHAR(20) NOT NULL PRIMARY KEY, v VARCHAR(40), n INT)
      CHARSET utf8mb4 COLLATE utf8mb4_general_ci`);
    const rows = Array.from({ length: ROWS_TUPLE }, (_, i) => i);
    await db.query(`INSERT INTO ${PAIRS} VALUES ?`, [rows.map((i) => [i % 3, word(i), `value ${i}`, i / 7])]);
    await db.query(`INSERT INTO ${WORDS} VALUES ?`, [rows.map((i) => [word(i), `value ${i}`, i])]);
  });
  after(async () => {
    await pair.target.query('DELETE FROM migration.runs WHERE run_id = ANY($1)', [runIds]);
    await dropTables(pair, PAIRS);
    await dropTables(pair, WORDS);
    await closePair(pair);
  });

  test('a faithful copy verifies by checksum without a row read, and by rows merged in the same order on both sides', async () => {
    for (const table of [PAIRS, WORDS]) {
      const planned = await copied(table, 1_500);
      assert.equal(planned.ranges.length, 2, `${table} is cut by Plan`);
      for (const index of [0, 1]) {
        const result = await verifyRange(item(planned, index), pair);
        const compared = table === PAIRS ? 1_500 : 0;
        assert.deepEqual({ rows: result.rows, compared: result.compared }, { rows: 1_500, compared }, table);
        const byRows = await verifyRange({ ...item(planned, index), verify: 'rows' }, pair);
        assert.deepEqual({ rows: byRows.rows, compared: byRows.compared }, { rows: 1_500, compared: 1_500 }, table);
      }
    }
  });

  test('in a composite key, a changed value, a missing row and an extra row are named by key and column, in parts cut from the range, and a changed double too', async () => {
    const planned = await copied(PAIRS, 5_000);
    assert.deepEqual(
      planned.ranges.map(({ lo, hi }) => ({ lo, hi })),
      [{ lo: null, hi: null }],
    );
    // The sums agree, and the double is compared by key over the whole range.
    await pair.target.query(`UPDATE public.${PAIRS} SET f = 0.5 WHERE a = 2 AND b = $1`, [word(2_000)]);
    const changedDouble = `column f at key \\(2, "${word(2_000)}"\\): source "${2_000 / 7}", target "0.5"`;
    await assert.rejects(verifyRange(item(planned, 0), pair), {
      message: new RegExp(`0 missing, 0 extra, 1 changed; ${changedDouble}$`),
    });
    // Far apart in the key order, so each is found in a part of its own.
    await pair.target.query(`UPDATE public.${PAIRS} SET v = 'changed' WHERE a = 0 AND b = $1`, [word(3)]);
    await pair.target.query(`DELETE FROM public.${PAIRS} WHERE a = 1 AND b = $1`, [word(1_000)]);
    await pair.target.query(`INSERT INTO public.${PAIRS} VALUES (2, 'Zextra', 'extra', NULL)`);
    const expected = new RegExp(
      [
        '3000 source rows, 3000 target rows: 1 missing, 1 extra, 1 changed; ',
        `column v at key \\(0, "${word(3)}"\\): source "value 3", target "changed"; `,
        `key \\(1, "${word(1_000)}"\\) is missing from the target; `,
        'key \\(2, "Zextra"\\) is in the target but not in the source$',
      ].join(''),
    );
    const statements = await sourceStatements(() =>
      assert.rejects(verifyRange(item(planned, 0), pair), { name: 'VerificationMismatchError', message: expected }),
    );
    await assert.rejects(verifyRange(item(planned, 0), pair), { message: expected });
    // The range was cut by the source's key, and only parts of it were read row by row.
    assert.ok(statements.some((sql) => sql.includes('ROW_NUMBER()')));
    const rowReads = statements.filter((sql) => sql.startsWith('SELECT `a`, `b`, `v`, '));
    assert.ok(rowReads.length > 0 && rowReads.every((sql) => !sql.includes('WHERE TRUE')), rowReads.join('\n'));
    // By rows, the whole range is merged by key, and names the double too.
    await assert.rejects(verifyRange({ ...item(planned, 0), verify: 'rows' }, pair), {
      message: new RegExp(`1 missing, 1 extra, 2 changed; .*${changedDouble}`),
    });
  });

  test('in a text key whose collation orders otherwise, differences in a bounded range are named by key and column', async () => {
    const planned = await copied(WORDS, 1_500);
    const second = item(planned, 1);
    // Plan's boundary is the 1,500th word in byte order: the second range holds the rest.
    assert.deepEqual(JSON.parse(second.range.lo!), [inByteOrder[1_500]]);
    // The last word before the first of U+1F600: merged in UTF-16's order, every word after it would differ.
    const missing = inByteOrder.findLast((w) => w.startsWith('\uFFFD'))!;
    const changed = inByteOrder[1_600]!;
    const extra = `${inByteOrder[2_000]!}x`;
    await pair.target.query(`UPDATE public.${WORDS} SET n = -1 WHERE w = $1`, [changed]);
    await pair.target.query(`DELETE FROM public.${WORDS} WHERE w = $1`, [missing]);
    await pair.target.query(`INSERT INTO public.${WORDS} VALUES ($1, 'extra', 0)`, [extra]);
    const expected = new RegExp(
      [
        '1500 source rows, 1500 target rows: 1 missing, 1 extra, 1 changed; ',
        `column n at key "${changed}": source "${Number(changed.replace(/^\D+/, ''))}", target "-1"; `,
        `key "${extra}" is in the target but not in the source; `,
        `key "${missing}" is missing from the target$`,
      ].join(''),
    );
    await assert.rejects(verifyRange(second, pair), { name: 'VerificationMismatchError', message: expected });
    await assert.rejects(verifyRange({ ...second, verify: 'rows' }, pair), { message: expected });
    // The first range is untouched and still verifies.
    assert.equal((await verifyRange(item(planned, 0), pair)).compared, 0);
  });
});
