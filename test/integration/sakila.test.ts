import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type mysql from 'mysql2';
import { closeSource, endpointFromUrl, openSource } from '../../functions/core/connections.js';
import {
  dropSakila,
  SAKILA_ROWS,
  SAKILA_TABLES,
  SAKILA_TRIGGERS,
  SAKILA_VIEWS,
  seedSakila,
} from '../../infra/local/sakila.js';
import { SOURCE_URL } from '../support/databases.js';
import { within } from '../support/deadline.js';

const quoted = (names: string[]) => names.map((name) => `'${name}'`).join(', ');

describe('the sakila-shaped database generator', () => {
  let source: mysql.Connection;
  const rows = async <T>(sql: string): Promise<T[]> => (await source.promise().query(sql))[0] as T[];
  const checksums = async (tables: string[]) =>
    Object.fromEntries(
      (await rows<{ Table: string; Checksum: string }>(`CHECKSUM TABLE ${tables.join(', ')}`)).map((row) => [
        row.Table.split('.').at(-1),
        String(row.Checksum),
      ]),
    );
  let seeded: Record<string, string>;

  before(async () => {
    source = await openSource(endpointFromUrl(SOURCE_URL, 'source'));
    await within(60_000, 'seeding sakila', seedSakila(source));
    seeded = await checksums(SAKILA_TABLES);
  });
  after(async () => {
    await dropSakila(source);
    await closeSource(source);
  });

  it("creates sakila's sixteen base tables with its row counts", async () => {
    const tables = await rows<{ name: string }>(
      "SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'",
    );
    for (const table of SAKILA_TABLES)
      assert.ok(
        tables.some((row) => row.name === table),
        `${table} exists`,
      );
    for (const [table, expected] of Object.entries(SAKILA_ROWS)) {
      const [{ n }] = (await rows<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`)) as [{ n: number }];
      assert.equal(Number(n), expected, `${table} rows`);
    }
    // Five payments are for no rental, as in sakila: the nullable foreign key holds NULLs.
    const [{ n }] = (await rows<{ n: number }>('SELECT COUNT(*) AS n FROM payment WHERE rental_id IS NULL')) as [
      { n: number },
    ];
    assert.equal(Number(n), 5);
  });

  it("has sakila's keys, and every foreign key holds for every row", async () => {
    const primary = await rows<{ table: string; columns: string }>(
      `SELECT TABLE_NAME AS \`table\`, GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION) AS columns
         FROM information_schema.KEY_COLUMN_USAGE
        WHERE TABLE_SCHEMA = DATABASE() AND CONSTRAINT_NAME = 'PRIMARY' GROUP BY TABLE_NAME`,
    );
    const keyOf = (table: string) => primary.find((row) => row.table === table)?.columns;
    assert.equal(keyOf('film_actor'), 'actor_id,film_id');
    assert.equal(keyOf('film_category'), 'film_id,category_id');
    assert.equal(keyOf('rental'), 'rental_id');

    const foreignKeys = await rows<{
      name: string;
      table: string;
      column: string;
      referenced: string;
      referencedColumn: string;
      onDelete: string;
      onUpdate: string;
    }>(
      `SELECT k.CONSTRAINT_NAME AS name, k.TABLE_NAME AS \`table\`, k.COLUMN_NAME AS \`column\`,
              k.REFERENCED_TABLE_NAME AS referenced, k.REFERENCED_COLUMN_NAME AS referencedColumn,
              r.DELETE_RULE AS onDelete, r.UPDATE_RULE AS onUpdate
         FROM information_schema.KEY_COLUMN_USAGE k
         JOIN information_schema.REFERENTIAL_CONSTRAINTS r
           ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
        WHERE k.TABLE_SCHEMA = DATABASE() AND k.REFERENCED_TABLE_NAME IS NOT NULL`,
    );
    assert.equal(foreignKeys.length, 22);
    const rental = foreignKeys.find((key) => key.name === 'fk_payment_rental');
    assert.deepEqual([rental?.onDelete, rental?.onUpdate], ['SET NULL', 'CASCADE']);
    // Loading runs with the checks off (store and staff point at each other), so each is checked here.
    for (const key of foreignKeys) {
      const [{ n }] = (await rows<{ n: number }>(
        `SELECT COUNT(*) AS n FROM ${key.table} t LEFT JOIN ${key.referenced} r ON t.${key.column} = r.${key.referencedColumn}
          WHERE t.${key.column} IS NOT NULL AND r.${key.referencedColumn} IS NULL`,
      )) as [{ n: number }];
      assert.equal(Number(n), 0, `${key.name}: rows of ${key.table} pointing at no ${key.referenced}`);
    }
  });

  it("has sakila's column types, indexes, views and triggers", async () => {
    const columns = await rows<{ name: string; type: string; extra: string }>(
      `SELECT CONCAT(TABLE_NAME, '.', COLUMN_NAME) AS name, COLUMN_TYPE AS type, EXTRA AS extra
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()
          AND TABLE_NAME IN (${quoted(SAKILA_TABLES)})`,
    );
    const typeOf = (name: string) => columns.find((column) => column.name === name)?.type;
    assert.equal(typeOf('address.location'), 'geometry');
    assert.equal(typeOf('film.rating'), "enum('G','PG','PG-13','R','NC-17')");
    assert.match(typeOf('film.special_features') ?? '', /^set\('Trailers'/);
    assert.equal(typeOf('film.release_year'), 'year(4)');
    assert.equal(typeOf('payment.amount'), 'decimal(5,2)');
    assert.equal(typeOf('staff.picture'), 'blob');
    assert.match(
      columns.find((column) => column.name === 'actor.last_update')?.extra ?? '',
      /on update current_timestamp/i,
    );
    assert.match(columns.find((column) => column.name === 'actor.actor_id')?.extra ?? '', /auto_increment/);

    const indexes = await rows<{ name: string; type: string }>(
      `SELECT DISTINCT CONCAT(TABLE_NAME, '.', INDEX_NAME) AS name, INDEX_TYPE AS type
         FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE()`,
    );
    const indexType = (name: string) => indexes.find((index) => index.name === name)?.type;
    assert.equal(indexType('address.idx_location'), 'SPATIAL');
    assert.equal(indexType('film_text.idx_title_description'), 'FULLTEXT');
    assert.equal(indexType('inventory.idx_store_id_film_id'), 'BTREE');

    const views = await rows<{ name: string }>(
      `SELECT TABLE_NAME AS name FROM information_schema.VIEWS
        WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (${quoted(Object.keys(SAKILA_VIEWS))})`,
    );
    assert.deepEqual(views.map((view) => view.name).sort(), Object.keys(SAKILA_VIEWS).sort());
    const triggers = await rows<{ name: string }>(
      "SELECT TRIGGER_NAME AS name FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() AND EVENT_OBJECT_TABLE = 'film'",
    );
    assert.deepEqual(triggers.map((trigger) => trigger.name).sort(), Object.keys(SAKILA_TRIGGERS).sort());
  });

  it('generates the same rows for the same seed, and leaves out the spatial column, views and triggers when told', async () => {
    await within(60_000, 'seeding sakila again', seedSakila(source, { spatial: false, views: false, triggers: false }));
    const others = SAKILA_TABLES.filter((table) => table !== 'address');
    const again = await checksums(others);
    for (const table of others) assert.equal(again[table], seeded[table], `${table} checksum`);

    const location = await rows(
      "SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'address' AND COLUMN_NAME = 'location'",
    );
    assert.equal(location.length, 0);
    const views = await rows(
      `SELECT 1 FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (${quoted(Object.keys(SAKILA_VIEWS))})`,
    );
    assert.equal(views.length, 0);
    const triggers = await rows(
      "SELECT 1 FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() AND EVENT_OBJECT_TABLE = 'film'",
    );
    assert.equal(triggers.length, 0);
  });
});
