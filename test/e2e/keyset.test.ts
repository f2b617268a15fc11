import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ConnectionPair } from '../../functions/core/connections.js';
import { quoteMysql, quotePg } from '../../functions/core/identifiers.js';
import { quoted } from '../../functions/core/range-rows.js';
import { rangeCondition } from '../../functions/core/ranges.js';
import { describeSourceTable } from '../../functions/core/schema.js';
import { verifyRange } from '../../functions/core/verify-range.js';
import { migrateLocally } from '../../infra/local/local-migration.js';
import { freshDatabaseSuite, SOURCE_URL, TARGET_URL, withDatabase } from '../support/databases.js';
import { within } from '../support/deadline.js';
import { assertTargetExact } from '../support/exactness.js';

const DATABASE = `${new URL(SOURCE_URL).pathname.slice(1)}_keyset`;
const SOURCE = withDatabase(SOURCE_URL, DATABASE);
const TARGET = withDatabase(TARGET_URL, DATABASE);

const SCHEMA = [
  // Text under a case- and accent-insensitive PAD SPACE collation, alone and in a composite key.
  'CREATE TABLE words (w VARCHAR(20) NOT NULL PRIMARY KEY, n INT NOT NULL) CHARSET utf8mb4 COLLATE utf8mb4_general_ci',
  `CREATE TABLE pairs (a INT NOT NULL, b VARCHAR(20) NOT NULL, v INT, PRIMARY KEY (a, b))
     CHARSET utf8mb4 COLLATE utf8mb4_general_ci`,
  'CREATE TABLE uuids (id BINARY(16) NOT NULL PRIMARY KEY, n INT NOT NULL)',
  'CREATE TABLE prices (price DECIMAL(18,4) NOT NULL PRIMARY KEY, label VARCHAR(10))',
  'CREATE TABLE events (d DATE NOT NULL, t DATETIME(3) NOT NULL, n INT NOT NULL, PRIMARY KEY (d, t))',
];

/**
 * Keys whose order under utf8mb4_general_ci differs from their bytes': case (`B1` before `a2` in
 * bytes, after it in the collation), accents (`é` after `f` in bytes), `ß` (equal to `s` in the
 * collation), `_` (between upper and lower case in bytes) and spaces, inner and trailing (PAD
 * SPACE: `x ` equals `x` in the collation, so only one of them is a key).
 */
const WORDS = [
  'a',
  'A_',
  'a_b',
  'a b',
  'ab',
  'aB1',
  'B1',
  'b1 ',
  'Émile',
  'emil',
  'f',
  'ßa',
  'sb',
  'Straße',
  'strasse',
  'x ',
  'x!',
  'x\t',
  'Z',
  'z_',
  'é1',
  'E2',
  '_',
  ' lead',
  'ss',
  'ß',
];

async function seed(source: ConnectionPair['source']): Promise<void> {
  const db = source.promise();
  for (const statement of SCHEMA) await db.query(statement);
  // What the collation takes for an existing key is left out (`x ` and `x`, say): the rest are distinct.
  await db.query('INSERT IGNORE INTO words VALUES ?', [WORDS.map((w, i) => [w, i])]);
  await db.query('INSERT IGNORE INTO pairs VALUES ?', [
    Array.from({ length: 4 }, (_, a) => WORDS.slice(0, 12).map((b, i) => [a, b, a * 100 + i])).flat(),
  ]);
  await db.query('INSERT INTO uuids VALUES ?', [
    Array.from({ length: 30 }, (_, i) => {
      const bytes = Buffer.alloc(16);
      bytes[0] = (i * 37) % 256;
      // Some end in zero bytes, as BINARY(16) pads them; some start with 0xff.
      if (i % 3) bytes.fill(0xff - i, 1, 10 + (i % 6));
      return [bytes, i];
    }),
  ]);
  await db.query('INSERT INTO prices VALUES ?', [
    Array.from({ length: 30 }, (_, i) => [
      `${i % 2 ? '-' : ''}${i * 1234567}.${String(i * 37).padStart(4, '0')}`,
      `p${i}`,
    ]),
  ]);
  await db.query('INSERT INTO events VALUES ?', [
    Array.from({ length: 30 }, (_, i) => [
      `2024-0${1 + (i % 3)}-1${i % 10}`,
      `2024-05-0${1 + (i % 9)} 10:00:0${i % 10}.${String(i * 7).padStart(3, '0')}`,
      i,
    ]),
  ]);
}

const TABLES = ['events', 'pairs', 'prices', 'uuids', 'words'];

/** Text matched as itself in a RegExp. */
const literally = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('ranges over any key', () => {
  const pairOf = freshDatabaseSuite(DATABASE, seed);

  test('composite, text, binary, decimal and date keys are cut into several ranges, each the same rows on both sides, every table exact', async () => {
    const pair = pairOf();
    const outcome = await within(
      120_000,
      'the keyset run',
      migrateLocally({ sourceUrl: SOURCE, targetUrl: TARGET, input: { chunkRows: 4, concurrency: 4 } }),
    );
    assert.equal(outcome.run.status, 'SUCCEEDED', JSON.stringify(outcome.run.error));
    const summary = outcome.summary!;
    assert.deepEqual(
      summary.tables.map((t) => t.table),
      TABLES,
    );
    for (const t of summary.tables) {
      assert.equal(t.whole, null, `${t.table} is cut into ranges`);
      assert.ok(t.ranges >= 5, `${t.table} has ${t.ranges} ranges`);
      assert.equal(t.verifiedRanges, t.ranges, `${t.table}: every range verified`);
    }
    for (const table of TABLES) {
      const { rows: source } = await assertTargetExact(pair, table);
      // No row copied twice (each range's copy counts its rows), none lost between two ranges.
      const { rows } = await pair.target.query(
        'SELECT sum(rows)::int AS copied FROM migration.ranges WHERE run_id = $1 AND table_name = $2',
        [outcome.run.runId, table],
      );
      assert.equal(rows[0].copied, source.source, `${table}: rows copied`);
    }
    // Each range means the same rows on both sides: counted by each side's own condition.
    const { rows: ranges } = await pair.target.query(
      'SELECT table_name, range_index, lo, hi FROM migration.ranges WHERE run_id = $1 ORDER BY range_index',
      [outcome.run.runId],
    );
    for (const table of TABLES) {
      const description = await describeSourceTable(pair.source, table, pair.target);
      const own = ranges.filter((r) => r.table_name === table);
      let total = 0;
      for (const range of own) {
        const [[sourceCount]] = (await pair.source
          .promise()
          .query(
            `SELECT COUNT(*) AS n FROM ${quoteMysql(table)} WHERE ${rangeCondition(quoted('source', description), range)}`,
          )) as unknown as [[{ n: number }]];
        const { rows: targetCount } = await pair.target.query(
          `SELECT count(*)::int AS n FROM ${quotePg(table)} WHERE ${rangeCondition(quoted('target', description), range)}`,
        );
        assert.equal(Number(sourceCount.n), targetCount[0].n, `${table} range ${range.lo}..${range.hi}`);
        assert.ok(Number(sourceCount.n) <= 4, `${table} range ${range.lo}..${range.hi} holds at most chunkRows`);
        total += Number(sourceCount.n);
      }
      const [[all]] = (await pair.source
        .promise()
        .query(`SELECT COUNT(*) AS n FROM ${quoteMysql(table)}`)) as unknown as [[{ n: number }]];
      assert.equal(total, Number(all.n), `${table}: the ranges cover every row once`);
    }

    const verifyAgain = (table: string, range: { range_index: number; lo: string; hi: string | null }) =>
      verifyRange(
        {
          runId: outcome.run.runId,
          table,
          range: { index: range.range_index, lo: range.lo, hi: range.hi },
          policies: summary.policies,
        },
        pair,
      );
    // A row missing from the target at a range's lower boundary is found by that range's verification, and named.
    const boundary = ranges.find((r) => r.table_name === 'words' && r.lo !== null)!;
    const [first] = JSON.parse(boundary.lo) as [string];
    await pair.target.query('DELETE FROM words WHERE w = $1', [first]);
    await assert.rejects(verifyAgain('words', boundary), {
      name: 'VerificationMismatchError',
      message: new RegExp(
        `1 missing, 0 extra, 0 changed; key ${literally(JSON.stringify(first))} is missing from the target$`,
      ),
    });
    // A changed value at a composite key's boundary is named by the key's values and the column.
    const pairsBoundary = ranges.find((r) => r.table_name === 'pairs' && r.lo !== null)!;
    const [a, b] = JSON.parse(pairsBoundary.lo) as [string, string];
    await pair.target.query('UPDATE pairs SET v = -1 WHERE a = $1 AND b = $2', [a, b]);
    await assert.rejects(verifyAgain('pairs', pairsBoundary), {
      message: new RegExp(
        `0 missing, 0 extra, 1 changed; column v at key ${literally(`(${a}, ${JSON.stringify(b)})`)}: `,
      ),
    });
  });
});
