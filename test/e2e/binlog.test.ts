import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ConnectionPair } from '../../functions/core/connections.js';
import { changesReport } from '../../infra/cli/migrate.js';
import { migrateLocally } from '../../infra/local/local-migration.js';
import { seededId, seedUsers } from '../../infra/local/seed.js';
import { binlogSourceUrl, openBinlogPair, withBinlogSource } from '../support/binlog-source.js';
import { closePair, dropTables, readBothSides, TARGET_URL } from '../support/databases.js';

const TABLE = 'binlog_e2e_users';
const ROWS = 3_000;
const CHUNK_ROWS = 1_000;

const migrate = (input: Record<string, unknown>) =>
  migrateLocally({
    sourceUrl: binlogSourceUrl(),
    targetUrl: TARGET_URL,
    input: { table: TABLE, chunkRows: CHUNK_ROWS, ...input },
  });

describe('binlog runs and cut-over through the workflow, locally', { timeout: 300_000 }, () => {
  let pair: ConnectionPair;
  const id = (i: number) => seededId(i, ROWS);

  before(async () => {
    pair = await openBinlogPair();
    await dropTables(pair, TABLE);
    await pair.target.query('DELETE FROM migration.binlog_checkpoints WHERE table_name = $1', [TABLE]);
    await seedUsers(pair.source, { table: TABLE, rows: ROWS });
  });
  after(async () => {
    await dropTables(pair, TABLE);
    await closePair(pair);
  });

  const exact = async () => {
    const both = await readBothSides(pair, TABLE);
    assert.deepEqual(both.target, both.source);
  };

  test('after a full run, two rounds of inserts, updates and deletes reach the target through binlog runs', async () => {
    const full = await migrate({});
    assert.equal(full.summary?.status, 'succeeded', JSON.stringify(full.run.error));
    const source = pair.source.promise();
    for (const round of [1, 2]) {
      await source.query(`UPDATE ${TABLE} SET name = ?, balance = balance + 1 WHERE id IN (?)`, [
        `round ${round}`,
        [id(round), id(1_500 + round), id(2_999)],
      ]);
      await source.query(`DELETE FROM ${TABLE} WHERE id IN (?)`, [[id(10 + round), id(2_000 + round)]]);
      await source.query(
        `INSERT INTO ${TABLE} (id, email, name, created_at, is_active, balance, status, bio)
         VALUES (?, 'new@example.com', 'new', '2024-02-29 12:00:00.125', 1, '0.01', 'active', 'tab\there')`,
        [9_000_000_000 + round],
      );
      const binlog = await migrate({ mode: 'binlog' });
      assert.equal(binlog.run.status, 'SUCCEEDED', JSON.stringify(binlog.run.error));
      assert.equal(binlog.summary?.mode, 'binlog');
      assert.equal(binlog.changes?.status, 'applied');
      assert.equal(binlog.changes?.transactions, 3);
      assert.equal(binlog.changes?.rowsWritten, 3 + 1);
      assert.equal(binlog.changes?.caughtUp, true);
      // What `migrate` prints: where the log was read, and the lag.
      const printed = Object.fromEntries(changesReport(binlog.changes!));
      assert.match(String(printed['binary log']), /^mariadb-bin\.\d+:\d+ .* -> mariadb-bin\.\d+:\d+/);
      assert.match(String(printed.lag), /^\d+(\.\d+)? s$/);
      await exact();
    }
  });

  test('cut-over: with writes stopped it applies the last changes and verifies every range', async () => {
    await pair.source.promise().query(`DELETE FROM ${TABLE} WHERE id = ?`, [id(100)]);
    const cutover = await migrate({ mode: 'cutover', quietSeconds: 1 });
    assert.equal(cutover.run.status, 'SUCCEEDED', JSON.stringify(cutover.run.error));
    assert.equal(cutover.changes?.status, 'applied');
    assert.ok((cutover.changes?.transactions ?? 0) >= 1);
    assert.equal(cutover.summary?.ranges, Math.ceil(ROWS / CHUNK_ROWS));
    assert.equal(cutover.summary?.verifiedRanges, cutover.summary?.ranges, 'every range was verified');
    await exact();
  });

  test('cut-over while the source still takes writes fails saying so, having applied them', async () => {
    let writes = 0;
    let writing = true;
    const writer = withBinlogSource(async (db) => {
      while (writing) {
        await db.query(`UPDATE ${TABLE} SET name = ? WHERE id = ?`, [`write ${++writes}`, id(5)]);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    });
    let cutover: Awaited<ReturnType<typeof migrate>>;
    try {
      cutover = await migrate({ mode: 'cutover', quietSeconds: 1 });
    } finally {
      writing = false;
      await writer;
    }
    assert.equal(cutover.run.status, 'FAILED');
    assert.equal(cutover.run.error?.name, 'ChangesFailedError');
    assert.match(
      cutover.run.error?.message ?? '',
      /WritesContinueError: The source still takes writes: \d+ transactions changed 1 keys of binlog_e2e_users/,
    );
    assert.equal(cutover.changes?.status, 'failed');
    assert.ok(writes > 0);
    // What it read was applied: a binlog run now has only the writes made after it.
    const next = await migrate({ mode: 'binlog' });
    assert.equal(next.run.status, 'SUCCEEDED', JSON.stringify(next.run.error));
    await exact();
  });
});
