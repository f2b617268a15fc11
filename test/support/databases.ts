import { after, before } from 'node:test';
import {
  closeSource,
  closeTarget,
  endpointFromUrl,
  openSource,
  openTarget,
  type ConnectionPair,
} from '../../functions/core/connections.js';
import { quoteMysql, quotePg, TARGET_SCHEMA } from '../../functions/core/identifiers.js';
import { ensureLedger, LEDGER_SCHEMA } from '../../functions/core/ledger.js';
import { describeSourceTable, type Encoding } from '../../functions/core/schema.js';
import { seedUsers } from '../../infra/local/seed.js';

/** The test databases: the local MariaDB and PostgreSQL unless the environment names others. */
export const SOURCE_URL = process.env.TEST_SOURCE_URL ?? 'mysql://root@127.0.0.1:3306/test';
export const TARGET_URL = process.env.TEST_TARGET_URL ?? 'postgres://root@127.0.0.1:5432/test';

export async function openPair(): Promise<ConnectionPair> {
  const [source, target] = await Promise.all([
    openSource(endpointFromUrl(SOURCE_URL, 'source')),
    openTarget(endpointFromUrl(TARGET_URL, 'target')),
  ]);
  return { source, target };
}

export async function closePair(pair: ConnectionPair): Promise<void> {
  await Promise.all([closeSource(pair.source), closeTarget(pair.target)]);
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

type Row = (string | null)[];

/**
 * Every row of the table on both sides, in key order, each value in one canonical text form
 * per column kind, so `assert.deepEqual` compares meaning, not how each server prints it.
 */
export async function readBothSides(pair: ConnectionPair, table: string): Promise<{ source: Row[]; target: Row[] }> {
  const description = await describeSourceTable(pair.source, table);
  const names = description.columns.map((column) => column.name);
  const key = description.primaryKey;
  const [sourceRows] = await pair.source.promise().query({
    sql: `SELECT ${names.map(quoteMysql).join(', ')} FROM ${quoteMysql(table)} ORDER BY ${quoteMysql(key)}`,
    rowsAsArray: true,
    typeCast: (field, next) => (field.type === 'BLOB' || field.type === 'VAR_STRING' || field.type === 'STRING' ? field.buffer() : next()),
  });
  const { rows: targetRows } = await pair.target.query({
    text: `SELECT ${names.map(quotePg).join(', ')} FROM ${quotePg(TARGET_SCHEMA)}.${quotePg(table)} ORDER BY ${quotePg(key)}`,
    rowMode: 'array',
    types: { getTypeParser: () => (value: string) => value },
  });
  const encodings = description.columns.map((column) => column.encoding);
  return {
    source: (sourceRows as unknown[][]).map((row) => row.map((value, i) => canonicalSource(value, encodings[i]!))),
    target: (targetRows as (string | null)[][]).map((row) => row.map((value, i) => canonicalTarget(value, encodings[i]!))),
  };
}

function canonicalSource(value: unknown, encoding: Encoding): string | null {
  if (value === null) return null;
  if (Buffer.isBuffer(value)) return encoding === 'bytea' ? value.toString('hex') : canonicalText(value.toString('utf8'), encoding);
  return canonicalText(String(value), encoding);
}

function canonicalTarget(value: string | null, encoding: Encoding): string | null {
  if (value === null) return null;
  switch (encoding) {
    case 'bytea':
      return value.replace(/^\\x/, '');
    case 'boolean':
      return value === 't' ? '1' : '0';
    case 'timestamptz':
      return canonicalText(value.replace(/\+00$/, ''), encoding);
    default:
      return canonicalText(value, encoding);
  }
}

function canonicalText(value: string, encoding: Encoding): string {
  // Fractional seconds: MySQL pads to the column's precision, PostgreSQL trims trailing zeros.
  if (encoding === 'datetime' || encoding === 'timestamptz') return value.replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
  return value;
}

/** How many connections each server has open from this tool (by its application name / our test user). */
export async function openConnectionCounts(pair: ConnectionPair): Promise<{ source: number; target: number }> {
  const [rows] = await pair.source.promise().query("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE COMMAND <> 'Daemon'");
  const { rows: pgRows } = await pair.target.query<{ n: string }>(
    "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'mysql-to-postgres'",
  );
  return { source: Number((rows as { n: number }[])[0]!.n), target: Number(pgRows[0]!.n) };
}
