import type pg from 'pg';
import { LEDGER_SCHEMA } from '../ledger.js';
import type { FinishedObject, ObjectStatus } from './apply.js';

/** running: under way (or its invocation died); skipped: the run's data failed, so nothing was built on it. */
export type FinishStatus = 'running' | 'finished' | 'skipped' | 'failed';

/** The finishing step of a run, as the summary gives it. */
export interface FinishSummary {
  status: FinishStatus;
  error: string | null;
  /** How many objects ended in each status. */
  counts: Record<ObjectStatus, number>;
  /** The first {@link LISTED_OBJECTS} objects not carried or not valid, with why; the ledger has every object. */
  attention: FinishedObject[];
}

/** How many objects needing attention a summary lists. */
export const LISTED_OBJECTS = 50;
// A view's definition can be long, and the summary is the execution's output (256 KiB at most):
// the ledger keeps it whole.
const LISTED_DEFINITION_CHARS = 500;

export async function recordFinishStatus(
  target: pg.Client,
  runId: string,
  status: FinishStatus,
  error: string | null = null,
): Promise<void> {
  await target.query(`UPDATE ${LEDGER_SCHEMA}.runs SET finish_status = $2, finish_error = $3 WHERE run_id = $1`, [
    runId,
    status,
    error,
  ]);
  // A repeated finishing step of the same run lists its objects anew.
  if (status === 'running')
    await target.query(`DELETE FROM ${LEDGER_SCHEMA}.finish_objects WHERE run_id = $1`, [runId]);
}

export async function recordFinishedObject(
  target: pg.Client,
  runId: string,
  position: number,
  object: FinishedObject,
): Promise<void> {
  await target.query(
    `INSERT INTO ${LEDGER_SCHEMA}.finish_objects (run_id, position, kind, table_name, name, status, detail, definition)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [runId, position, object.kind, object.table, object.name, object.status, object.detail, object.definition],
  );
}

/** The run's finishing step from the ledger; null when it had none. */
export async function readFinishSummary(target: pg.Client, runId: string): Promise<FinishSummary | null> {
  const { rows } = await target.query<{ status: FinishStatus | null; error: string | null }>(
    `SELECT finish_status AS status, finish_error AS error FROM ${LEDGER_SCHEMA}.runs WHERE run_id = $1`,
    [runId],
  );
  const run = rows[0];
  if (!run?.status) return null;
  const { rows: counted } = await target.query<{ status: ObjectStatus; count: string }>(
    `SELECT status, count(*) AS count FROM ${LEDGER_SCHEMA}.finish_objects WHERE run_id = $1 GROUP BY status`,
    [runId],
  );
  const counts: Record<ObjectStatus, number> = { created: 0, present: 0, updated: 0, 'not valid': 0, 'not carried': 0 };
  for (const { status, count } of counted) counts[status] = Number(count);
  const { rows: attention } = await target.query<FinishedObject>(
    `SELECT kind, table_name AS "table", name, status, detail, left(definition, ${LISTED_DEFINITION_CHARS}) AS definition
       FROM ${LEDGER_SCHEMA}.finish_objects
      WHERE run_id = $1 AND status IN ('not valid', 'not carried') ORDER BY status DESC, position LIMIT ${LISTED_OBJECTS}`,
    [runId],
  );
  return {
    status: run.status,
    error: run.status === 'running' ? (run.error ?? 'Finish never reported back') : run.error,
    counts,
    attention,
  };
}
