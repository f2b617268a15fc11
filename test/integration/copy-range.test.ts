import '../support/quiet-functions.js';
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { handler as copyRangeHandler } from '../../functions/copy-range/handler.js';
import type { ConnectionPair } from '../../functions/core/connections.js';
import { copyRange } from '../../functions/core/copy-range.js';
import { quoteMysql } from '../../functions/core/identifiers.js';
import { releaseLeases } from '../../functions/core/lease.js';
import { type PlanResult, plan } from '../../functions/core/plan.js';
import type { KeyRange } from '../../functions/core/ranges.js';
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
import { readBothSides } from '../support/exactness.js';

const TABLE = 'it_copy_range';
const ROWS = 3_000;
const DEFAULTS = { tables: [TABLE], chunkRows: 1_000, concurrency: 2 };
const LAMBDA_CONTEXT = { getRemainingTimeInMillis: () => 15 * 60_000 } as never;

const inRange = (range: KeyRange) => (id: string) =>
  (range.lo === null || BigInt(id) >= BigInt(range.lo)) && (range.hi === null || BigInt(id) < BigInt(range.hi));

async function targetIds(pair: ConnectionPair): Promise<string[]> {
  const { rows } = await pair.target.query<{ id: string }>(`SELECT id::text AS id FROM public.${TABLE} ORDER BY id`);
  return rows.map((row) => row.id);
}

async function ledgerRange(pair: ConnectionPair, runId: string, index: number) {
  const { rows } = await pair.target.query(
    'SELECT status, rows::int AS rows, attempts, error FROM migration.ranges WHERE run_id = $1 AND range_index = $2',
    [runId, index],
  );
  return rows[0] as { status: string; rows: number | null; attempts: number; error: string | null };
}

describe('CopyRange against MariaDB and PostgreSQL', () => {
  let pair: ConnectionPair;
  let planned: PlanResult;
  let runCount = 0;

  before(async () => {
    pair = await openPair();
  });
  after(async () => {
    await dropTables(pair, TABLE);
    await closePair(pair);
  });
  beforeEach(async () => {
    await dropTables(pair, TABLE);
    await seedUsers(pair.source, { table: TABLE, rows: ROWS });
    const runId = `it-copy-range-${process.pid}-${++runCount}`;
    planned = await plan({ input: {}, runId, execution: `local:${runId}` }, pair, DEFAULTS);
  });

  test('Plan splits the sparse ids into ranges of chunkRows rows that cover the whole key space', () => {
    assert.equal(planned.ranges.length, 3);
    assert.equal(planned.ranges[0]!.lo, null);
    assert.equal(planned.ranges.at(-1)!.hi, null);
    assert.equal(planned.ranges[1]!.lo, String(seededId(1_000, ROWS)));
    assert.equal(planned.ranges[2]!.lo, String(seededId(2_000, ROWS)));
  });

  test('copies exactly the rows of its range, with their values intact, and records them in the ledger', async () => {
    const range = planned.ranges[1]!;
    const result = await copyRange({ runId: planned.runId, table: TABLE, range, policies: planned.policies }, pair);
    assert.equal(result.rows, 1_000);
    const both = await readBothSides(pair, TABLE);
    const expected = both.source.filter((row) => inRange(range)(row[0]!));
    assert.equal(expected.length, 1_000);
    assert.deepEqual(both.target, expected);
    assert.deepEqual(await ledgerRange(pair, planned.runId, 1), {
      status: 'copied',
      rows: 1_000,
      attempts: 1,
      error: null,
    });
  });

  test('running a range twice leaves no duplicates and removes target rows the source no longer has', async () => {
    const range = planned.ranges[2]!;
    await copyRange({ runId: planned.runId, table: TABLE, range, policies: planned.policies }, pair);
    // A row that exists only in the target, inside the range: a replace must remove it.
    const stale = String(BigInt(planned.ranges[2]!.lo!) + 1n);
    await pair.target.query(
      `INSERT INTO public.${TABLE} SELECT $1::numeric, email || 'x', name, created_at, updated_at, is_active, balance, status, bio FROM public.${TABLE} LIMIT 1`,
      [stale],
    );
    await copyRange({ runId: planned.runId, table: TABLE, range, policies: planned.policies }, pair);
    const ids = await targetIds(pair);
    assert.equal(ids.length, new Set(ids).size);
    assert.ok(!ids.includes(stale));
    const both = await readBothSides(pair, TABLE);
    assert.deepEqual(
      both.target,
      both.source.filter((row) => inRange(range)(row[0]!)),
    );
    assert.equal((await ledgerRange(pair, planned.runId, 2)).attempts, 2);
  });

  test('a value that cannot be represented fails the range loudly and writes nothing', async () => {
    const range = planned.ranges[0]!;
    await copyRange({ runId: planned.runId, table: TABLE, range, policies: planned.policies }, pair);
    const before = await readBothSides(pair, TABLE);
    await pair.source.promise().query(`UPDATE ${TABLE} SET is_active = 2 WHERE id = 500`);
    await pair.source.promise().query(`UPDATE ${TABLE} SET name = 'changed' WHERE id = 10`);
    await assert.rejects(
      copyRange({ runId: planned.runId, table: TABLE, range, policies: planned.policies }, pair),
      (error: Error) => {
        assert.equal(error.name, 'ValueConversionError');
        assert.match(error.message, /it_copy_range\.is_active at key 500: tinyint\(1\) holds 2/);
        return true;
      },
    );
    // The transaction rolled back: the earlier copy is untouched (id 10 keeps its old name).
    assert.deepEqual((await readBothSides(pair, TABLE)).target, before.target);
    const ledger = await ledgerRange(pair, planned.runId, 0);
    assert.equal(ledger.status, 'failed');
    assert.match(ledger.error!, /^ValueConversionError: .*key 500/);
  });

  test('when its time runs low, a range commits the rows read so far and says where the rest starts', async () => {
    const range = planned.ranges[1]!;
    const spent = { remainingMs: () => 0, marginMs: 1_000 };
    // An invocation whose time is already short still copies one row, so the range moves on.
    // Cutting the read short closes the source connection, as at the end of an invocation.
    const invoke = async (lo: string | null, budget?: typeof spent) => {
      const invocation = await openPair();
      return copyRange(
        { runId: planned.runId, table: TABLE, range: { ...range, lo }, policies: planned.policies },
        invocation,
        budget,
      ).finally(() => closePair(invocation));
    };
    const first = await invoke(range.lo, spent);
    assert.deepEqual([first.rows, first.next], [1, String(seededId(1_001, ROWS))]);
    const second = await invoke(first.next!, spent);
    assert.deepEqual([second.rows, second.next], [1, String(seededId(1_002, ROWS))]);
    const committed = await readBothSides(pair, TABLE);
    assert.deepEqual(
      committed.target,
      committed.source.filter((row) => inRange({ ...range, hi: second.next! })(row[0]!)),
    );
    assert.deepEqual(await ledgerRange(pair, planned.runId, 1), {
      status: 'pending',
      rows: 2,
      attempts: 1,
      error: null,
    });

    const rest = await invoke(second.next!);
    assert.deepEqual([rest.rows, rest.next], [998, undefined]);
    const both = await readBothSides(pair, TABLE);
    assert.deepEqual(
      both.target,
      both.source.filter((row) => inRange(range)(row[0]!)),
    );
    assert.deepEqual(await ledgerRange(pair, planned.runId, 1), {
      status: 'copied',
      rows: 1_000,
      attempts: 1,
      error: null,
    });
  });

  test("a row the target refuses fails its range with the row's key, and the range writes nothing", async () => {
    const range = planned.ranges[1]!;
    const poisoned = seededId(1_234, ROWS);
    await pair.target.query(`ALTER TABLE public.${TABLE} ADD CONSTRAINT ${TABLE}_no_poison CHECK (name <> 'poison')`);
    await pair.source.promise().query(`UPDATE ${TABLE} SET name = 'poison' WHERE id = ${poisoned}`);
    await assert.rejects(
      copyRange({ runId: planned.runId, table: TABLE, range, policies: planned.policies }, pair),
      (error: Error & { failingKey: string; attempts: number }) => {
        assert.equal(error.name, 'ValueConversionError');
        assert.equal(error.failingKey, String(poisoned));
        assert.equal(error.attempts, 1);
        return true;
      },
    );
    assert.deepEqual(await targetIds(pair), []);
    assert.equal((await ledgerRange(pair, planned.runId, 1)).status, 'failed');
  });

  test('the handler closes both connections after success and after a failure mid-stream', async () => {
    process.env.SOURCE_URL = SOURCE_URL;
    process.env.TARGET_URL = TARGET_URL;
    const idle = await openConnectionCounts(pair);
    const invoke = (range: KeyRange) =>
      copyRangeHandler({ runId: planned.runId, table: TABLE, range, policies: planned.policies }, LAMBDA_CONTEXT);

    await invoke(planned.ranges[1]!);
    await assertConnectionsBackTo(pair, idle);

    await pair.source.promise().query(`UPDATE ${TABLE} SET is_active = 7 WHERE id = ${seededId(2_500, ROWS)}`);
    await assert.rejects(invoke(planned.ranges[2]!), { name: 'ValueConversionError' });
    await assertConnectionsBackTo(pair, idle);

    await assert.rejects(
      copyRangeHandler(
        { runId: planned.runId, table: 'no_such_table', range: planned.ranges[0]!, policies: planned.policies },
        LAMBDA_CONTEXT,
      ),
      { name: 'InputValidationError' },
    );
    await assertConnectionsBackTo(pair, idle);
  });
});

describe('Plan refuses what it cannot migrate before writing anything', () => {
  let pair: ConnectionPair;
  before(async () => {
    pair = await openPair();
  });
  after(() => closePair(pair));

  test('a table missing from the source is refused naming the field', async () => {
    await assert.rejects(
      plan({ input: { table: 'no_such_table' }, runId: 'it-missing', execution: 'x' }, pair, DEFAULTS),
      (error: Error) => {
        assert.equal(error.name, 'InputValidationError');
        assert.match(error.message, /"table": no_such_table does not exist in the source/);
        return true;
      },
    );
  });

  test('a composite or non-integer key is cut into tuple ranges; a float or missing key makes one range replaced whole; a unique NOT NULL integer key is split on', async () => {
    const db = pair.source.promise();
    const tables = [
      'it_composite',
      'it_text_key',
      'it_float_key',
      'it_no_key',
      'it_unique',
      'it_no_key_long',
      'it_decimal',
    ];
    for (const table of tables) await dropTables(pair, table);
    await db.query('CREATE TABLE it_composite (a INT, b INT, PRIMARY KEY (a, b))');
    await db.query('CREATE TABLE it_text_key (code VARCHAR(10) PRIMARY KEY) COLLATE utf8mb4_general_ci');
    await db.query('CREATE TABLE it_float_key (f DOUBLE PRIMARY KEY)');
    await db.query('CREATE TABLE it_no_key (v INT, u INT UNIQUE)');
    await db.query('INSERT INTO it_composite VALUES ?', [Array.from({ length: 25 }, (_, i) => [i % 3, i])]);
    await db.query('INSERT INTO it_text_key VALUES ?', [['b', 'A', 'é', 'Z', 'a_', 'ß'].map((code) => [code])]);
    await db.query('CREATE TABLE it_unique (code VARCHAR(10) NOT NULL UNIQUE, n INT NOT NULL, UNIQUE KEY (n))');
    await db.query('INSERT INTO it_unique VALUES ?', [Array.from({ length: 30 }, (_, i) => [`c${i}`, i * 2])]);
    try {
      const planned = async (table: string, input: Record<string, unknown> = {}) => {
        const runId = `it-key-${table}`;
        try {
          return await plan({ input: { table, chunkRows: 10, ...input }, runId, execution: 'x' }, pair, DEFAULTS);
        } finally {
          await releaseLeases(pair.target, runId);
        }
      };
      // Boundaries are key tuples as JSON; text in its UTF-8 bytes' order, not the collation's.
      assert.deepEqual(
        (await planned('it_composite')).ranges.map(({ lo, hi }) => [lo, hi]),
        [
          [null, '["1","4"]'],
          ['["1","4"]', '["2","11"]'],
          ['["2","11"]', null],
        ],
      );
      assert.deepEqual(
        (await planned('it_text_key', { chunkRows: 2 })).ranges.map(({ lo, hi }) => [lo, hi]),
        [
          [null, '["a_"]'],
          ['["a_"]', '["ß"]'],
          ['["ß"]', null],
        ],
      );
      // A tuple key is upserted on: only the change column this table lacks stops an incremental run.
      await assert.rejects(planned('it_composite', { mode: 'incremental' }), {
        name: 'SchemaError',
        message: /it_composite has no change column/,
      });
      for (const [table, reason] of [
        ['it_float_key', /primary key \(f\) has a column of a type ranges cannot be cut on: one range, replaced whole/],
        ['it_no_key', /no primary key and no unique NOT NULL key: one range, replaced whole, verified as a multiset/],
      ] as const) {
        const { ranges } = await planned(table);
        assert.deepEqual(
          ranges.map(({ lo, hi }) => [lo, hi]),
          [[null, null]],
          table,
        );
        const { rows } = await pair.target.query('SELECT whole FROM migration.run_tables WHERE run_id = $1', [
          `it-key-${table}`,
        ]);
        assert.match(rows[0].whole, reason);
        await assert.rejects(planned(table, { mode: 'incremental' }), {
          name: 'SchemaError',
          message: /has no key to upsert changed rows by \(.*one range, replaced whole.*\): run "mode": "full" for it/,
        });
      }
      // PostgreSQL would cut a name of more than 63 bytes short: refused, named.
      await db.query(`CREATE TABLE it_no_key_long (${quoteMysql('ö'.repeat(40))} INT)`);
      await assert.rejects(planned('it_no_key_long'), {
        name: 'SchemaError',
        message: /longer than PostgreSQL's 63 bytes: ö{40}; rename it in the source/,
      });
      // A DECIMAL(18,0) key is cut like an integer one, beyond 2^53 and below zero.
      await db.query('CREATE TABLE it_decimal (price DECIMAL(18,0) NOT NULL PRIMARY KEY)');
      await db.query('INSERT INTO it_decimal VALUES ?', [Array.from({ length: 25 }, (_, i) => [`${(i - 12) * 1e15}`])]);
      assert.deepEqual(
        (await planned('it_decimal')).ranges.map(({ lo, hi }) => [lo, hi]),
        [
          [null, '-2000000000000000'],
          ['-2000000000000000', '8000000000000000'],
          ['8000000000000000', null],
        ],
      );
      // The integer unique key n is the one ranges are cut on, and the target enforces it.
      const unique = await planned('it_unique');
      assert.deepEqual(
        unique.ranges.map(({ lo, hi }) => [lo, hi]),
        [
          [null, '20'],
          ['20', '40'],
          ['40', null],
        ],
      );
    } finally {
      for (const table of tables) await dropTables(pair, table);
    }
  });
});
