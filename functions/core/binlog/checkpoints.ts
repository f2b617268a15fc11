import type pg from 'pg';
import { FullRunNeededError } from '../errors.js';
import { LEDGER_SCHEMA } from '../ledger.js';
import type { BinlogPosition } from './position.js';

/**
 * Each table's binlog checkpoint: its changes up to this place in the source's binary log are in
 * the target. Absent until a full run of the table succeeds.
 */
export async function readCheckpoints(target: pg.Client, tables: string[]): Promise<Map<string, BinlogPosition>> {
  const { rows } = await target.query<{ table_name: string; file: string; position: string; gtid: string | null }>(
    `SELECT table_name, binlog_file AS file, binlog_position AS position, gtid
       FROM ${LEDGER_SCHEMA}.binlog_checkpoints WHERE table_name = ANY($1)`,
    [tables],
  );
  const checkpoints = new Map(
    rows.map((row) => [row.table_name, { file: row.file, position: Number(row.position), gtid: row.gtid }]),
  );
  const missing = tables.filter((table) => !checkpoints.has(table));
  if (missing.length > 0) {
    throw new FullRunNeededError(
      `${missing.join(', ')} ${missing.length > 1 ? 'have' : 'has'} no binlog checkpoint: run a full run first ` +
        '(on a source writing a ROW binary log it records where binlog runs start)',
    );
  }
  return checkpoints;
}

/** Moves the tables' checkpoints to `position`; called in the transaction that wrote their changes. */
export async function moveCheckpoints(
  target: pg.Client,
  tables: string[],
  position: BinlogPosition,
  runId: string,
): Promise<void> {
  await target.query(
    `INSERT INTO ${LEDGER_SCHEMA}.binlog_checkpoints AS c (table_name, binlog_file, binlog_position, gtid, run_id)
     SELECT unnest($1::text[]), $2, $3, $4, $5
     ON CONFLICT (table_name) DO UPDATE
        SET binlog_file = EXCLUDED.binlog_file, binlog_position = EXCLUDED.binlog_position, gtid = EXCLUDED.gtid,
            run_id = EXCLUDED.run_id, updated_at = clock_timestamp()`,
    [tables, position.file, position.position, position.gtid, runId],
  );
}

/** Records where a full run began in the binary log (read before any of its rows). */
export async function recordBinlogStart(target: pg.Client, runId: string, position: BinlogPosition): Promise<void> {
  await target.query(`UPDATE ${LEDGER_SCHEMA}.runs SET binlog_start = $2 WHERE run_id = $1`, [
    runId,
    JSON.stringify(position),
  ]);
}

/**
 * Once a run of copied ranges succeeded, its table's changes are to be applied from where its
 * full run began: every range was read after that place, and every change after it is in the
 * log. A full run's own start replaces the checkpoint (even one further on: the run is the newer
 * copy, and the log may have been reset since). A run of given ranges (a retry, a redrive)
 * completes the table's latest full run, whose start it takes, but never moves a checkpoint back.
 */
export async function checkpointFromFullRun(target: pg.Client, runId: string): Promise<void> {
  const { rows } = await target.query<{
    table_name: string;
    own: BinlogPosition | null;
    latest: BinlogPosition | null;
  }>(
    `SELECT t.table_name, r.binlog_start AS own,
            CASE WHEN r.input ? 'ranges' THEN
              (SELECT f.binlog_start FROM ${LEDGER_SCHEMA}.runs f JOIN ${LEDGER_SCHEMA}.run_tables ft USING (run_id)
                WHERE ft.table_name = t.table_name AND f.mode = 'full' AND f.binlog_start IS NOT NULL
                ORDER BY f.started_at DESC LIMIT 1) END AS latest
       FROM ${LEDGER_SCHEMA}.runs r JOIN ${LEDGER_SCHEMA}.run_tables t USING (run_id)
      WHERE r.run_id = $1 AND r.mode = 'full' AND t.refused IS NULL`,
    [runId],
  );
  for (const run of rows) {
    const start = run.own ?? run.latest;
    if (start) await moveCheckpointTo(target, run.table_name, start, runId, run.own !== null);
  }
}

async function moveCheckpointTo(
  target: pg.Client,
  table: string,
  start: BinlogPosition,
  runId: string,
  own: boolean,
): Promise<void> {
  await target.query(
    `INSERT INTO ${LEDGER_SCHEMA}.binlog_checkpoints AS c (table_name, binlog_file, binlog_position, gtid, run_id)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (table_name) DO UPDATE
        SET binlog_file = EXCLUDED.binlog_file, binlog_position = EXCLUDED.binlog_position, gtid = EXCLUDED.gtid,
            run_id = EXCLUDED.run_id, updated_at = clock_timestamp()
      WHERE $6 OR (c.binlog_file, c.binlog_position) < (EXCLUDED.binlog_file, EXCLUDED.binlog_position)`,
    [table, start.file, start.position, start.gtid, runId, own],
  );
}
