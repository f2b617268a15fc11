import { after, before } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type ConnectionPair,
  closePair,
  closeSource,
  closeTarget,
  endpointFromUrl,
  openPairFromUrls,
  openSource,
  openTarget,
} from '../../functions/core/connections.js';
import { quoteMysql, quotePg, TARGET_SCHEMA } from '../../functions/core/identifiers.js';
import { ensureLedger, LEDGER_SCHEMA } from '../../functions/core/ledger.js';
import { seedUsers } from '../../infra/local/seed.js';

/** The test databases: the local MariaDB and PostgreSQL unless the environment names others. */
export const SOURCE_URL = process.env.TEST_SOURCE_URL ?? 'mysql://root@127.0.0.1:3306/test';
export const TARGET_URL = process.env.TEST_TARGET_URL ?? 'postgres://root@127.0.0.1:5432/test';

export function openPair(): Promise<ConnectionPair> {
  return openPairFromUrls(SOURCE_URL, TARGET_URL);
}

/** The same server's URL, naming another database. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/**
 * A database of the test's own, made anew on both servers (a whole-database run takes every table
 * it finds, so it must find only the test's), with a pair of connections into it.
 */
export async function freshDatabases(database: string, sourceUrl = SOURCE_URL): Promise<ConnectionPair> {
  const admin = await openSource(endpointFromUrl(sourceUrl, 'source'));
  await admin.promise().query(`DROP DATABASE IF EXISTS ${quoteMysql(database)}`);
  await admin.promise().query(`CREATE DATABASE ${quoteMysql(database)}`);
  await closeSource(admin);
  const pgAdmin = await openTarget(endpointFromUrl(TARGET_URL, 'target'));
  await pgAdmin.query(`DROP DATABASE IF EXISTS ${quotePg(database)} WITH (FORCE)`);
  await pgAdmin.query(`CREATE DATABASE ${quotePg(database)}`);
  await closeTarget(pgAdmin);
  return openPairFromUrls(withDatabase(sourceUrl, database), withDatabase(TARGET_URL, database));
}

export { closePair };

/**
 * A suite in a database of its own (see {@link freshDatabases}), seeded once before its tests, its
 * pair closed after them: returns the pair, for the tests to take.
 */
export function freshDatabaseSuite(
  database: string,
  seed: (source: ConnectionPair['source']) => Promise<void>,
): () => ConnectionPair {
  let pair: ConnectionPair;
  before(async () => {
    pair = await freshDatabases(database);
    await seed(pair.source);
  });
  after(async () => {
    await closePair(pair);
  });
  return () => pair;
}

/** Drops the table on both sides, with its lease and watermark: a table made anew has no history. */
export async function dropTables(pair: ConnectionPair, table: string): Promise<void> {
  await pair.source.promise().query(`DROP TABLE IF EXISTS ${quoteMysql(table)}`);
  await pair.target.query(`DROP TABLE IF EXISTS ${quotePg(TARGET_SCHEMA)}.${quotePg(table)}`);
  await ensureLedger(pair.target);
  await pair.target.query(`DELETE FROM ${LEDGER_SCHEMA}.leases WHERE table_name = $1`, [table]);
  await pair.target.query(`DELETE FROM ${LEDGER_SCHEMA}.watermarks WHERE table_name = $1`, [table]);
}

/**
 * For the enclosing suite: a connection pair and a freshly seeded users-shaped table, dropped
 * after the suite. Returns the pair once the suite has started.
 */
export function seededSuite(table: string, rows: number): () => ConnectionPair {
  let pair: ConnectionPair;
  before(async () => {
    pair = await openPair();
    await dropTables(pair, table);
    await seedUsers(pair.source, { table, rows });
  });
  after(async () => {
    await dropTables(pair, table);
    await closePair(pair);
  });
  return () => pair;
}

// Exactness is proven apart from the product's own comparison code; see exactness.ts.
export { readBothSides } from './exactness.js';

/** How many connections each test database has open (on PostgreSQL, from this tool by its application name). */
export async function openConnectionCounts(pair: ConnectionPair): Promise<{ source: number; target: number }> {
  const [rows] = await pair.source
    .promise()
    .query("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE COMMAND <> 'Daemon' AND DB = DATABASE()");
  const { rows: pgRows } = await pair.target.query<{ n: string }>(
    "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'mysql-to-postgres' AND datname = current_database()",
  );
  return { source: Number((rows as { n: number }[])[0]!.n), target: Number(pgRows[0]!.n) };
}

type ConnectionCounts = Awaited<ReturnType<typeof openConnectionCounts>>;

/**
 * Waits until the test databases' connection counts are back to `expected`, and fails when they are
 * not within `ms`: a server drops a connection the client destroyed a moment after the client did.
 */
export async function assertConnectionsBackTo(pair: ConnectionPair, expected: ConnectionCounts, ms = 5_000) {
  const deadline = Date.now() + ms;
  let counts = await openConnectionCounts(pair);
  while (counts.source !== expected.source || counts.target !== expected.target) {
    if (Date.now() > deadline) {
      throw new Error(
        `Connections still open after ${ms} ms: ${JSON.stringify(counts)}, expected ${JSON.stringify(expected)}`,
      );
    }
    await sleep(50);
    counts = await openConnectionCounts(pair);
  }
}
