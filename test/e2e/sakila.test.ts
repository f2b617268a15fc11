import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ConnectionPair } from '../../functions/core/connections.js';
import { quoteMysql } from '../../functions/core/identifiers.js';
import { migrateLocally } from '../../infra/local/local-migration.js';
import { SAKILA_ROWS, SAKILA_TABLES, seedSakila } from '../../infra/local/sakila.js';
import { closePair, freshDatabases, SOURCE_URL, TARGET_URL, withDatabase } from '../support/databases.js';
import { within } from '../support/deadline.js';
import { assertTargetExact } from '../support/exactness.js';

// A database of its own on both servers: the run takes every table it finds there.
const DATABASE = `${new URL(SOURCE_URL).pathname.slice(1)}_sakila`;
const inDatabase = (url: string) => withDatabase(url, DATABASE);

describe('sakila, the whole database in one run', () => {
  let pair: ConnectionPair;
  before(async () => {
    pair = await freshDatabases(DATABASE);
    // Spatial columns are carried by another part of the tool; this run is about tables and keys.
    await within(60_000, 'seeding sakila', seedSakila(pair.source, { spatial: false }));
  });
  after(async () => {
    await pair.source.promise().query(`DROP DATABASE IF EXISTS ${quoteMysql(DATABASE)}`);
    await closePair(pair);
  });

  test('every one of its sixteen tables lands, each verified, composite keys included, views left out', async () => {
    const outcome = await within(
      180_000,
      'the sakila run',
      migrateLocally({
        sourceUrl: inDatabase(SOURCE_URL),
        targetUrl: inDatabase(TARGET_URL),
        input: { concurrency: 4 },
      }),
    );
    assert.equal(outcome.run.status, 'SUCCEEDED', JSON.stringify(outcome.run.error));
    const summary = outcome.summary!;
    assert.deepEqual(
      Object.fromEntries(summary.tables.map((t) => [t.table, t.rows])),
      Object.fromEntries([...SAKILA_TABLES].sort().map((table) => [table, SAKILA_ROWS[table]])),
    );
    for (const table of summary.tables) {
      assert.equal(table.verifiedRanges, table.ranges, `${table.table} is verified`);
      // film_actor's and film_category's composite keys are cut into ranges like the others'.
      assert.equal(table.whole, null, `${table.table}: ${table.whole}`);
    }
    for (const table of SAKILA_TABLES) await assertTargetExact(pair, table);
  });

  test('after the run the application can switch: all 22 foreign keys validated, ids generated, last_update moved', async () => {
    const keys = await pair.target.query<{ n: string; valid: string }>(
      `SELECT count(*) AS n, count(*) FILTER (WHERE convalidated) AS valid
         FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace`,
    );
    assert.deepEqual({ ...keys.rows[0] }, { n: '22', valid: '22' });
    const [[{ next }]] = (await pair.source
      .promise()
      .query(
        'SELECT AUTO_INCREMENT AS next FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
        ['actor'],
      )) as unknown as [[{ next: number }]];
    const inserted = await pair.target.query<{ actor_id: number }>(
      "INSERT INTO actor (first_name, last_name) VALUES ('NEW', 'ACTOR') RETURNING actor_id",
    );
    assert.equal(inserted.rows[0]!.actor_id, Number(next));
    const moved = await pair.target.query<{ moved: boolean }>(
      `WITH before AS (SELECT last_update FROM film WHERE film_id = 1)
       UPDATE film SET title = title || ' (edited)' WHERE film_id = 1
       RETURNING last_update > (SELECT last_update FROM before) AS moved`,
    );
    assert.equal(moved.rows[0]!.moved, true);
  });
});
