import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ConnectionPair } from '../../functions/core/connections.js';
import { quoteMysql, quotePg } from '../../functions/core/identifiers.js';
import { migrateLocally } from '../../infra/local/local-migration.js';
import { freshDatabaseSuite, SOURCE_URL, TARGET_URL, withDatabase } from '../support/databases.js';
import { within } from '../support/deadline.js';
import { assertTargetExact } from '../support/exactness.js';
import { jsonSummary, runMigrate } from '../support/migrate-cli.js';

const DATABASE = `${new URL(SOURCE_URL).pathname.slice(1)}_whole`;
const SOURCE = withDatabase(SOURCE_URL, DATABASE);
const TARGET = withDatabase(TARGET_URL, DATABASE);

/** A sakila-shaped subset, with names MySQL allows that a plain identifier is not. */
const SCHEMA = [
  `CREATE TABLE actor (
     actor_id SMALLINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
     first_name VARCHAR(45) NOT NULL, last_name VARCHAR(45) NOT NULL,
     last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP
   ) CHARSET utf8mb4 COLLATE utf8mb4_general_ci`,
  `CREATE TABLE film (
     film_id SMALLINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
     title VARCHAR(128) NOT NULL, description TEXT, release_year YEAR,
     rental_rate DECIMAL(4,2) NOT NULL DEFAULT 4.99,
     rating ENUM('G','PG','PG-13','R','NC-17') DEFAULT 'G',
     special_features SET('Trailers','Commentaries','Deleted Scenes','Behind the Scenes')
   ) CHARSET utf8mb4`,
  // Composite primary key: film_actor as sakila has it.
  `CREATE TABLE film_actor (
     actor_id SMALLINT UNSIGNED NOT NULL, film_id SMALLINT UNSIGNED NOT NULL,
     last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
     PRIMARY KEY (actor_id, film_id)
   )`,
  'CREATE TABLE `Order-Lines` (`Line ID` INT NOT NULL PRIMARY KEY, `Qty` INT NOT NULL, `Note "quoted"` VARCHAR(20))',
  'CREATE TABLE `größe` (`id` BIGINT NOT NULL PRIMARY KEY, `maß` VARCHAR(10) NOT NULL) CHARSET utf8mb4',
  'CREATE TABLE audit_log (id INT NOT NULL PRIMARY KEY, what VARCHAR(20))',
  // Text, decimal and binary keys: ranges are cut on them too.
  `CREATE TABLE city (code VARCHAR(10) NOT NULL PRIMARY KEY, n INT) CHARSET utf8mb4 COLLATE utf8mb4_general_ci`,
  'CREATE TABLE price_point (price DECIMAL(18,0) NOT NULL PRIMARY KEY, label VARCHAR(10))',
  'CREATE TABLE uuid_map (id BINARY(16) NOT NULL PRIMARY KEY, n INT NOT NULL)',
  // No key at all, and the same row twice.
  'CREATE TABLE payment_log (amount DECIMAL(5,2), note VARCHAR(10))',
  // No primary key: the unique NOT NULL integer key cuts the ranges.
  'CREATE TABLE staff (email VARCHAR(50) NOT NULL UNIQUE, staff_no INT NOT NULL UNIQUE, name VARCHAR(20))',
  // A view is no table of its own: a whole-database run leaves it out.
  'CREATE VIEW film_titles AS SELECT film_id, title FROM film',
];

const ROWS: Record<string, number> = { actor: 200, film: 1_000, 'Order-Lines': 300, größe: 50, audit_log: 20 };

/** The tables without a single-column primary key, each with its columns as both servers print them alike. */
const BY_TEXT: Record<string, { mysql: string; pg: string; rows: number }> = {
  film_actor: { mysql: 'actor_id, film_id', pg: 'actor_id, film_id', rows: 400 },
  city: { mysql: 'code, n', pg: 'code, n', rows: 8 },
  price_point: { mysql: 'price, label', pg: 'price, label', rows: 200 },
  uuid_map: { mysql: 'LOWER(HEX(id)), n', pg: "encode(id, 'hex'), n", rows: 40 },
  payment_log: { mysql: 'amount, note', pg: 'amount, note', rows: 6 },
  staff: { mysql: 'email, staff_no, name', pg: 'email, staff_no, name', rows: 100 },
};

/** Every row of a table on each side as text, sorted: equal lists are equal multisets, duplicates included. */
async function assertSameRows(pair: ConnectionPair, table: string): Promise<void> {
  const { mysql, pg, rows } = BY_TEXT[table]!;
  const [source] = await pair.source
    .promise()
    .query({ sql: `SELECT CONCAT_WS('|', ${mysql}) FROM ${quoteMysql(table)}`, rowsAsArray: true });
  const target = await pair.target.query({
    text: `SELECT concat_ws('|', ${pg}) FROM ${quotePg(table)}`,
    rowMode: 'array',
  });
  const sorted = (list: unknown[][]) => list.map((row) => String(row[0])).sort();
  assert.equal((source as unknown[][]).length, rows, table);
  assert.deepEqual(sorted(target.rows), sorted(source as unknown[][]), `${table} differs`);
}

async function seed(source: ConnectionPair['source']): Promise<void> {
  const db = source.promise();
  for (const statement of SCHEMA) await db.query(statement);
  const names = ['ÉMILE', 'emile', 'Straße', 'strasse', 'a_b', 'a b'];
  await db.query('INSERT INTO actor (actor_id, first_name, last_name) VALUES ?', [
    Array.from({ length: ROWS.actor! }, (_, i) => [i + 1, names[i % names.length], `last ${i}`]),
  ]);
  await db.query(
    'INSERT INTO film (film_id, title, description, release_year, rental_rate, rating, special_features) VALUES ?',
    [
      Array.from({ length: ROWS.film! }, (_, i) => [
        i * 3 + 1,
        `FILM ${i}`,
        i % 7 ? `about ${i}` : null,
        1990 + (i % 30),
        (i % 500) / 100,
        ['G', 'PG', 'PG-13', 'R', 'NC-17'][i % 5],
        i % 2 ? 'Trailers,Deleted Scenes' : '',
      ]),
    ],
  );
  await db.query('INSERT INTO film_actor (actor_id, film_id) VALUES ?', [
    Array.from({ length: 400 }, (_, i) => [(i % ROWS.actor!) + 1, Math.floor(i / 2) * 3 + 1]),
  ]);
  await db.query('INSERT INTO `Order-Lines` VALUES ?', [
    Array.from({ length: ROWS['Order-Lines']! }, (_, i) => [i * 10 - 1_000, i, i % 3 ? `n'o"te ${i}` : null]),
  ]);
  await db.query('INSERT INTO `größe` VALUES ?', [
    Array.from({ length: ROWS.größe! }, (_, i) => [BigInt(i) * 1_000_000_000_000n, `Maß ${i}`]),
  ]);
  await db.query('INSERT INTO audit_log VALUES ?', [Array.from({ length: ROWS.audit_log! }, (_, i) => [i, `w${i}`])]);
  // Keys that differ by case, accents, ß/ss, _ and spaces: distinct under utf8mb4_general_ci.
  await db.query('INSERT INTO city VALUES ?', [
    ['Émile', 'emil', 'a_b', 'a b', 'ab', 'Straße', 'strasse', 'Z'].map((code, i) => [code, i]),
  ]);
  await db.query('INSERT INTO price_point VALUES ?', [
    Array.from({ length: 200 }, (_, i) => [`${i % 2 ? '-' : ''}${BigInt(i) * 1_000_000_007_000n}`, `p${i}`]),
  ]);
  await db.query('INSERT INTO uuid_map VALUES ?', [
    Array.from({ length: 40 }, (_, i) => [Buffer.from(i.toString(16).padStart(2, '0').repeat(16), 'hex'), i]),
  ]);
  await db.query('INSERT INTO payment_log VALUES ?', [
    [
      ['1.50', 'a'],
      ['1.50', 'a'],
      ['2.00', null],
      [null, 'b'],
      ['-3.25', 'c'],
      ['1.50', 'a'],
    ],
  ]);
  await db.query('INSERT INTO staff VALUES ?', [
    Array.from({ length: 100 }, (_, i) => [`s${i}@example.com`, i * 4, `Staff ${i}`]),
  ]);
}

describe('a whole database in one run', () => {
  const pairOf = freshDatabaseSuite(DATABASE, seed);

  test('with no table named, every base table is planned into one Map and lands exactly: split on its key, or one range replaced whole', async () => {
    const pair = pairOf();
    const outcome = await within(
      120_000,
      'the whole-database run',
      migrateLocally({ sourceUrl: SOURCE, targetUrl: TARGET, input: { chunkRows: 90, concurrency: 4 } }),
    );
    assert.equal(outcome.run.status, 'SUCCEEDED', JSON.stringify(outcome.run.error));
    const summary = outcome.summary!;
    // In the order MySQL lists them (its collation's); the view is left out.
    assert.deepEqual(
      summary.tables.map((t) => [t.table, t.rows, t.ranges, t.verifiedRanges, t.refused]),
      [
        ['actor', 200, 3, 3, null],
        ['audit_log', 20, 1, 1, null],
        ['city', 8, 1, 1, null],
        ['film', 1_000, 12, 12, null],
        ['film_actor', 400, 5, 5, null],
        ['größe', 50, 1, 1, null],
        ['Order-Lines', 300, 4, 4, null],
        ['payment_log', 6, 1, 1, null],
        ['price_point', 200, 3, 3, null],
        ['staff', 100, 2, 2, null],
        ['uuid_map', 40, 1, 1, null],
      ],
    );
    const whole = Object.fromEntries(summary.tables.map((t) => [t.table, t.whole]));
    // A composite key's ranges are cut on its tuples.
    assert.equal(whole.film_actor, null);
    assert.match(whole.payment_log!, /no primary key and no unique NOT NULL key: .*verified as a multiset of rows/);
    assert.equal(whole.staff, null);
    // A DECIMAL(18,0) key is an integer one: its ranges are cut like any other's.
    assert.equal(whole.price_point, null);
    assert.equal(summary.ranges, summary.verifiedRanges);
    for (const table of Object.keys(ROWS)) await assertTargetExact(pair, table);
    for (const table of Object.keys(BY_TEXT)) await assertSameRows(pair, table);
    // Each table's lease is given back, and its watermark moved where it has a change column.
    const { rows: leases } = await pair.target.query('SELECT table_name FROM migration.leases');
    assert.deepEqual(leases, []);
    const { rows: marks } = await pair.target.query('SELECT table_name FROM migration.watermarks ORDER BY table_name');
    assert.deepEqual(marks, [{ table_name: 'actor' }, { table_name: 'film_actor' }]);

    // A key-less table's verification counts duplicates: one copy of a twice-held row missing is found.
    await pair.target.query(
      `DELETE FROM payment_log WHERE ctid = (SELECT min(ctid) FROM payment_log WHERE note = 'a')`,
    );
    const { verifyRange } = await import('../../functions/core/verify-range.js');
    const { rows: ranges } = await pair.target.query(
      `SELECT range_index FROM migration.ranges WHERE run_id = $1 AND table_name = 'payment_log'`,
      [outcome.run.runId],
    );
    await assert.rejects(
      verifyRange(
        {
          runId: outcome.run.runId,
          table: 'payment_log',
          range: { index: ranges[0].range_index, lo: null, hi: null },
          policies: summary.policies,
        },
        pair,
      ),
      { name: 'VerificationMismatchError', message: /6 source rows, 5 target rows: 1 missing, 0 extra/ },
    );
  });

  test('an incremental run of the whole database refuses, with the reason, each table it cannot follow, and copies the others', async () => {
    const outcome = await migrateLocally({ sourceUrl: SOURCE, targetUrl: TARGET, input: { mode: 'incremental' } });
    assert.equal(outcome.run.error?.name, 'SchemaError');
    assert.match(outcome.run.error?.message ?? '', /2 tables migrated; 9 tables not migrated .*"excludeTables"/);
    const refused = Object.fromEntries(outcome.summary!.tables.map((t) => [t.table, t.refused]));
    assert.equal(refused.actor, null);
    assert.match(refused.film!, /no change column/);
    // A composite key is upserted on all its columns; only a table without a key is left to full runs.
    assert.equal(refused.film_actor, null);
    assert.match(refused.payment_log!, /no key to upsert changed rows by \(no primary key and no unique NOT NULL key/);
  });

  test('npm run migrate with --exclude-tables leaves out what it matches and succeeds, per table in its JSON', async () => {
    const run = await within(
      120_000,
      'npm run migrate',
      runMigrate(['--exclude-tables', 'film_*,audit?log,city,p*,uuid_map,staff', '--chunk-rows', '100', '--json'], {
        source: SOURCE,
        target: TARGET,
      }),
    );
    const summary = jsonSummary(run.stdout);
    assert.equal(summary.status, 'succeeded');
    assert.equal(summary.table, 'actor, film, größe, Order-Lines');
    assert.deepEqual(
      summary.tables.map((t: { table: string; ranges: number; verifiedRanges: number }) => [
        t.table,
        t.ranges,
        t.verifiedRanges,
      ]),
      [
        ['actor', 2, 2],
        ['film', 10, 10],
        ['größe', 1, 1],
        ['Order-Lines', 3, 3],
      ],
    );
    // The person's view: one line per table, verified exact.
    assert.match(run.stderr, /tables\s+4 of 4 migrated/);
    assert.match(run.stderr, /größe\s+50\s+1 of 1 ok\s+exact/);
  });

  test('a failed range of one table: the run fails naming it, and `migrate --retry-failed` with no table copies just that range', async () => {
    const pair = pairOf();
    const db = pair.source.promise();
    await db.query("UPDATE film SET description = CONCAT('a', CHAR(0), 'b') WHERE film_id = 301");
    try {
      const failed = await migrateLocally({ sourceUrl: SOURCE, targetUrl: TARGET, input: { chunkRows: 90 } });
      assert.equal(failed.run.error?.name, 'RangesFailedError');
      assert.match(
        failed.run.error?.message ?? '',
        /1 of \d+ ranges of .* failed: film \[\d+, \d+\) ValueConversionError/,
      );
      assert.deepEqual(
        failed.summary!.tables.filter((t) => t.failed > 0).map((t) => t.table),
        ['film'],
      );
    } finally {
      await db.query("UPDATE film SET description = 'fixed' WHERE film_id = 301");
    }
    const retry = await within(
      120_000,
      'npm run migrate --retry-failed',
      runMigrate(['--retry-failed', '--json'], { source: SOURCE, target: TARGET }),
    );
    const summary = jsonSummary(retry.stdout);
    assert.deepEqual(
      [summary.status, summary.table, summary.ranges, summary.verifiedRanges],
      ['succeeded', 'film', 1, 1],
    );
    assert.match(retry.stderr, /Retrying the 1 unfinished range of run /);
    await assertTargetExact(pair, 'film');
  });

  test('--tables picks tables by their MySQL names; a name that is not a base table is refused before anything is written', async () => {
    const picked = await migrateLocally({
      sourceUrl: SOURCE,
      targetUrl: TARGET,
      input: { tables: ['Order-Lines', 'größe'], chunkRows: 1_000 },
    });
    assert.equal(picked.run.status, 'SUCCEEDED', JSON.stringify(picked.run.error));
    assert.deepEqual(
      picked.summary?.tables.map((t) => t.table),
      ['Order-Lines', 'größe'],
    );
    const missing = await migrateLocally({
      sourceUrl: SOURCE,
      targetUrl: TARGET,
      input: { tables: ['actor', 'film_titles', 'nope'] },
    });
    assert.equal(missing.run.error?.name, 'InputValidationError');
    assert.match(missing.run.error?.message ?? '', /"tables": film_titles, nope do not exist in the source database/);
    // A table named in the input that cannot be migrated refuses the run, not just itself.
    const named = await migrateLocally({
      sourceUrl: SOURCE,
      targetUrl: TARGET,
      input: { tables: ['actor', 'film'], mode: 'incremental' },
    });
    assert.equal(named.run.error?.name, 'SchemaError');
    assert.equal(named.summary, null);
  });
});
