import '../support/quiet-functions.js';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ConnectionPair } from '../../functions/core/connections.js';
import { finish } from '../../functions/core/finish/finish.js';
import { readFinishSummary } from '../../functions/core/finish/record.js';
import { releaseLease, takeLease } from '../../functions/core/lease.js';
import { dropSakila, SAKILA_TABLES, seedSakila } from '../../infra/local/sakila.js';
import { closePair, dropTables, openPair } from '../support/databases.js';
import { within } from '../support/deadline.js';
import { closeRun, migrateTable } from '../support/small-sakila.js';

// Ranges are split on a single integer key today: these two have composite keys.
const COMPOSITE = ['film_actor', 'film_category'];
const MIGRATED = SAKILA_TABLES.filter((table) => !COMPOSITE.includes(table));

describe("Finish over sakila's own schema and rows", () => {
  let pair: ConnectionPair;
  before(async () => {
    pair = await openPair();
    // address.location is GEOMETRY, which no codec carries yet.
    await within(60_000, 'seeding sakila', seedSakila(pair.source, { spatial: false }));
    for (const table of SAKILA_TABLES) await pair.target.query(`DROP TABLE IF EXISTS public.${table} CASCADE`);
  });
  after(async () => {
    await dropSakila(pair.source);
    for (const table of SAKILA_TABLES) {
      await pair.target.query(`DROP TABLE IF EXISTS public.${table} CASCADE`);
      await dropTables(pair, table);
    }
    await closePair(pair);
  });

  test("every key between the tables in the target validates on sakila's rows; the others wait for their tables", async () => {
    let last = '';
    for (const table of MIGRATED) {
      last = await migrateTable(pair, table, `it-finish-sakila-${process.pid}-${table}`, 100_000);
      if (table !== MIGRATED.at(-1)) await closeRun(pair, last);
    }
    const others = MIGRATED.slice(0, -1);
    for (const table of others) await takeLease(pair.target, { table, runId: last, execution: `local:${last}` });
    const result = await finish({ runId: last, tables: MIGRATED }, pair);
    for (const table of others) await releaseLease(pair.target, table, last);
    await closeRun(pair, last);

    assert.equal(result.notValid, 0);
    const { rows: keys } = await pair.target.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_constraint
        WHERE contype = 'f' AND convalidated AND conrelid::regclass::text = ANY ($1)`,
      [MIGRATED],
    );
    assert.equal(keys[0]!.n, 18);
    const summary = (await readFinishSummary(pair.target, last))!;
    const waiting = summary.attention
      .filter((o) => o.kind === 'foreign key')
      .map((o) => o.name)
      .sort();
    assert.deepEqual(waiting, [
      'fk_film_actor_actor',
      'fk_film_actor_film',
      'fk_film_category_category',
      'fk_film_category_film',
    ]);
    const listed = (kind: string) => summary.attention.filter((o) => o.kind === kind).length;
    assert.equal(listed('source view'), 7);
    assert.equal(listed('source trigger'), 3);
    // Sakila's 25 secondary indexes but film_actor's and film_category's (one each).
    const { rows: indexes } = await pair.target.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY ($1) AND indexname NOT LIKE '%_pkey'`,
      [MIGRATED],
    );
    assert.equal(indexes[0]!.n, 23);
    // film_text's FULLTEXT index is a GIN index.
    const { rows: gin } = await pair.target.query(
      `SELECT 1 FROM pg_indexes WHERE tablename = 'film_text' AND indexdef LIKE '%USING gin (to_tsvector%'`,
    );
    assert.equal(gin.length, 1);
  });
});
