import type mysql from 'mysql2';
import type pg from 'pg';
import type { RunMode } from '../input.js';
import type { TableDescription } from '../schema.js';
import { recordChangesPlanned } from './applied-changes.js';
import { readCheckpoints, recordBinlogStart } from './checkpoints.js';
import { keyedTables } from './keys.js';
import { usesBinlog } from './modes.js';
import type { BinlogPosition } from './position.js';
import { binlogFiles, readBinlogStart, requireHeld, requireRowBinlog } from './source.js';

/**
 * Plan's checks for a binlog run or a cut-over, before it takes any lease: the source writes a
 * ROW binary log with full images, each table's key can be followed, each has a checkpoint,
 * and the log still holds it. Each refusal says what to change.
 */
export async function planBinlogRun(
  source: mysql.Connection,
  target: pg.Client,
  tables: TableDescription[],
): Promise<void> {
  await requireRowBinlog(source);
  keyedTables(tables);
  const checkpoints = await readCheckpoints(
    target,
    tables.map((t) => t.table),
  );
  const files = await binlogFiles(source);
  for (const [table, at] of checkpoints) requireHeld(files, at, [table]);
}

/** Where a full run begins in the binary log; null when the source writes none binlog runs can follow. */
export const readFullRunStart = readBinlogStart;

/** Records in the ledger what a run needs of the binary log: a full run's start, a binlog run's pending changes. */
export async function recordBinlogPlan(
  target: pg.Client,
  runId: string,
  mode: RunMode,
  fullRunStart: BinlogPosition | null,
): Promise<void> {
  if (fullRunStart) await recordBinlogStart(target, runId, fullRunStart);
  if (usesBinlog(mode)) await recordChangesPlanned(target, runId);
}
