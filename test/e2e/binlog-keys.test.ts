import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ConnectionPair, closeSource, closeTarget } from '../../functions/core/connections.js';
import { migrateLocally } from '../../infra/local/local-migration.js';
import { binlogSourceUrl } from '../support/binlog-source.js';
import { freshDatabases, TARGET_URL, withDatabase } from '../support/databases.js';
import { within } from '../support/deadline.js';
import { assertTargetExact } from '../support/exactness.js';

const KEYED = ['Order-Lines', 'codes', 'tags'];

const SCHEMA = [
  // A composite key with a case-insensitive text column, under a name with a hyphen.
  `CREATE TABLE \`Order-Lines\` (order_id INT NOT NULL, code VARCHAR(20) NOT NULL, qty INT NOT NULL,
     PRIMARY KEY (order_id, code)) CHARSET utf8mb4 COLLATE utf8mb4_general_ci`,
  // Binary and decimal key columns.
  'CREATE TABLE codes (code VARBINARY(8) NOT NULL, price DECIMAL(6,2) NOT NULL, label TEXT, PRIMARY KEY (code, price))',
  // No primary key: a unique NOT NULL key of text and date.
  `CREATE TABLE tags (tag VARCHAR(30) NOT NULL, day DATE NOT NULL, amount DECIMAL(8,2), UNIQUE KEY (tag, day))
     CHARSET utf8mb4 COLLATE utf8mb4_general_ci`,
  // No key at all: binlog runs cannot follow it.
  'CREATE TABLE heap (note VARCHAR(10))',
];

describe('binlog runs over a whole database of composite, text, binary, decimal and date keys', {
  timeout: 300_000,
}, () => {
  const database = `${new URL(binlogSourceUrl()).pathname.slice(1)}_keys`;
  const source = withDatabase(binlogSourceUrl(), database);
  const target = withDatabase(TARGET_URL, database);
  let pair: ConnectionPair;
  const sql = (statement: string, values: unknown[] = []) => pair.source.promise().query(statement, values);
  const migrate = (input: Record<string, unknown>) =>
    within(120_000, 'the run', migrateLocally({ sourceUrl: source, targetUrl: target, input }));

  before(async () => {
    pair = await freshDatabases(database, binlogSourceUrl());
    for (const statement of SCHEMA) await sql(statement);
    await sql('INSERT INTO `Order-Lines` VALUES ?', [
      Array.from({ length: 60 }, (_, i) => [Math.floor(i / 3) + 1, `item-${i}`, i]),
    ]);
    await sql('INSERT INTO codes VALUES ?', [
      Array.from({ length: 20 }, (_, i) => [Buffer.from([i, 0, 255]), (i / 4).toFixed(2), `label ${i}`]),
    ]);
    await sql('INSERT INTO tags VALUES ?', [
      Array.from({ length: 20 }, (_, i) => [`tag ${i}`, `2024-02-${String(i + 1).padStart(2, '0')}`, i]),
    ]);
    await sql("INSERT INTO heap VALUES ('a'), ('a')");
  });
  after(async () => {
    await closeSource(pair.source);
    await closeTarget(pair.target);
  });

  test('after a full run, key updates (a case change included), updates, inserts and deletes land exactly, through the cut-over', async () => {
    const full = await migrate({});
    assert.equal(full.run.status, 'SUCCEEDED', JSON.stringify(full.run.error));

    await sql('UPDATE `Order-Lines` SET code = UPPER(code) WHERE order_id = 1');
    await sql('UPDATE `Order-Lines` SET order_id = 100 WHERE order_id = 2');
    await sql('UPDATE `Order-Lines` SET qty = -1 WHERE order_id = 3');
    await sql('DELETE FROM `Order-Lines` WHERE order_id = 4');
    await sql("INSERT INTO `Order-Lines` VALUES (5, 'Ünïcode ✓', 9)");
    await sql('UPDATE codes SET price = price + 10 WHERE code = ?', [Buffer.from([1, 0, 255])]);
    await sql('DELETE FROM codes WHERE code = ?', [Buffer.from([2, 0, 255])]);
    await sql("UPDATE tags SET tag = 'TAG 1', day = '2025-01-01' WHERE tag = 'tag 1'");
    await sql("DELETE FROM tags WHERE tag IN ('tag 2', 'tag 3')");
    await sql("INSERT INTO heap VALUES ('b')");

    // The whole database: the key-less table is refused, named with what to do; the others are applied.
    const binlog = await migrate({ mode: 'binlog' });
    assert.equal(binlog.run.status, 'FAILED');
    const heap = binlog.summary?.tables.find((t) => t.table === 'heap');
    assert.match(
      heap?.refused ?? '',
      /^Table heap has no primary key and no unique NOT NULL key: .*keep it on full runs$/,
    );
    assert.equal(binlog.changes?.status, 'applied');
    assert.deepEqual(binlog.changes?.changedKeys, { 'Order-Lines': 6 + 6 + 3 + 3 + 1, codes: 2 + 1, tags: 2 + 2 });
    for (const table of KEYED) await assertTargetExact(pair, table);

    // Left out, the run succeeds; a second round of changes lands exactly.
    await sql('UPDATE `Order-Lines` SET code = LOWER(code) WHERE order_id = 1');
    await sql('DELETE FROM codes WHERE price > 10');
    await sql("INSERT INTO tags VALUES ('tag 2', '2024-02-03', 1.25)");
    const next = await migrate({ mode: 'binlog', excludeTables: 'heap' });
    assert.equal(next.run.status, 'SUCCEEDED', JSON.stringify(next.run.error));
    assert.equal(next.changes?.transactions, 3);
    for (const table of KEYED) await assertTargetExact(pair, table);

    // The cut-over applies the last change and verifies every table whole.
    await sql("DELETE FROM `Order-Lines` WHERE code = 'Ünïcode ✓'");
    const cutover = await migrate({ mode: 'cutover', quietSeconds: 1, excludeTables: 'heap' });
    assert.equal(cutover.run.status, 'SUCCEEDED', JSON.stringify(cutover.run.error));
    assert.equal(cutover.changes?.transactions, 1);
    assert.ok((cutover.summary?.ranges ?? 0) >= KEYED.length);
    assert.equal(cutover.summary?.verifiedRanges, cutover.summary?.ranges, 'every range was verified');
    for (const table of KEYED) await assertTargetExact(pair, table);
  });
});
