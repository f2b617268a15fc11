import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { KEYS_PER_READ } from '../../functions/core/binlog/apply.js';
import { applyChanges, type ChangesLimits } from '../../functions/core/binlog/apply-changes.js';
import type { ConnectionPair } from '../../functions/core/connections.js';
import { copyRange } from '../../functions/core/copy-range.js';
import { SchemaError } from '../../functions/core/errors.js';
import { quoteMysql } from '../../functions/core/identifiers.js';
import { releaseLease, takeLease } from '../../functions/core/lease.js';
import { type PlanEvent, plan } from '../../functions/core/plan.js';
import { DEFAULT_POLICIES } from '../../functions/core/policies.js';
import { summarize } from '../../functions/core/summarize.js';
import { verifyRange } from '../../functions/core/verify-range.js';
import { openBinlogPair } from '../support/binlog-source.js';
import { closePair, dropTables } from '../support/databases.js';
import { assertTargetExact } from '../support/exactness.js';

// A composite key with a case-insensitive text column, under a name with a hyphen and a space;
// a unique NOT NULL key of text and date (no primary key); a binary and decimal key; a key of
// fractional and whole DATETIMEs; no key at all.
const LINES = 'bk order-lines x';
const TAGS = 'bk_tags';
const CODES = 'bk_codes';
const EVENTS = 'bk_events';
const HEAP = 'bk_heap';
const KEYED = [LINES, TAGS, CODES, EVENTS];
const LIMITS: ChangesLimits = { maxReadMs: 60_000, maxKeys: 100_000, idleMs: 10_000 };
const BUDGET = { remainingMs: () => 10 * 60_000, marginMs: 0 };

let runs = 0;
const planEvent = (input: Record<string, unknown>): PlanEvent => {
  const runId = `binlog-keys-${process.pid}-${++runs}`;
  return { input, runId, execution: `local:${runId}` };
};

describe('binlog runs follow any key: composite, unique NOT NULL, text, binary, decimal, date', {
  timeout: 240_000,
}, () => {
  let pair: ConnectionPair;
  const sql = (statement: string, values: unknown[] = []) => pair.source.promise().query(statement, values);

  before(async () => {
    pair = await openBinlogPair();
    for (const table of [...KEYED, HEAP]) await dropTables(pair, table);
    await pair.target.query('DELETE FROM migration.binlog_checkpoints WHERE table_name = ANY($1)', [[...KEYED, HEAP]]);
    await sql(`CREATE TABLE ${quoteMysql(LINES)} (
      order_id INT NOT NULL, code VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL,
      qty INT NOT NULL, PRIMARY KEY (order_id, code))`);
    await sql(`CREATE TABLE ${TAGS} (
      tag VARCHAR(30) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL, day DATE NOT NULL,
      amount DECIMAL(8,2), UNIQUE KEY tag_day (tag, day))`);
    await sql(`CREATE TABLE ${CODES} (code VARBINARY(8) NOT NULL, price DECIMAL(6,2) NOT NULL, label TEXT,
      PRIMARY KEY (code, price))`);
    await sql(`CREATE TABLE ${EVENTS} (at DATETIME(3) NOT NULL, day DATETIME NOT NULL, n INT, PRIMARY KEY (at, day))`);
    await sql(`CREATE TABLE ${HEAP} (note TEXT)`);
    await sql(`INSERT INTO ${quoteMysql(LINES)} VALUES ?`, [
      Array.from({ length: KEYS_PER_READ + 20 }, (_, i) => [Math.floor(i / 3) + 1, `item-${i % 3}-${i}`, i]),
    ]);
    await sql(`INSERT INTO ${TAGS} VALUES ?`, [
      Array.from({ length: 30 }, (_, i) => [`tag ${i}`, `2024-01-${String((i % 28) + 1).padStart(2, '0')}`, i]),
    ]);
    await sql(`INSERT INTO ${CODES} VALUES ?`, [
      Array.from({ length: 30 }, (_, i) => [Buffer.from([i, 0, 255]), (i / 4).toFixed(2), `label ${i}`]),
    ]);
    await sql(`INSERT INTO ${EVENTS} VALUES ?`, [
      Array.from({ length: 10 }, (_, i) => [
        `2024-03-${String(i + 1).padStart(2, '0')} 10:00:00.${i}`,
        '2024-03-01',
        i,
      ]),
    ]);
    await sql(`INSERT INTO ${HEAP} VALUES ('a'), ('a')`);
    for (const table of [...KEYED, HEAP]) {
      const planned = await plan(planEvent({ table }), pair, { chunkRows: 1_000, concurrency: 2 });
      for (const range of planned.ranges) {
        const item = { runId: planned.runId, table, range, changes: null, policies: DEFAULT_POLICIES };
        await copyRange(item, pair);
        await verifyRange(item, pair);
      }
      assert.equal((await summarize({ runId: planned.runId }, pair.target)).status, 'succeeded');
    }
  });
  after(async () => {
    for (const table of [...KEYED, HEAP]) await dropTables(pair, table);
    await closePair(pair);
  });

  /** A binlog run of `tables` as the workflow makes it: Plan, ApplyChanges, Summarize. */
  async function binlogRun(tables: string[]) {
    const planned = await plan(planEvent({ tables, mode: 'binlog' }), pair, { chunkRows: 1_000, concurrency: 2 });
    for (const table of tables.slice(1))
      await takeLease(pair.target, { table, runId: planned.runId, execution: planned.execution });
    try {
      return await applyChanges(
        { runId: planned.runId, tables, mode: 'binlog', policies: DEFAULT_POLICIES },
        pair,
        BUDGET,
        LIMITS,
      );
    } finally {
      await summarize({ runId: planned.runId }, pair.target).catch(() => {});
      for (const table of tables.slice(1)) await releaseLease(pair.target, table, planned.runId);
    }
  }

  test('inserts, updates, key updates (a case change included) and deletes land by key tuple', async () => {
    // Every line changes first: the keys changed later come after more keys than one source read takes.
    await sql(`UPDATE ${quoteMysql(LINES)} SET qty = qty + 100`);
    await sql(`INSERT INTO ${quoteMysql(LINES)} VALUES (1, 'new', 5), (9999, 'Ünïcode ✓', 1)`);
    // The same key to MySQL, another to PostgreSQL: the old spelling must go, the new come.
    await sql(`UPDATE ${quoteMysql(LINES)} SET code = UPPER(code) WHERE order_id = 3`);
    // A key of the first read changes into one of the last read: the source gives the row for both spellings.
    await sql(`UPDATE ${quoteMysql(LINES)} SET code = 'ITEM-0-0' WHERE order_id = 1 AND code = 'item-0-0'`);
    await sql(`UPDATE ${quoteMysql(LINES)} SET order_id = 5000 WHERE order_id = 4`);
    await sql(`DELETE FROM ${quoteMysql(LINES)} WHERE order_id = 5`);
    await sql(`UPDATE ${TAGS} SET tag = 'TAG 1', amount = 7.5 WHERE tag = 'tag 1'`);
    await sql(`UPDATE ${TAGS} SET day = '2025-12-31' WHERE tag = 'tag 2'`);
    await sql(`DELETE FROM ${TAGS} WHERE tag = 'tag 3'`);
    await sql(`INSERT INTO ${TAGS} VALUES ('tag 3', '2024-01-04', NULL)`);
    await sql(`UPDATE ${CODES} SET price = price + 1, label = 'repriced' WHERE code = ?`, [Buffer.from([1, 0, 255])]);
    await sql(`UPDATE ${CODES} SET code = x'00' WHERE code = ?`, [Buffer.from([2, 0, 255])]);
    await sql(`DELETE FROM ${CODES} WHERE code = ?`, [Buffer.from([3, 0, 255])]);
    await sql(`INSERT INTO ${CODES} VALUES (x'ff00', 0.01, NULL)`);
    await sql(`UPDATE ${EVENTS} SET at = '1999-12-31 23:59:59.999' WHERE n = 1`);
    await sql(`UPDATE ${EVENTS} SET n = 100 WHERE at = '2024-03-03 10:00:00.200'`);
    await sql(`UPDATE ${EVENTS} SET day = '2024-03-01 00:00:01' WHERE n = 4`);
    await sql(`DELETE FROM ${EVENTS} WHERE n = 3`);
    await sql(`INSERT INTO ${EVENTS} VALUES ('2024-03-01 10:00:00', '2024-03-01 23:59:59', 11)`);

    const applied = await binlogRun(KEYED);
    assert.equal(applied.caughtUp, true);
    // Each key once per spelling the log gives: before and after images, inserts and deletes.
    assert.deepEqual(applied.changedKeys, {
      [LINES]: KEYS_PER_READ + 20 + 2 + 3 + 1 + 3,
      [TAGS]: 2 + 2 + 1,
      [CODES]: 2 + 2 + 1 + 1,
      [EVENTS]: 2 + 1 + 2 + 1 + 1,
    });
    for (const table of KEYED) await assertTargetExact(pair, table);
    const { rows } = await pair.target.query(`SELECT code FROM public."${LINES}" WHERE order_id = 3 ORDER BY code`);
    assert.deepEqual(
      rows.map((row) => row.code),
      ['ITEM-0-6', 'ITEM-1-7', 'ITEM-2-8'],
    );
  });

  test('a table without a key is refused for binlog runs, named with the reason and what to do', async () => {
    await assert.rejects(binlogRun([CODES, HEAP]), (error: Error) => {
      assert.ok(error instanceof SchemaError, String(error));
      assert.match(error.message, /Binlog runs cannot follow 1 table \(bk_heap\)/);
      assert.match(error.message, /no primary key and no unique NOT NULL key/);
      assert.match(error.message, /--mode full/);
      return true;
    });
  });
});
