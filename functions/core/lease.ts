import type pg from 'pg';
import { LeaseLostError, RunInProgressError } from './errors.js';
import { LEDGER_SCHEMA } from './ledger.js';

/**
 * How long a lease lasts without a heartbeat. Plan takes it and every CopyRange renews it, so it
 * must outlast the longest range (15 minutes in Lambda) and its retries; a crashed run blocks
 * its table for at most this long after its last range.
 */
export const LEASE_SECONDS = 30 * 60;

export interface LeaseHolder {
  table: string;
  runId: string;
  execution: string;
}

/**
 * Takes the table's lease for the run: one run per table at a time. A lease that expired (its run
 * crashed or was stopped) is taken over; the run's own lease (a retried Plan) is renewed.
 * Throws {@link RunInProgressError} naming the holder when another live run has it.
 */
export async function takeLease(target: pg.Client, holder: LeaseHolder): Promise<void> {
  const { rowCount } = await target.query(
    `INSERT INTO ${LEDGER_SCHEMA}.leases AS lease (table_name, run_id, execution, expires_at)
     VALUES ($1, $2, $3, clock_timestamp() + make_interval(secs => $4))
     ON CONFLICT (table_name) DO UPDATE
        SET run_id = EXCLUDED.run_id, execution = EXCLUDED.execution, taken_at = clock_timestamp(), expires_at = EXCLUDED.expires_at
      WHERE lease.run_id = EXCLUDED.run_id OR lease.expires_at <= clock_timestamp()`,
    [holder.table, holder.runId, holder.execution, LEASE_SECONDS],
  );
  if (rowCount === 1) return;
  const { rows } = await target.query<{ run_id: string; execution: string; taken_at: string; expires_at: string }>(
    `SELECT run_id, execution, taken_at::text, expires_at::text FROM ${LEDGER_SCHEMA}.leases WHERE table_name = $1`,
    [holder.table],
  );
  const other = rows[0];
  // Released between the two statements: the other run just ended, so try once more.
  if (!other) return takeLease(target, holder);
  throw new RunInProgressError(
    `${holder.table} is being migrated by run ${other.run_id} (${other.execution}) since ${other.taken_at}; ` +
      `this run did nothing. Its lease expires at ${other.expires_at} unless the run renews it.`,
  );
}

/**
 * Extends the run's lease; fails with {@link LeaseLostError} when another run has taken it over or
 * it was released, so a run that lost its table writes nothing more. Inside a range's transaction
 * it also fences the commit: the range's rows land only while the run holds the table.
 */
export async function renewLease(target: pg.Client, table: string, runId: string): Promise<void> {
  const { rowCount } = await target.query(
    `UPDATE ${LEDGER_SCHEMA}.leases SET expires_at = clock_timestamp() + make_interval(secs => $3)
      WHERE table_name = $1 AND run_id = $2`,
    [table, runId, LEASE_SECONDS],
  );
  if (rowCount !== 1) {
    throw new LeaseLostError(
      `Run ${runId} no longer holds the lease of ${table} (it expired and another run took it, or the run has ended): this range wrote nothing`,
    );
  }
}

/** Gives the table back; only the run's own lease is released. */
export async function releaseLease(target: pg.Client, table: string, runId: string): Promise<void> {
  await target.query(`DELETE FROM ${LEDGER_SCHEMA}.leases WHERE table_name = $1 AND run_id = $2`, [table, runId]);
}

/** Gives back every table the run holds: the run has ended. Returns how many it held. */
export async function releaseLeases(target: pg.Client, runId: string): Promise<number> {
  const { rowCount } = await target.query(`DELETE FROM ${LEDGER_SCHEMA}.leases WHERE run_id = $1`, [runId]);
  return rowCount ?? 0;
}
