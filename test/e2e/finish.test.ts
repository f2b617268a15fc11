import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ConnectionPair } from '../../functions/core/connections.js';
import type { FinishSummary } from '../../functions/core/finish/record.js';
import { migrateLocally } from '../../infra/local/local-migration.js';
import { closePair, openPair, SOURCE_URL, TARGET_URL } from '../support/databases.js';
import { assertTargetExact } from '../support/exactness.js';
import { createSmallSakila, dropSmallSakila, smallSakilaNames, smallSakilaTables } from '../support/small-sakila.js';

const PREFIX = 'e2e_fin';
const n = smallSakilaNames(PREFIX);

/** One run of one table through the synthesized workflow; the run fails the test unless it succeeds. */
async function migrate(table: string, input: Record<string, unknown> = {}) {
  const outcome = await migrateLocally({
    sourceUrl: SOURCE_URL,
    targetUrl: TARGET_URL,
    input: { table, chunkRows: 2, ...input },
  });
  assert.equal(outcome.run.status, 'SUCCEEDED', `${table}: ${JSON.stringify(outcome.run.error)}`);
  // Summarize's output, the execution's result, says what Finish did.
  assert.deepEqual((outcome.run.output as { finish: FinishSummary }).finish, outcome.summary?.finish);
  return { ...outcome, finish: outcome.summary!.finish! };
}

describe('a sakila-shaped database through the synthesized workflow, one table per run', () => {
  let pair: ConnectionPair;
  before(async () => {
    pair = await openPair();
    await dropSmallSakila(pair, PREFIX);
    await createSmallSakila(pair.source, PREFIX);
  });
  after(async () => {
    await dropSmallSakila(pair, PREFIX);
    await closePair(pair);
  });
  const one = async <T>(sql: string) => (await pair.target.query(sql)).rows[0] as T;

  test('ends in a target the application can switch to, and runs again, full or incremental, with its keys in place', async () => {
    for (const table of smallSakilaTables(PREFIX)) {
      const { finish } = await migrate(table);
      assert.equal(finish.status, 'finished');
      assert.equal(finish.counts['not valid'], 0);
      await assertTargetExact(pair, table);
    }
    // Every key across the tables, once both of its tables were in.
    const keys = await one<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_constraint WHERE contype = 'f' AND convalidated AND conname LIKE '${PREFIX}_fk_%'`,
    );
    assert.equal(keys.n, 4);
    const indexes = await one<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_indexes WHERE tablename LIKE '${PREFIX}_%' AND indexname NOT LIKE '%_pkey'`,
    );
    // The six the schema declares, and the one InnoDB made for the key on original_language_id.
    assert.equal(indexes.n, 7);

    // An actor inserted without an id gets one past the source's AUTO_INCREMENT; an update moves last_update.
    const actor = await one<{ id: number }>(
      `INSERT INTO public.${n.actor} (first_name, last_name) VALUES ('NEW', 'ACTOR') RETURNING actor_id AS id`,
    );
    assert.equal(actor.id, 500);
    await pair.target.query(`UPDATE public.${n.actor} SET last_name = 'CHASED' WHERE actor_id = 3`);
    const moved = await one<{ moved: boolean }>(
      `SELECT last_update > now() - interval '1 minute' AS moved FROM public.${n.actor} WHERE actor_id = 3`,
    );
    assert.equal(moved.moved, true);
    await pair.target.query(`DELETE FROM public.${n.actor} WHERE actor_id = 500`);

    // A second full run of a parent neither trips nor cascades through the keys, and changes no object.
    const again = await migrate(n.actor);
    assert.equal(again.finish.counts.created + again.finish.counts.updated, 0);
    await assertTargetExact(pair, n.actor);
    await assertTargetExact(pair, n.filmActor);

    // An incremental run brings a change and a new row, and sets the sequence past the new key.
    await pair.source.promise().query(`UPDATE ${n.actor} SET first_name = 'EDWARD' WHERE actor_id = 3`);
    await pair.source
      .promise()
      .query(`INSERT INTO ${n.actor} (actor_id, first_name, last_name) VALUES (600, 'LATE', 'COMER')`);
    const incremental = await migrate(n.actor, { mode: 'incremental' });
    assert.equal(incremental.summary?.rows, 2);
    await assertTargetExact(pair, n.actor);
    const next = await one<{ id: number }>(
      `INSERT INTO public.${n.actor} (first_name, last_name) VALUES ('NEXT', 'ONE') RETURNING actor_id AS id`,
    );
    assert.equal(next.id, 601);
  });
});
