import type pg from 'pg';
import { LEDGER_SCHEMA } from '../ledger.js';
import { type PolicyCounts, zeroPolicyCounts } from '../policies.js';
import type { BinlogPosition } from './position.js';

export type ChangesStatus = 'pending' | 'applied' | 'failed';

/** What one pass of a binlog run applied: read from the log, then written to the target in one transaction. */
export interface ChangesPass {
  from: BinlogPosition;
  to: BinlogPosition;
  transactions: number;
  /** Per table, how many distinct keys changed. */
  changedKeys: Record<string, number>;
  rowsDeleted: number;
  rowsWritten: number;
  /** How many values each policy handled in the rows written. */
  policyCounts: PolicyCounts;
  /** Whether the pass reached the place its snapshot stood at (else its time or key budget stopped it). */
  caughtUp: boolean;
  /** How far the target is behind the source once the pass committed, in seconds; null when unknown. */
  lagSeconds: number | null;
  /** Bytes of the binary log after `to`, still to be read. */
  backlogBytes: number;
  seconds: number;
}

/** What a binlog run applied in all, as the ledger has it (`migration.binlog_applies`). */
export interface AppliedChanges extends Omit<ChangesPass, 'from' | 'to' | 'caughtUp'> {
  status: ChangesStatus;
  from: BinlogPosition | null;
  to: BinlogPosition | null;
  caughtUp: boolean | null;
  error: string | null;
}

/** Records a binlog run as planned; its ApplyChanges has not reported back yet. */
export async function recordChangesPlanned(target: pg.Client, runId: string): Promise<void> {
  await target.query(
    `INSERT INTO ${LEDGER_SCHEMA}.binlog_applies (run_id) VALUES ($1)
     ON CONFLICT (run_id) DO UPDATE SET status = 'pending', from_position = NULL, to_position = NULL, transactions = NULL,
       changed_keys = NULL, rows_deleted = NULL, rows_written = NULL, caught_up = NULL, lag_seconds = NULL,
       backlog_bytes = NULL, policy_counts = NULL, seconds = NULL, error = NULL, updated_at = clock_timestamp()`,
    [runId],
  );
}

/** Adds a pass to the run's record; called in the transaction that wrote the pass's changes. */
export async function recordChangesPass(target: pg.Client, runId: string, pass: ChangesPass): Promise<void> {
  const { rowCount } = await target.query(
    `UPDATE ${LEDGER_SCHEMA}.binlog_applies
        SET status = 'applied', error = NULL,
            from_position = coalesce(from_position, $2), to_position = $3,
            transactions = coalesce(transactions, 0) + $4,
            changed_keys = coalesce(changed_keys, '{}') || coalesce(
              (SELECT jsonb_object_agg(key, coalesce((changed_keys ->> key)::bigint, 0) + value::bigint) FROM jsonb_each_text($5::jsonb)),
              '{}'),
            rows_deleted = coalesce(rows_deleted, 0) + $6, rows_written = coalesce(rows_written, 0) + $7,
            caught_up = $8, lag_seconds = $9, backlog_bytes = $10, seconds = coalesce(seconds, 0) + $11,
            policy_counts = (SELECT jsonb_object_agg(key, coalesce((policy_counts ->> key)::bigint, 0) + value::bigint)
                               FROM jsonb_each_text($12::jsonb)),
            updated_at = clock_timestamp()
      WHERE run_id = $1`,
    [
      runId,
      JSON.stringify(pass.from),
      JSON.stringify(pass.to),
      pass.transactions,
      JSON.stringify(pass.changedKeys),
      pass.rowsDeleted,
      pass.rowsWritten,
      pass.caughtUp,
      pass.lagSeconds,
      pass.backlogBytes,
      pass.seconds,
      JSON.stringify(pass.policyCounts),
    ],
  );
  if (rowCount !== 1) throw new Error(`Binlog run ${runId} is not in the ledger: was the run planned?`);
}

/** Marks the run's changes failed; what earlier passes committed stays recorded (and applied). */
export async function recordChangesFailed(target: pg.Client, runId: string, error: string): Promise<void> {
  await target.query(
    `UPDATE ${LEDGER_SCHEMA}.binlog_applies SET status = 'failed', error = $2, updated_at = clock_timestamp() WHERE run_id = $1`,
    [runId, error],
  );
}

/** What the run applied; null when it is not a binlog run. */
export async function readAppliedChanges(target: pg.Client, runId: string): Promise<AppliedChanges | null> {
  const { rows } = await target
    .query<{
      status: ChangesStatus;
      from_position: BinlogPosition | null;
      to_position: BinlogPosition | null;
      transactions: string | null;
      changed_keys: Record<string, number> | null;
      rows_deleted: string | null;
      rows_written: string | null;
      caught_up: boolean | null;
      lag_seconds: number | null;
      backlog_bytes: string | null;
      policy_counts: PolicyCounts | null;
      seconds: number | null;
      error: string | null;
    }>(`SELECT * FROM ${LEDGER_SCHEMA}.binlog_applies WHERE run_id = $1`, [runId])
    .catch((error: { code?: string }) => {
      // A ledger from before binlog runs: no run of it is one.
      if (error.code === '42P01') return { rows: [] };
      throw error;
    });
  const row = rows[0];
  if (!row) return null;
  return {
    status: row.status,
    from: row.from_position,
    to: row.to_position,
    transactions: Number(row.transactions ?? 0),
    changedKeys: row.changed_keys ?? {},
    rowsDeleted: Number(row.rows_deleted ?? 0),
    rowsWritten: Number(row.rows_written ?? 0),
    caughtUp: row.caught_up,
    lagSeconds: row.lag_seconds,
    backlogBytes: Number(row.backlog_bytes ?? 0),
    policyCounts: { ...zeroPolicyCounts(), ...row.policy_counts },
    seconds: row.seconds ?? 0,
    error: row.error,
  };
}
