import type mysql from 'mysql2';
import { BinlogSettingsError, classifyDatabaseError, FullRunNeededError } from '../errors.js';
import { type BinlogPosition, compareFiles, formatPosition } from './position.js';

/** What the source says about its binary log. */
interface BinlogSettings {
  version: string;
  logBin: number;
  format: string | null;
  rowImage: string | null;
}

async function query<Row>(source: mysql.Connection, sql: string, values: unknown[] = []): Promise<Row[]> {
  try {
    const [rows] = await source.promise().query(sql, values);
    return rows as Row[];
  } catch (error) {
    throw classifyDatabaseError(error, 'source');
  }
}

async function readSettings(source: mysql.Connection): Promise<BinlogSettings> {
  const [settings] = await query<BinlogSettings>(
    source,
    'SELECT VERSION() AS version, @@GLOBAL.log_bin AS logBin, @@GLOBAL.binlog_format AS format, @@GLOBAL.binlog_row_image AS rowImage',
  );
  return settings!;
}

/**
 * Why the source cannot serve binlog runs, each with the setting to change; empty when it can.
 * A row image that is not FULL would leave out the key of a row whose key did not change, and
 * anything but ROW logs statements, whose rows no one can tell.
 */
export function binlogSettingsProblems(settings: BinlogSettings): string[] {
  const problems: string[] = [];
  if (!/mariadb/i.test(settings.version)) {
    problems.push(
      `the source is MySQL ${settings.version}: binlog runs read MariaDB's binlog_snapshot_position, which ties the binary log to a consistent snapshot; on MySQL use full and incremental runs`,
    );
  }
  if (Number(settings.logBin) !== 1) {
    problems.push(
      'the binary log is off: start the server with log_bin (and binlog_format=ROW, binlog_row_image=FULL)',
    );
  }
  if (settings.format?.toUpperCase() !== 'ROW') {
    problems.push(
      `binlog_format is ${settings.format}: SET GLOBAL binlog_format = 'ROW' (and in the server's configuration)`,
    );
  }
  if (settings.rowImage?.toUpperCase() !== 'FULL') {
    problems.push(
      `binlog_row_image is ${settings.rowImage}: SET GLOBAL binlog_row_image = 'FULL' (and in the server's configuration)`,
    );
  }
  return problems;
}

/** Refuses a source whose binary log cannot serve binlog runs, naming every setting to change. */
export async function requireRowBinlog(source: mysql.Connection): Promise<void> {
  const problems = binlogSettingsProblems(await readSettings(source));
  if (problems.length > 0) {
    throw new BinlogSettingsError(`The source cannot serve binlog runs: ${problems.join('; ')}`);
  }
}

/** Whether the source writes a binary log binlog runs can follow; a full run records where it began only then. */
export async function followsBinlog(source: mysql.Connection): Promise<boolean> {
  return binlogSettingsProblems(await readSettings(source)).length === 0;
}

/** One file of the binary log and its size. */
export interface BinlogFile {
  file: string;
  size: number;
}

/** The binary log's files, oldest first. Needs `REPLICATION CLIENT` (`BINLOG MONITOR` on MariaDB 10.5+). */
export async function binlogFiles(source: mysql.Connection): Promise<BinlogFile[]> {
  let rows: { Log_name: string; File_size: number | string }[];
  try {
    [rows] = (await source.promise().query('SHOW BINARY LOGS')) as unknown as [typeof rows];
  } catch (error) {
    if ((error as { code?: string }).code === 'ER_SPECIFIC_ACCESS_DENIED_ERROR') {
      throw new BinlogSettingsError(
        `The source user may not read the binary log (${(error as Error).message}): GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO it`,
      );
    }
    throw classifyDatabaseError(error, 'source');
  }
  return rows
    .map((row) => ({ file: row.Log_name, size: Number(row.File_size) }))
    .sort((a, b) => compareFiles(a.file, b.file));
}

/**
 * Refuses a start that the binary log no longer holds: once its file is purged (expire_logs_days,
 * binlog_expire_logs_seconds, PURGE BINARY LOGS) the changes since are gone, and only a full run
 * can bring the table back.
 */
export function requireHeld(files: BinlogFile[], from: BinlogPosition, tables: string[]): void {
  if (files.some((f) => f.file === from.file && f.size >= from.position)) return;
  const oldest = files[0]?.file ?? 'none';
  throw new FullRunNeededError(
    `The binary log no longer holds ${formatPosition(from)}, where the binlog checkpoint of ${tables.join(', ')} stands ` +
      `(its oldest file is ${oldest}): the changes since were purged, so a full run of ${tables.join(', ')} is needed. ` +
      'Keep binary logs longer (binlog_expire_logs_seconds) than the time between binlog runs.',
  );
}

/** Bytes of the binary log after `from`: what is still to be read. */
export function bytesAfter(files: BinlogFile[], from: Omit<BinlogPosition, 'gtid'>): number {
  return files.reduce((sum, f) => {
    const order = compareFiles(f.file, from.file);
    if (order < 0) return sum;
    return sum + (order === 0 ? Math.max(0, f.size - from.position) : f.size);
  }, 0);
}

/** A consistent snapshot of the source and the place in the binary log it stands at. */
export interface SourceSnapshot {
  /** Every transaction before this place is in the snapshot, and none after it. */
  position: BinlogPosition;
  /** The source's clock when the snapshot began, in seconds since the epoch. */
  takenAt: number;
}

/**
 * Starts a consistent snapshot on the connection and reads where it stands in the binary log
 * (MariaDB's `binlog_snapshot_file`/`_position`, taken with the snapshot itself). A transaction
 * reaches the binary log before its rows become visible, so the end of the log read apart from a
 * snapshot may name a commit the snapshot cannot see yet; this place never does. The snapshot
 * stays open (REPEATABLE READ) until {@link endSnapshot}: rows read on this connection meanwhile
 * are exactly the source at that place.
 */
export async function startSnapshot(source: mysql.Connection): Promise<SourceSnapshot> {
  // A consistent snapshot exists only in REPEATABLE READ: in other levels MariaDB ignores the clause.
  await query(source, 'SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
  await query(source, 'START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
  const status = await query<{ Variable_name: string; Value: string }>(
    source,
    "SHOW SESSION STATUS WHERE Variable_name IN ('Binlog_snapshot_file', 'Binlog_snapshot_position')",
  );
  const value = (name: string) => status.find((row) => row.Variable_name.toLowerCase() === name)?.Value;
  const file = value('binlog_snapshot_file');
  const position = Number(value('binlog_snapshot_position'));
  if (!file || !Number.isInteger(position)) {
    await endSnapshot(source);
    throw new BinlogSettingsError(
      'The source did not say where its snapshot stands in the binary log (binlog_snapshot_file): binlog runs need MariaDB with log_bin',
    );
  }
  const [place] = await query<{ gtid: string | null; takenAt: string }>(
    source,
    'SELECT BINLOG_GTID_POS(?, ?) AS gtid, UNIX_TIMESTAMP(NOW(6)) AS takenAt',
    [file, position],
  );
  return { position: { file, position, gtid: place?.gtid || null }, takenAt: Number(place?.takenAt) };
}

/** Ends the snapshot {@link startSnapshot} began (it wrote nothing). */
export async function endSnapshot(source: mysql.Connection): Promise<void> {
  await query(source, 'COMMIT');
}

/**
 * Where a full run begins in the binary log, when the source has one binlog runs can follow: every
 * change after it is in the log, and every change before it is visible to the ranges the run reads
 * afterwards. Null when the source cannot serve binlog runs.
 */
export async function readBinlogStart(source: mysql.Connection): Promise<BinlogPosition | null> {
  if (!(await followsBinlog(source))) return null;
  const snapshot = await startSnapshot(source);
  await endSnapshot(source);
  return snapshot.position;
}

/** The source's clock, in seconds since the epoch (fractional). */
export async function sourceClock(source: mysql.Connection): Promise<number> {
  const [row] = await query<{ now: string }>(source, 'SELECT UNIX_TIMESTAMP(NOW(6)) AS now');
  return Number(row?.now);
}

/** The source's current database: the schema a binlog run follows. */
export async function sourceDatabase(source: mysql.Connection): Promise<string> {
  const [row] = await query<{ db: string }>(source, 'SELECT DATABASE() AS db');
  return row!.db;
}

/**
 * Who may still be writing: the other sessions busy in this database, and the transactions that
 * changed rows and have not committed. Statement text is left out (it holds values): the verb is
 * enough to find the application.
 */
export async function describeWriters(source: mysql.Connection): Promise<string[]> {
  const sessions = await query<{
    id: number;
    user: string;
    host: string;
    command: string;
    time: number;
    verb: string | null;
  }>(
    source,
    `SELECT ID AS id, USER AS user, HOST AS host, COMMAND AS command, TIME AS time, UPPER(SUBSTRING_INDEX(TRIM(INFO), ' ', 1)) AS verb
       FROM information_schema.PROCESSLIST
      WHERE DB = DATABASE() AND ID <> CONNECTION_ID() AND COMMAND NOT IN ('Sleep', 'Daemon', 'Binlog Dump')`,
  );
  const open = await query<{ id: number; rows: number; since: string }>(
    source,
    `SELECT trx_mysql_thread_id AS id, trx_rows_modified AS \`rows\`, trx_started AS since
       FROM information_schema.INNODB_TRX WHERE trx_rows_modified > 0 AND trx_mysql_thread_id <> CONNECTION_ID()`,
  ).catch(() => []);
  return [
    ...sessions.map(
      (s) => `session ${s.id} (${s.user}@${s.host}): ${s.command}${s.verb ? ` ${s.verb}` : ''} for ${s.time} s`,
    ),
    ...open.map((t) => `session ${t.id}: a transaction open since ${t.since} has changed ${t.rows} rows`),
  ];
}

/** The server's GTID position at a place in its binary log (MariaDB's BINLOG_GTID_POS); null when it cannot tell. */
export async function gtidAt(source: mysql.Connection, place: Omit<BinlogPosition, 'gtid'>): Promise<string | null> {
  const [row] = await query<{ gtid: string | null }>(source, 'SELECT BINLOG_GTID_POS(?, ?) AS gtid', [
    place.file,
    place.position,
  ]);
  return row?.gtid || null;
}
