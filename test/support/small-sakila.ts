import type mysql from 'mysql2';
import type { ConnectionPair } from '../../functions/core/connections.js';
import { copyRange } from '../../functions/core/copy-range.js';
import { plan } from '../../functions/core/plan.js';
import { summarize } from '../../functions/core/summarize.js';
import { dropTables } from './databases.js';

/** The names of a sakila-shaped schema's tables, view and trigger, under a prefix of the test's own. */
export function smallSakilaNames(prefix: string) {
  return {
    language: `${prefix}_language`,
    actor: `${prefix}_actor`,
    film: `${prefix}_film`,
    filmActor: `${prefix}_film_actor`,
    view: `${prefix}_actor_names`,
    trigger: `${prefix}_film_ins`,
  };
}

/** Parents before children: the order a run per table migrates them in. */
export const smallSakilaTables = (prefix: string) => {
  const n = smallSakilaNames(prefix);
  return [n.language, n.actor, n.film, n.filmActor];
};

/**
 * (Re)creates a small sakila-shaped schema in the source: auto_increment keys (one with a source
 * AUTO_INCREMENT above its rows), ON UPDATE CURRENT_TIMESTAMP, secondary, unique, composite,
 * descending, prefix and FULLTEXT indexes, foreign keys with CASCADE, RESTRICT and SET NULL rules,
 * checks (one MySQL-only), table and column comments, a view and a trigger.
 */
export async function createSmallSakila(source: mysql.Connection, prefix: string): Promise<void> {
  const n = smallSakilaNames(prefix);
  const db = source.promise();
  await dropSmallSakilaSource(source, prefix);
  await db.query(`CREATE TABLE ${n.language} (
    language_id TINYINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name CHAR(20) NOT NULL,
    last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP
  ) ENGINE=InnoDB`);
  await db.query(`CREATE TABLE ${n.actor} (
    actor_id SMALLINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    first_name VARCHAR(45) NOT NULL,
    last_name VARCHAR(45) NOT NULL COMMENT 'family name',
    last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    KEY idx_actor_last_name (last_name)
  ) ENGINE=InnoDB AUTO_INCREMENT=500 COMMENT='who plays in films'`);
  await db.query(`CREATE TABLE ${n.film} (
    film_id SMALLINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    title VARCHAR(128) NOT NULL,
    description TEXT,
    release_year SMALLINT,
    language_id TINYINT UNSIGNED NOT NULL,
    original_language_id TINYINT UNSIGNED NULL,
    length SMALLINT UNSIGNED,
    last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    KEY idx_title (title(10)),
    UNIQUE KEY uq_language_title (language_id, title DESC),
    FULLTEXT KEY idx_title_description (title, description),
    CONSTRAINT ${prefix}_fk_film_language FOREIGN KEY (language_id) REFERENCES ${n.language} (language_id) ON DELETE RESTRICT ON UPDATE CASCADE,
    CONSTRAINT ${prefix}_fk_film_original FOREIGN KEY (original_language_id) REFERENCES ${n.language} (language_id) ON DELETE SET NULL ON UPDATE CASCADE,
    CONSTRAINT length_positive CHECK (length > 0 AND length < 1000),
    CONSTRAINT title_capital CHECK (title REGEXP '^[A-Z]')
  ) ENGINE=InnoDB`);
  await db.query(`CREATE TABLE ${n.filmActor} (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    actor_id SMALLINT UNSIGNED NOT NULL,
    film_id SMALLINT UNSIGNED NOT NULL,
    UNIQUE KEY uq_actor_film (actor_id, film_id),
    KEY idx_fk_film_id (film_id),
    CONSTRAINT ${prefix}_fk_film_actor_actor FOREIGN KEY (actor_id) REFERENCES ${n.actor} (actor_id) ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT ${prefix}_fk_film_actor_film FOREIGN KEY (film_id) REFERENCES ${n.film} (film_id) ON DELETE CASCADE ON UPDATE CASCADE
  ) ENGINE=InnoDB`);
  await db.query(
    `INSERT INTO ${n.language} (name, last_update) VALUES ('English', '2006-02-15 05:02:19'), ('Italian', '2006-02-15 05:02:19')`,
  );
  await db.query(
    `INSERT INTO ${n.actor} (actor_id, first_name, last_name, last_update) VALUES
       (1, 'PENELOPE', 'GUINESS', '2006-02-15 04:34:33'), (2, 'NICK', 'WAHLBERG', '2006-02-15 04:34:33'),
       (3, 'ED', 'CHASE', '2006-02-15 04:34:33')`,
  );
  await db.query(
    `INSERT INTO ${n.film} (film_id, title, description, release_year, language_id, original_language_id, length, last_update) VALUES
       (1, 'ACADEMY DINOSAUR', 'An epic drama', 2006, 1, NULL, 86, '2006-02-15 05:03:42'),
       (2, 'ACE GOLDFINGER', 'An astounding epistle', 2006, 1, 2, 48, '2006-02-15 05:03:42'),
       (3, 'ADAPTATION HOLES', NULL, 2006, 2, NULL, 50, '2006-02-15 05:03:42')`,
  );
  await db.query(`INSERT INTO ${n.filmActor} (actor_id, film_id) VALUES (1, 1), (1, 2), (2, 2), (3, 3)`);
  await db.query(
    `CREATE VIEW ${n.view} AS SELECT actor_id, CONCAT(first_name, ' ', last_name) AS name FROM ${n.actor}`,
  );
  await db.query(
    `CREATE TRIGGER ${n.trigger} BEFORE INSERT ON ${n.film} FOR EACH ROW SET NEW.title = UPPER(NEW.title)`,
  );
}

export async function dropSmallSakilaSource(source: mysql.Connection, prefix: string): Promise<void> {
  const n = smallSakilaNames(prefix);
  const db = source.promise();
  await db.query(`DROP VIEW IF EXISTS ${n.view}`);
  for (const table of smallSakilaTables(prefix).reverse()) await db.query(`DROP TABLE IF EXISTS ${table}`);
}

/** Drops the schema on both sides, children first, with the tables' leases and watermarks. */
export async function dropSmallSakila(pair: ConnectionPair, prefix: string): Promise<void> {
  await dropSmallSakilaSource(pair.source, prefix);
  for (const table of smallSakilaTables(prefix).reverse()) {
    await pair.target.query(`DROP TABLE IF EXISTS public.${table} CASCADE`);
    await dropTables(pair, table);
  }
}

/** A full run of one table, Plan, CopyRange and Summarize called directly; returns its run id. */
export async function migrateTable(pair: ConnectionPair, table: string, runId: string, chunkRows = 2): Promise<string> {
  const planned = await plan({ input: { table, verify: false }, runId, execution: `local:${runId}` }, pair, {
    tables: [table],
    chunkRows,
    concurrency: 1,
  });
  for (const range of planned.ranges) await copyRange({ runId, table, range, policies: planned.policies }, pair);
  return runId;
}

/** Closes a run started by {@link migrateTable}, freeing its table. */
export const closeRun = (pair: ConnectionPair, runId: string) => summarize({ runId }, pair.target);
