import '../support/quiet-functions.js';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ConnectionPair } from '../../functions/core/connections.js';
import { finish } from '../../functions/core/finish/finish.js';
import { readFinishSummary } from '../../functions/core/finish/record.js';
import { releaseLease, takeLease } from '../../functions/core/lease.js';
import { LEDGER_SCHEMA } from '../../functions/core/ledger.js';
import { closePair, dropTables, openPair } from '../support/databases.js';
import {
  closeRun,
  createSmallSakila,
  dropSmallSakila,
  migrateTable,
  smallSakilaNames,
  smallSakilaTables,
} from '../support/small-sakila.js';

const PREFIX = 'it_fin';
const n = smallSakilaNames(PREFIX);
const TABLES = smallSakilaTables(PREFIX);

describe('Finish against MariaDB and PostgreSQL', () => {
  let pair: ConnectionPair;
  let runs = 0;
  const runId = () => `it-finish-${process.pid}-${++runs}`;

  /**
   * Migrates every table (one run each), then finishes the last run over the whole list, holding
   * every table as a run of many tables will.
   */
  async function migrateAll() {
    let last = '';
    for (const table of TABLES) {
      last = await migrateTable(pair, table, runId());
      if (table !== TABLES.at(-1)) await closeRun(pair, last);
    }
    const others = TABLES.slice(0, -1);
    for (const table of others) await takeLease(pair.target, { table, runId: last, execution: `local:${last}` });
    const result = await finish({ runId: last, tables: TABLES }, pair);
    for (const table of others) await releaseLease(pair.target, table, last);
    await closeRun(pair, last);
    return { result, summary: (await readFinishSummary(pair.target, last))! };
  }

  const one = async <T>(sql: string, values: unknown[] = []) => (await pair.target.query(sql, values)).rows[0] as T;
  const constraint = (name: string) =>
    one<{ type: string; valid: boolean; onDelete: string; onUpdate: string } | undefined>(
      'SELECT contype AS type, convalidated AS valid, confdeltype AS "onDelete", confupdtype AS "onUpdate" FROM pg_constraint WHERE conname = $1',
      [name],
    );
  const indexDef = async (name: string) =>
    (await one<{ def: string } | undefined>('SELECT indexdef AS def FROM pg_indexes WHERE indexname = $1', [name]))
      ?.def;

  before(async () => {
    pair = await openPair();
    await dropSmallSakila(pair, PREFIX);
    await createSmallSakila(pair.source, PREFIX);
  });
  after(async () => {
    await dropSmallSakila(pair, PREFIX);
    await closePair(pair);
  });

  test('builds indexes, keys, sequences, triggers, checks and comments, lists what it does not carry, and a second run changes nothing', async () => {
    const { result, summary } = await migrateAll();
    assert.equal(result.status, 'finished');
    assert.equal(result.notValid, 0);

    // Indexes: named apart per table, column order and direction kept, a prefix as an expression, FULLTEXT as GIN.
    assert.match((await indexDef(`${n.actor}_idx_actor_last_name`))!, /USING btree \(last_name\)/);
    assert.match((await indexDef(`${n.film}_idx_title`))!, /USING btree \("left"\(\(title\)::text, 10\)\)/);
    assert.match((await indexDef(`${n.film}_uq_language_title`))!, /UNIQUE INDEX .* \(language_id, title DESC\)/);
    assert.match((await indexDef(`${n.film}_idx_title_description`))!, /USING gin \(to_tsvector\('simple'::regconfig/);
    assert.match((await indexDef(`${n.filmActor}_uq_actor_film`))!, /UNIQUE INDEX .* \(actor_id, film_id\)/);

    // Foreign keys across the tables, with their rules, validated.
    assert.deepEqual(await constraint(`${PREFIX}_fk_film_actor_actor`), {
      type: 'f',
      valid: true,
      onDelete: 'c',
      onUpdate: 'c',
    });
    assert.deepEqual(await constraint(`${PREFIX}_fk_film_language`), {
      type: 'f',
      valid: true,
      onDelete: 'r',
      onUpdate: 'c',
    });
    assert.deepEqual(await constraint(`${PREFIX}_fk_film_original`), {
      type: 'f',
      valid: true,
      onDelete: 'n',
      onUpdate: 'c',
    });
    await assert.rejects(
      pair.target.query(`INSERT INTO public.${n.filmActor} (id, actor_id, film_id) VALUES (1000, 99, 1)`),
      {
        code: '23503',
      },
    );

    // Checks: the translatable one holds; REGEXP is listed with its definition.
    assert.equal((await constraint('length_positive'))?.valid, true);
    await assert.rejects(pair.target.query(`UPDATE public.${n.film} SET length = 0 WHERE film_id = 1`), {
      code: '23514',
    });
    const regexp = summary.attention.find((o) => o.name === 'title_capital');
    assert.equal(regexp?.status, 'not carried');
    assert.match(regexp!.detail!, /regexp has no translation/i);

    // Sequences: past the source's AUTO_INCREMENT (500) for actor, past the highest key for film.
    const actor = await one<{ id: number }>(
      `INSERT INTO public.${n.actor} (first_name, last_name) VALUES ('NEW', 'ACTOR') RETURNING actor_id AS id`,
    );
    assert.equal(actor.id, 500);
    const film = await one<{ id: number }>(
      `INSERT INTO public.${n.film} (title, language_id) VALUES ('NEW FILM', 1) RETURNING film_id AS id`,
    );
    assert.equal(film.id, 4);
    // BIGINT UNSIGNED arrives as numeric(20,0): its sequence is its default all the same. InnoDB
    // may have reserved more ids than the multi-row insert used: the counter is what counts.
    const [[counter]] = (await pair.source
      .promise()
      .query(
        'SELECT AUTO_INCREMENT AS next FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
        [n.filmActor],
      )) as unknown as [[{ next: number }]];
    assert.ok(counter.next >= 5);
    const link = await one<{ id: string }>(
      `INSERT INTO public.${n.filmActor} (actor_id, film_id) VALUES (2, 1) RETURNING id::text AS id`,
    );
    assert.equal(link.id, String(counter.next));

    // ON UPDATE CURRENT_TIMESTAMP: a real change moves last_update; an update that changes nothing does not.
    const stamp = async () =>
      (await one<{ t: string }>(`SELECT last_update::text AS t FROM public.${n.actor} WHERE actor_id = 2`)).t;
    const before = await stamp();
    await pair.target.query(`UPDATE public.${n.actor} SET first_name = first_name WHERE actor_id = 2`);
    assert.equal(await stamp(), before);
    await pair.target.query(`UPDATE public.${n.actor} SET first_name = 'NICHOLAS' WHERE actor_id = 2`);
    assert.ok((await stamp()) > before, 'last_update moved');
    await pair.target.query(
      `UPDATE public.${n.actor} SET first_name = 'NICK', last_update = '2010-01-01 00:00:00' WHERE actor_id = 2`,
    );
    assert.match(await stamp(), /^2010-01-01 00:00:00/);

    // Comments.
    const comments = await one<{ table: string; column: string }>(
      `SELECT obj_description('public.${n.actor}'::regclass, 'pg_class') AS table,
              col_description('public.${n.actor}'::regclass, 3) AS column`,
    );
    assert.deepEqual(comments, { table: 'who plays in films', column: 'family name' });

    // The source's view and trigger are listed with their definitions, not translated.
    const view = summary.attention.find((o) => o.kind === 'source view' && o.name === n.view);
    assert.match(view!.definition!, /concat/i);
    assert.match(view!.detail!, /not translated/);
    const trigger = summary.attention.find((o) => o.kind === 'source trigger');
    assert.match(trigger!.definition!, new RegExp(`BEFORE INSERT ON ${n.film} FOR EACH ROW SET NEW.title = UPPER`));

    // A second run over a target that has every object changes nothing.
    await pair.target.query(`DELETE FROM public.${n.actor} WHERE actor_id = 500`);
    await pair.target.query(`DELETE FROM public.${n.filmActor} WHERE id = $1`, [link.id]);
    await pair.target.query(`DELETE FROM public.${n.film} WHERE film_id = 4`);
    const again = await migrateAll();
    assert.equal(again.result.created, 0);
    assert.equal(again.result.updated, 0);
    assert.equal(again.result.notValid, 0);
    assert.equal(again.result.present, result.created + result.present + result.updated);
  });

  test('a run that replaces a parent table keeps its children: keys neither refuse nor cascade, and stamps are the source’s', async () => {
    const { rows: before } = await pair.target.query(`SELECT * FROM public.${n.filmActor} ORDER BY id`);
    assert.ok(before.length > 0);
    const id = await migrateTable(pair, n.actor, runId());
    const summary = await closeRun(pair, id);
    assert.equal(summary.failed, 0);
    const { rows: after } = await pair.target.query(`SELECT * FROM public.${n.filmActor} ORDER BY id`);
    assert.deepEqual(after, before);
    const { rows: stamps } = await pair.target.query<{ t: string }>(
      `SELECT last_update::text AS t FROM public.${n.actor} WHERE actor_id = 2`,
    );
    assert.match(stamps[0]!.t, /^2006-02-15 04:34:33/);
  });

  test('a key the rows break stays NOT VALID, and the run names the table, the key and a row; fixed rows validate it', async () => {
    const db = pair.source.promise();
    await db.query('SET foreign_key_checks = 0');
    await db.query(`INSERT INTO ${n.filmActor} (id, actor_id, film_id) VALUES (77, 3, 999)`);
    await db.query('SET foreign_key_checks = 1');
    await pair.target.query(`ALTER TABLE public.${n.filmActor} DROP CONSTRAINT ${PREFIX}_fk_film_actor_film`);
    try {
      const id = await migrateTable(pair, n.filmActor, runId());
      const result = await finish({ runId: id, tables: [n.filmActor] }, pair);
      await closeRun(pair, id);
      assert.equal(result.notValid, 1);
      const broken = (await readFinishSummary(pair.target, id))!.attention.find((o) => o.status === 'not valid');
      assert.equal(broken?.table, n.filmActor);
      assert.equal(broken?.name, `${PREFIX}_fk_film_actor_film`);
      assert.match(broken!.detail!, /for example id=77, film_id=999/);
      assert.deepEqual(await constraint(`${PREFIX}_fk_film_actor_film`), {
        type: 'f',
        valid: false,
        onDelete: 'c',
        onUpdate: 'c',
      });
    } finally {
      await db.query(`DELETE FROM ${n.filmActor} WHERE id = 77`);
    }
    const id = await migrateTable(pair, n.filmActor, runId());
    const result = await finish({ runId: id, tables: [n.filmActor] }, pair);
    await closeRun(pair, id);
    assert.equal(result.notValid, 0);
    assert.equal(result.updated, 1);
    assert.equal((await constraint(`${PREFIX}_fk_film_actor_film`))?.valid, true);
  });

  test('builds nothing when the run’s data failed, and says why', async () => {
    const id = await migrateTable(pair, n.language, runId());
    await pair.target.query(`UPDATE ${LEDGER_SCHEMA}.ranges SET status = 'failed', error = 'test' WHERE run_id = $1`, [
      id,
    ]);
    await pair.target.query(`DROP INDEX public.${n.actor}_idx_actor_last_name`);
    const result = await finish({ runId: id, tables: [n.actor] }, pair);
    assert.equal(result.status, 'skipped');
    assert.equal(await indexDef(`${n.actor}_idx_actor_last_name`), undefined);
    const summary = await readFinishSummary(pair.target, id);
    assert.equal(summary?.status, 'skipped');
    assert.match(summary!.error!, /ranges failed/);
    await assert.rejects(closeRun(pair, id), { name: 'RangesFailedError' });
  });

  test('a Finish that fails is recorded, and Summarize fails the run for it after closing it', async () => {
    const id = await migrateTable(pair, n.language, runId());
    // Another run took the table meanwhile: Finish must not build on it.
    await releaseLease(pair.target, n.language, id);
    await assert.rejects(finish({ runId: id, tables: [n.language] }, pair), { name: 'LeaseLostError' });
    const summary = await readFinishSummary(pair.target, id);
    assert.equal(summary?.status, 'failed');
    assert.match(summary!.error!, /^LeaseLostError: /);
    await assert.rejects(closeRun(pair, id), {
      name: 'FinishFailedError',
      message: /did not complete: LeaseLostError/,
    });
    const { rows } = await pair.target.query(`SELECT status FROM ${LEDGER_SCHEMA}.runs WHERE run_id = $1`, [id]);
    assert.equal(rows[0]?.status, 'failed');
  });
});

describe('Finish and spatial columns', () => {
  const TABLE = 'it_fin_places';
  let pair: ConnectionPair;
  // The target database is left with PostGIS or without it, as it was found.
  let hadPostgis = false;
  before(async () => {
    pair = await openPair();
    await dropTables(pair, TABLE);
    const { rowCount } = await pair.target.query("SELECT 1 FROM pg_extension WHERE extname = 'postgis'");
    hadPostgis = rowCount === 1;
    await pair.target.query('CREATE EXTENSION IF NOT EXISTS postgis');
    await pair.source
      .promise()
      .query(
        `CREATE TABLE ${TABLE} (id INT PRIMARY KEY, location POINT NOT NULL, SPATIAL KEY idx_location (location))`,
      );
    await pair.source.promise().query(`INSERT INTO ${TABLE} VALUES (1, POINT(1, 2)), (2, POINT(3, 4))`);
  });
  after(async () => {
    await dropTables(pair, TABLE);
    if (!hadPostgis) await pair.target.query('DROP EXTENSION IF EXISTS postgis CASCADE');
    await closePair(pair);
  });

  test('a SPATIAL index becomes a GiST index over the PostGIS geometry', async () => {
    const id = await migrateTable(pair, TABLE, `it-finish-spatial-${process.pid}`);
    const result = await finish({ runId: id, tables: [TABLE] }, pair);
    await closeRun(pair, id);
    assert.equal(result.created, 1);
    const { rows } = await pair.target.query<{ def: string }>(
      'SELECT indexdef AS def FROM pg_indexes WHERE indexname = $1',
      [`${TABLE}_idx_location`],
    );
    assert.match(rows[0]!.def, /USING gist \(location\)/);
  });
});
