import type pg from 'pg';
import { closeTarget } from './connections.js';
import { type MigrationError, TransientDatabaseError } from './errors.js';
import type { RunMode, RunSettings } from './input.js';
import {
  DEFAULT_POLICIES,
  POLICY_NAMES,
  type Policies,
  type PolicyCounts,
  policiesSchema,
  zeroPolicyCounts,
} from './policies.js';
import type { KeyRange } from './ranges.js';

/**
 * The run ledger lives in the target database, in its own schema, so a range's data and its
 * record commit in one transaction and people can read a run's history with plain SQL.
 */
export const LEDGER_SCHEMA = 'migration';

/** SQL giving a ledger timestamp as the text MySQL reads back exactly: `YYYY-MM-DD HH:MM:SS.ffffff`. */
export const asSourceTime = (expression: string) => `to_char(${expression}, 'YYYY-MM-DD HH24:MI:SS.US')`;

export type RangeStatus = 'pending' | 'copied' | 'failed';
export type RunStatus = 'running' | 'succeeded' | 'failed';
/** What VerifyRange found; null until it ran, and when the run does not verify. */
export type Verification = 'verified' | 'mismatch' | null;

const LEDGER_DDL = `
CREATE SCHEMA IF NOT EXISTS ${LEDGER_SCHEMA};
CREATE TABLE IF NOT EXISTS ${LEDGER_SCHEMA}.runs (
  run_id      text PRIMARY KEY,
  execution   text NOT NULL,
  table_name  text NOT NULL,
  mode        text NOT NULL,
  input       jsonb NOT NULL,
  started_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  ended_at    timestamptz,
  status      text NOT NULL DEFAULT 'running'
);
CREATE TABLE IF NOT EXISTS ${LEDGER_SCHEMA}.ranges (
  run_id      text NOT NULL REFERENCES ${LEDGER_SCHEMA}.runs ON DELETE CASCADE,
  range_index integer NOT NULL,
  lo          text,
  hi          text,
  status      text NOT NULL DEFAULT 'pending',
  rows        bigint,
  attempts    integer NOT NULL DEFAULT 0,
  seconds     double precision,
  error       text,
  updated_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (run_id, range_index)
);
-- The Map's items as Plan produced them, read a page at a time: never all in the state payload.
CREATE TABLE IF NOT EXISTS ${LEDGER_SCHEMA}.items (
  run_id      text NOT NULL REFERENCES ${LEDGER_SCHEMA}.runs ON DELETE CASCADE,
  seq         integer NOT NULL,
  item        jsonb NOT NULL,
  PRIMARY KEY (run_id, seq)
);
-- Each table of a run: what Plan found (its change column and watermarks, what creating it left
-- out, or why it was refused).
CREATE TABLE IF NOT EXISTS ${LEDGER_SCHEMA}.run_tables (
  run_id         text NOT NULL REFERENCES ${LEDGER_SCHEMA}.runs ON DELETE CASCADE,
  table_name     text NOT NULL,
  change_column  text,
  changed_since  timestamp(6),
  high_watermark timestamp(6),
  schema_notes   jsonb NOT NULL DEFAULT '[]',
  refused        text,
  whole          text,
  PRIMARY KEY (run_id, table_name)
);
CREATE TABLE IF NOT EXISTS ${LEDGER_SCHEMA}.watermarks (
  table_name    text PRIMARY KEY,
  change_column text NOT NULL,
  watermark     timestamp(6) NOT NULL,
  run_id        text NOT NULL,
  updated_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE IF NOT EXISTS ${LEDGER_SCHEMA}.leases (
  table_name  text PRIMARY KEY,
  run_id      text NOT NULL,
  execution   text NOT NULL,
  taken_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
  expires_at  timestamptz NOT NULL
);
-- Binlog runs: where each table's changes are applied up to, and what each binlog run applied.
CREATE TABLE IF NOT EXISTS ${LEDGER_SCHEMA}.binlog_checkpoints (
  table_name      text PRIMARY KEY,
  binlog_file     text NOT NULL,
  binlog_position bigint NOT NULL,
  gtid            text,
  run_id          text NOT NULL,
  updated_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE IF NOT EXISTS ${LEDGER_SCHEMA}.binlog_applies (
  run_id          text PRIMARY KEY REFERENCES ${LEDGER_SCHEMA}.runs ON DELETE CASCADE,
  status          text NOT NULL DEFAULT 'pending',
  from_position   jsonb,
  to_position     jsonb,
  transactions    bigint,
  changed_keys    jsonb,
  rows_deleted    bigint,
  rows_written    bigint,
  caught_up       boolean,
  lag_seconds     double precision,
  backlog_bytes   bigint,
  policy_counts   jsonb,
  seconds         double precision,
  error           text,
  updated_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- What the finishing step created, found, or did not carry, per run.
CREATE TABLE IF NOT EXISTS ${LEDGER_SCHEMA}.finish_objects (
  run_id      text NOT NULL REFERENCES ${LEDGER_SCHEMA}.runs ON DELETE CASCADE,
  position    integer NOT NULL,
  kind        text NOT NULL,
  table_name  text,
  name        text NOT NULL,
  status      text NOT NULL,
  detail      text,
  definition  text,
  PRIMARY KEY (run_id, position)
);`;

/** Columns ledger tables gained after they were first created; a ledger without them gets them. */
const ADDED_COLUMNS: { table: string; column: string; type: string }[] = [
  // Change tracking: the source's change column, which rows the run copied (changed_since) and
  // the watermark the table advances to when the run succeeds. Values are in the source's clock.
  { table: 'runs', column: 'change_column', type: 'text' },
  { table: 'runs', column: 'changed_since', type: 'timestamp(6)' },
  { table: 'runs', column: 'high_watermark', type: 'timestamp(6)' },
  // What creating the target left out, and what the value policies did per range.
  { table: 'runs', column: 'schema_notes', type: 'jsonb' },
  { table: 'ranges', column: 'policy_counts', type: 'jsonb' },
  // Where a range copied in several invocations goes on: its rows below this key are committed.
  { table: 'ranges', column: 'resume_key', type: 'numeric(20,0)' },
  { table: 'ranges', column: 'verification', type: 'text' },
  { table: 'ranges', column: 'checksum', type: 'text' },
  { table: 'ranges', column: 'verify_seconds', type: 'double precision' },
  // Where a full run began in the source's binary log: its tables' binlog checkpoint once it succeeds.
  { table: 'runs', column: 'binlog_start', type: 'jsonb' },
  // The finishing step: running, finished, skipped (the data failed) or failed, with its error.
  { table: 'runs', column: 'finish_status', type: 'text' },
  { table: 'runs', column: 'finish_error', type: 'text' },
  // The table a range is of: a run copies several.
  { table: 'ranges', column: 'table_name', type: 'text' },
];

/**
 * Brings the records of runs from before a run had several tables into today's shape: each run's
 * one table into run_tables, and onto its ranges. Runs once, when ranges gain table_name.
 */
const ONE_TABLE_RUNS = `
INSERT INTO ${LEDGER_SCHEMA}.run_tables (run_id, table_name, change_column, changed_since, high_watermark, schema_notes)
SELECT run_id, table_name, change_column, changed_since, high_watermark, coalesce(schema_notes, '[]') FROM ${LEDGER_SCHEMA}.runs
ON CONFLICT DO NOTHING;
UPDATE ${LEDGER_SCHEMA}.ranges r SET table_name = runs.table_name FROM ${LEDGER_SCHEMA}.runs
 WHERE r.run_id = runs.run_id AND r.table_name IS NULL;`;

// Serializes ledger creation between concurrent runs (CREATE ... IF NOT EXISTS can still race).
const LEDGER_LOCK = 7_201_604_042;

export async function ensureLedger(target: pg.Client): Promise<void> {
  await inTransaction(target, async () => {
    await target.query('SELECT pg_advisory_xact_lock($1)', [LEDGER_LOCK]);
    await target.query(LEDGER_DDL);
    await addMissingColumns(target);
  });
}

// ALTER TABLE locks the table even when the column exists, which would stall the ranges other
// runs are copying (their transactions hold the ledger row): alter only what is missing.
async function addMissingColumns(target: pg.Client): Promise<void> {
  const { rows } = await target.query<{ name: string }>(
    `SELECT table_name || '.' || column_name AS name FROM information_schema.columns WHERE table_schema = $1`,
    [LEDGER_SCHEMA],
  );
  const present = new Set(rows.map((row) => row.name));
  for (const { table, column, type } of ADDED_COLUMNS.filter(
    ({ table, column }) => !present.has(`${table}.${column}`),
  )) {
    await target.query(`ALTER TABLE ${LEDGER_SCHEMA}.${table} ADD COLUMN IF NOT EXISTS ${column} ${type}`);
    if (table === 'ranges' && column === 'table_name') await target.query(ONE_TABLE_RUNS);
  }
  if (await boundariesAreNumbers(target)) {
    // A tuple key's boundaries are JSON text: ledgers from before hold integer ones as numbers.
    await target.query(
      `ALTER TABLE ${LEDGER_SCHEMA}.ranges ALTER COLUMN lo TYPE text USING lo::text, ALTER COLUMN hi TYPE text USING hi::text`,
    );
  }
}

async function boundariesAreNumbers(target: pg.Client): Promise<boolean> {
  const { rows } = await target.query(
    `SELECT 1 FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'ranges' AND column_name = 'lo' AND data_type = 'numeric'`,
    [LEDGER_SCHEMA],
  );
  return rows.length > 0;
}

/**
 * The run's Map items in order, each as opaque JSON with its sequence number, replacing any a
 * repeated Plan recorded. Called inside the run's transaction.
 */
async function recordItems(target: pg.Client, runId: string, items: readonly unknown[]): Promise<void> {
  await target.query(`DELETE FROM ${LEDGER_SCHEMA}.items WHERE run_id = $1`, [runId]);
  await target.query(
    `INSERT INTO ${LEDGER_SCHEMA}.items (run_id, seq, item)
     SELECT $1, i.ordinality - 1, i.item FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS i(item, ordinality)`,
    [runId, JSON.stringify(items)],
  );
}

/** A run's items from sequence number `from`, in order, at most `limit` of them. */
export async function readItems(
  target: pg.Client,
  runId: string,
  from: number,
  limit: number,
): Promise<{ seq: number; item: unknown }[]> {
  const { rows } = await target.query<{ seq: number; item: unknown }>(
    `SELECT seq, item FROM ${LEDGER_SCHEMA}.items WHERE run_id = $1 AND seq >= $2 ORDER BY seq LIMIT $3`,
    [runId, from, limit],
  );
  return rows;
}

/** A table of a run, as Plan found it. */
export interface TableRecord {
  table: string;
  /** The change column and the watermarks, when the table has one. */
  changes: { column: string; since: string | null; highWatermark: string } | null;
  /** What creating the target table left out of the source's definition. */
  schemaNotes: string[];
  /** Why the table is not migrated, when it is not; null when it is. */
  refused: string | null;
  /** Why the table is one range replaced whole, when it is; null when it is split on its key. */
  whole: string | null;
}

export interface RunRecord {
  runId: string;
  execution: string;
  settings: RunSettings;
  tables: TableRecord[];
}

/** How a run is named where one name is shown: its table, or its tables joined (the first ten of many). */
export function runLabel(tables: string[]): string {
  if (tables.length <= LABELLED_TABLES) return tables.join(', ');
  return `${tables.length} tables: ${tables.slice(0, LABELLED_TABLES).join(', ')}, …`;
}

const LABELLED_TABLES = 10;

/** Records the run, its tables and its planned ranges as pending; a repeated Plan replaces its own. */
export async function startRun(
  target: pg.Client,
  run: RunRecord,
  ranges: (KeyRange & { table: string })[],
): Promise<void> {
  await inTransaction(target, async () => {
    await target.query(
      `INSERT INTO ${LEDGER_SCHEMA}.runs (run_id, execution, table_name, mode, input)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (run_id) DO UPDATE SET started_at = clock_timestamp(), ended_at = NULL, status = 'running', input = EXCLUDED.input,
         mode = EXCLUDED.mode, table_name = EXCLUDED.table_name`,
      [
        run.runId,
        run.execution,
        runLabel(run.tables.map((t) => t.table)),
        run.settings.mode,
        JSON.stringify(run.settings),
      ],
    );
    await target.query(`DELETE FROM ${LEDGER_SCHEMA}.run_tables WHERE run_id = $1`, [run.runId]);
    await target.query(
      `INSERT INTO ${LEDGER_SCHEMA}.run_tables (run_id, table_name, change_column, changed_since, high_watermark, schema_notes, refused, whole)
       SELECT $1, t.* FROM jsonb_to_recordset($2::jsonb)
           AS t(table_name text, change_column text, changed_since timestamp(6), high_watermark timestamp(6), schema_notes jsonb,
                refused text, whole text)`,
      [
        run.runId,
        JSON.stringify(
          run.tables.map((t) => ({
            table_name: t.table,
            change_column: t.changes?.column ?? null,
            changed_since: t.changes?.since ?? null,
            high_watermark: t.changes?.highWatermark ?? null,
            schema_notes: t.schemaNotes,
            refused: t.refused,
            whole: t.whole,
          })),
        ),
      ],
    );
    await target.query(`DELETE FROM ${LEDGER_SCHEMA}.ranges WHERE run_id = $1`, [run.runId]);
    await recordItems(target, run.runId, ranges);
    await target.query(
      `INSERT INTO ${LEDGER_SCHEMA}.ranges (run_id, range_index, table_name, lo, hi)
       SELECT $1, r.range_index, r.table_name, r.lo, r.hi
         FROM unnest($2::int[], $3::text[], $4::text[], $5::text[]) AS r(range_index, table_name, lo, hi)`,
      [
        run.runId,
        ranges.map((r) => r.index),
        ranges.map((r) => r.table),
        ranges.map((r) => r.lo),
        ranges.map((r) => r.hi),
      ],
    );
  });
}

/**
 * What one CopyRange invocation wrote: `rows` from the range's `lo`, how many values each policy
 * handled, and `next`, the first key left for a later invocation, if any.
 */
export interface CopiedChunk {
  rows: number;
  policyCounts: PolicyCounts;
  next?: string;
}

// An invocation that starts where the ledger says the range stopped continues it: its rows,
// seconds and policy counts add up, and it is not a new attempt.
const RESUMES = 'resume_key IS NOT NULL AND resume_key::text = $3';

/**
 * Records a chunk of a range; called inside the transaction that wrote its rows. The range is
 * `copied` when nothing is left, otherwise it stays `pending` with its resume key.
 */
export async function recordRangeCopied(
  target: pg.Client,
  runId: string,
  range: KeyRange,
  chunk: CopiedChunk,
  seconds: number,
): Promise<void> {
  const { rowCount } = await target.query(
    `UPDATE ${LEDGER_SCHEMA}.ranges
        SET status = $6, resume_key = $7,
            rows = CASE WHEN ${RESUMES} THEN coalesce(rows, 0) + $4 ELSE $4 END,
            seconds = CASE WHEN ${RESUMES} THEN coalesce(seconds, 0) + $5 ELSE $5 END,
            policy_counts = CASE WHEN ${RESUMES}
              THEN (SELECT jsonb_object_agg(name, coalesce((policy_counts ->> name)::bigint, 0) + count::bigint) FROM jsonb_each_text($8::jsonb) AS c(name, count))
              ELSE $8::jsonb END,
            attempts = attempts + CASE WHEN ${RESUMES} THEN 0 ELSE 1 END,
            -- Whatever an earlier verification found was about the rows this copy replaces.
            verification = NULL, checksum = NULL, verify_seconds = NULL,
            error = NULL, updated_at = clock_timestamp()
      WHERE run_id = $1 AND range_index = $2`,
    [
      runId,
      range.index,
      range.lo,
      chunk.rows,
      seconds,
      chunk.next === undefined ? 'copied' : 'pending',
      chunk.next ?? null,
      JSON.stringify(chunk.policyCounts),
    ],
  );
  assertPlanned(rowCount, runId, range);
}

function assertPlanned(updated: number | null, runId: string, range: KeyRange): void {
  if (updated !== 1) throw new Error(`Range ${range.index} of run ${runId} is not in the ledger: was the run planned?`);
}

/** Opens a fresh connection to the target, for a write the invocation's own connection may not be able to make. */
export type TargetOpener = () => Promise<pg.Client>;

/**
 * Writes a range's failure where it can land, so that a range whose failure reaches the workflow
 * is never left `pending`: on the invocation's own target connection, unless the failure was a
 * transient fault (the connection may be dead or silent: the caller dropped it) and a fresh one
 * can be opened; on a fresh one too when the write on the own connection fails. Null when
 * neither could write it (the target is unreachable; the range then counts as never reported back).
 */
export async function recordFailure<T>(
  target: pg.Client,
  failure: MigrationError,
  reopen: TargetOpener | undefined,
  write: (target: pg.Client) => Promise<T>,
): Promise<T | null> {
  if (!(reopen && failure instanceof TransientDatabaseError)) {
    try {
      return await write(target);
    } catch {
      // On to a fresh connection.
    }
  }
  if (!reopen) return null;
  let fresh: pg.Client | undefined;
  try {
    fresh = await reopen();
    return await write(fresh);
  } catch {
    return null;
  } finally {
    if (fresh) await closeTarget(fresh);
  }
}

/**
 * Marks a range failed, after its transaction rolled back, and returns how many attempts the
 * ledger has counted. Rows an earlier invocation committed (below the resume key) stay counted.
 */
export async function recordRangeFailed(
  target: pg.Client,
  runId: string,
  range: KeyRange,
  error: string,
  seconds: number,
): Promise<number | null> {
  const { rows } = await target.query<{ attempts: number }>(
    `UPDATE ${LEDGER_SCHEMA}.ranges
        SET status = 'failed', seconds = $4, attempts = attempts + 1, error = $3, updated_at = clock_timestamp(),
            -- What an earlier invocation committed below the resume key stays, and stays counted.
            rows = CASE WHEN resume_key IS NULL THEN NULL ELSE rows END,
            policy_counts = CASE WHEN resume_key IS NULL THEN NULL ELSE policy_counts END
      WHERE run_id = $1 AND range_index = $2
      RETURNING attempts`,
    [runId, range.index, error, seconds],
  );
  return rows[0]?.attempts ?? null;
}

// Whether a run verifies its ranges (by checksum, by rows, or true); runs recorded before verification existed did not.
const VERIFIES = `coalesce(input->>'verify', 'false') <> 'false' AS verify`;

/** A range that needs nothing more: copied and, when its run verifies ($2), verified. */
const DONE = `status = 'copied' AND (NOT $2 OR verification = 'verified')`;

/** The ranges of a run that are not done (not copied, or not verified), each from where it stopped: what a retry must copy. */
export interface UnfinishedRun {
  runId: string;
  status: RunStatus;
  /** The run's tables (those it did not refuse). */
  tables: string[];
  ranges: (Pick<KeyRange, 'lo' | 'hi'> & { table: string })[];
}

/**
 * The latest run of `table` (of any table when null, as a run of a whole database is) with its
 * unfinished ranges (of that table), or null when the ledger has no such run.
 */
export async function lastRunOf(target: pg.Client, table: string | null): Promise<UnfinishedRun | null> {
  const { rows: runs } = await target
    .query<{ run_id: string; status: RunStatus; verify: boolean }>(
      `SELECT run_id, status, ${VERIFIES} FROM ${LEDGER_SCHEMA}.runs
        WHERE run_id IN (SELECT run_id FROM ${LEDGER_SCHEMA}.run_tables WHERE ($1::text IS NULL OR table_name = $1) AND refused IS NULL)
        ORDER BY started_at DESC LIMIT 1`,
      [table],
    )
    .catch((error: { code?: string }) => {
      // No ledger yet: no run of anything.
      if (error.code === '42P01' || error.code === '3F000') return { rows: [] };
      throw error;
    });
  const run = runs[0];
  if (!run) return null;
  const { rows: tables } = await target.query<{ table_name: string }>(
    `SELECT table_name FROM ${LEDGER_SCHEMA}.run_tables WHERE run_id = $1 AND refused IS NULL ORDER BY table_name`,
    [run.run_id],
  );
  const { rows } = await target.query<{ table: string; lo: string | null; hi: string | null }>(
    `SELECT table_name AS table, coalesce(resume_key::text, lo) AS lo, hi FROM ${LEDGER_SCHEMA}.ranges
      WHERE run_id = $1 AND NOT (${DONE}) AND ($3::text IS NULL OR table_name = $3) ORDER BY range_index`,
    [run.run_id, run.verify, table],
  );
  return { runId: run.run_id, status: run.status, tables: tables.map((t) => t.table_name), ranges: rows };
}

/** Marks a copied range verified, with the checksum of its rows; a failed earlier attempt is forgotten. */
export async function recordRangeVerified(
  target: pg.Client,
  runId: string,
  range: KeyRange,
  checksum: string,
  seconds: number,
): Promise<void> {
  const { rowCount } = await target.query(
    `UPDATE ${LEDGER_SCHEMA}.ranges
        SET status = 'copied', verification = 'verified', checksum = $3, verify_seconds = $4, error = NULL, updated_at = clock_timestamp()
      WHERE run_id = $1 AND range_index = $2`,
    [runId, range.index, checksum, seconds],
  );
  assertPlanned(rowCount, runId, range);
}

/** Marks a range failed by its verification: a mismatch, or a verification that could not finish. */
export async function recordVerificationFailed(
  target: pg.Client,
  runId: string,
  range: KeyRange,
  failure: { error: string; mismatch: boolean },
  seconds: number,
): Promise<void> {
  await target.query(
    `UPDATE ${LEDGER_SCHEMA}.ranges
        SET status = 'failed', verification = $4, checksum = NULL, verify_seconds = $5, error = $3, updated_at = clock_timestamp()
      WHERE run_id = $1 AND range_index = $2`,
    [runId, range.index, failure.error, failure.mismatch ? 'mismatch' : null, seconds],
  );
}

export interface FailedRange extends KeyRange {
  table: string;
  status: RangeStatus;
  error: string | null;
}

/** One range as the ledger has it: what it copied and what its verification found. */
export interface RangeResult extends KeyRange {
  table: string;
  status: RangeStatus;
  rows: number | null;
  seconds: number | null;
  attempts: number;
  verification: Verification;
  checksum: string | null;
}

/** What a run did with one of its tables. */
export interface TableSummary {
  table: string;
  /** Rows copied, over every range of the table that copied. */
  rows: number;
  ranges: number;
  /** Ranges not done: failed, not verified when the run verifies, or never reported back. */
  failed: number;
  verifiedRanges: number;
  verifiedRows: number;
  mismatchedRanges: number;
  /** The change column's value this run brings the table up to; null without one. */
  watermark: string | null;
  /** What creating the target table left out of the source's definition. */
  schemaNotes: string[];
  /** Why the table was not migrated; null when it was. */
  refused: string | null;
  /** Why the table was copied as one range replaced whole; null when it was split on its key. */
  whole: string | null;
}

export interface RunSummary {
  runId: string;
  /** The run's table, or its tables joined by commas. */
  table: string;
  mode: RunMode;
  status: RunStatus;
  /** Rows copied, over every range that copied. */
  rows: number;
  ranges: number;
  copiedRanges: number;
  /** Ranges not done: failed, not verified when the run verifies, or never reported back. */
  failed: number;
  /** The first {@link LISTED_FAILURES} of them. */
  failedRanges: FailedRange[];
  /** Whether the run compares each range on both sides after copying it. */
  verify: boolean;
  verifiedRanges: number;
  verifiedRows: number;
  /** Ranges whose target rows differ from the source's. */
  mismatchedRanges: number;
  /** The first {@link LISTED_RANGES} ranges in run order; the ledger has them all. */
  rangeResults: RangeResult[];
  /** Each table of the run: refused tables first, then in the order of their ranges; the first {@link LISTED_TABLES}. */
  tables: TableSummary[];
  /** How many tables the run has, listed or not, and of them how many have ranges not done. */
  tableCount: number;
  failedTables: number;
  /** Tables the run found but could not migrate (each with its reason in `tables`). */
  refusedTables: number;
  seconds: number;
  /** A run of one table: the change column's value it brings the table up to (its watermark once it succeeded); null without one. */
  watermark: string | null;
  /** The run's policies and how many values each handled, over the copied ranges. */
  policies: Policies;
  policyCounts: PolicyCounts;
  /** What creating the target tables left out of the source's definitions (prefixed by the table when the run has several); the first {@link LISTED_NOTES}. */
  schemaNotes: string[];
}

// A run's duration so far (or in all, once it ended), to the millisecond.
const SECONDS = `round(extract(epoch FROM coalesce(ended_at, clock_timestamp()) - started_at)::numeric, 3)::float8 AS seconds`;

/** How many failed ranges a summary lists; the ledger has them all. */
export const LISTED_FAILURES = 50;
/** How many ranges a summary lists one by one, so it stays small however many the run has. */
export const LISTED_RANGES = 50;
/**
 * How many tables, and schema notes, a summary lists: Summarize's output is the execution's, which
 * Step Functions caps at 256 KiB, and a database can have thousands of tables. The ledger has them all.
 */
export const LISTED_TABLES = 200;
export const LISTED_NOTES = 100;

type TableRow = Record<'ranges' | 'copied' | 'done' | 'verified' | 'mismatched' | 'rows' | 'verified_rows', string> & {
  table_name: string;
  refused: string | null;
  whole: string | null;
  schema_notes: string[];
  watermark: string | null;
};

/**
 * The run's totals from the ledger, per table and in all. A range is done when it is `copied`
 * and, when the run verifies, `verified`; any other counts as failed: one still `pending` at the
 * end never reported back (its invocation died or timed out).
 */
export async function summarizeRun(target: pg.Client, runId: string): Promise<RunSummary> {
  const { rows: runs } = await target.query<{
    table_name: string;
    mode: RunMode;
    status: RunStatus;
    verify: boolean;
    seconds: number;
    policies: unknown;
  }>(
    `SELECT table_name, mode, status, ${VERIFIES}, ${SECONDS}, input -> 'policies' AS policies
       FROM ${LEDGER_SCHEMA}.runs WHERE run_id = $1`,
    [runId],
  );
  const run = runs[0];
  if (!run) throw new Error(`Run ${runId} is not in the ledger`);
  const { rows: perTable } = await target.query<TableRow>(
    `SELECT t.table_name, t.refused, t.whole, t.schema_notes, ${asSourceTime('t.high_watermark')} AS watermark,
            count(r.run_id) AS ranges, count(*) FILTER (WHERE status = 'copied') AS copied, count(*) FILTER (WHERE ${DONE}) AS done,
            count(*) FILTER (WHERE verification = 'verified') AS verified, count(*) FILTER (WHERE verification = 'mismatch') AS mismatched,
            coalesce(sum(rows), 0) AS rows, coalesce(sum(rows) FILTER (WHERE verification = 'verified'), 0) AS verified_rows
       FROM ${LEDGER_SCHEMA}.run_tables t
       LEFT JOIN ${LEDGER_SCHEMA}.ranges r ON r.run_id = t.run_id AND r.table_name = t.table_name
      WHERE t.run_id = $1
      GROUP BY t.table_name, t.refused, t.whole, t.schema_notes, t.high_watermark
      ORDER BY t.refused IS NULL, min(r.range_index) NULLS LAST, t.table_name`,
    [runId, run.verify],
  );
  const { rows: failed } = await target.query<{
    range_index: number;
    table_name: string;
    lo: string | null;
    hi: string | null;
    status: RangeStatus;
    error: string;
  }>(
    `SELECT range_index, table_name, lo::text, hi::text, status,
            coalesce(error, CASE status WHEN 'copied' THEN 'copied but never verified' ELSE 'never reported back' END) AS error
       FROM ${LEDGER_SCHEMA}.ranges
      WHERE run_id = $1 AND NOT (${DONE}) ORDER BY range_index LIMIT ${LISTED_FAILURES}`,
    [runId, run.verify],
  );
  const { rows: listed } = await target.query<{
    range_index: number;
    table_name: string;
    lo: string | null;
    hi: string | null;
    status: RangeStatus;
    rows: string | null;
    seconds: number | null;
    attempts: number;
    verification: Verification;
    checksum: string | null;
  }>(
    `SELECT range_index, table_name, lo::text, hi::text, status, rows, seconds, attempts, verification, checksum
       FROM ${LEDGER_SCHEMA}.ranges WHERE run_id = $1 ORDER BY range_index LIMIT ${LISTED_RANGES}`,
    [runId],
  );
  const { rows: counted } = await target.query<{ policy: string; count: string }>(
    `SELECT c.key AS policy, sum(c.value::bigint) AS count
       FROM ${LEDGER_SCHEMA}.ranges r, jsonb_each_text(r.policy_counts) c
      WHERE r.run_id = $1 AND r.status = 'copied' GROUP BY c.key`,
    [runId],
  );
  const policyCounts = zeroPolicyCounts();
  for (const { policy, count } of counted) {
    if ((POLICY_NAMES as string[]).includes(policy)) policyCounts[policy as keyof PolicyCounts] = Number(count);
  }
  const tables = perTable.map(tableSummary);
  const sum = (
    name: keyof TableSummary & ('rows' | 'ranges' | 'failed' | 'verifiedRanges' | 'verifiedRows' | 'mismatchedRanges'),
  ) => tables.reduce((total, table) => total + table[name], 0);
  const copied = perTable.reduce((total, row) => total + Number(row.copied), 0);
  const several = tables.length > 1;
  return {
    runId,
    table: run.table_name,
    mode: run.mode,
    status: run.status,
    rows: sum('rows'),
    ranges: sum('ranges'),
    copiedRanges: copied,
    failed: sum('failed'),
    failedRanges: failed.map((r) => ({
      index: r.range_index,
      table: r.table_name,
      lo: r.lo,
      hi: r.hi,
      status: r.status,
      error: r.error,
    })),
    verify: run.verify,
    verifiedRanges: sum('verifiedRanges'),
    verifiedRows: sum('verifiedRows'),
    mismatchedRanges: sum('mismatchedRanges'),
    rangeResults: listed.map((r) => ({
      index: r.range_index,
      table: r.table_name,
      lo: r.lo,
      hi: r.hi,
      status: r.status,
      rows: r.rows === null ? null : Number(r.rows),
      seconds: r.seconds,
      attempts: r.attempts,
      verification: r.verification,
      checksum: r.checksum,
    })),
    tables: tables.slice(0, LISTED_TABLES),
    tableCount: tables.length,
    failedTables: tables.filter((table) => table.refused === null && table.failed > 0).length,
    refusedTables: tables.filter((table) => table.refused !== null).length,
    seconds: run.seconds,
    watermark: several ? null : (tables[0]?.watermark ?? null),
    policies: run.policies ? policiesSchema.parse(run.policies) : DEFAULT_POLICIES,
    policyCounts,
    schemaNotes: tables
      .flatMap((table) => table.schemaNotes.map((note) => (several ? `${table.table}: ${note}` : note)))
      .slice(0, LISTED_NOTES),
  };
}

function tableSummary(row: TableRow): TableSummary {
  const count = (name: keyof TableRow) => Number(row[name]);
  return {
    table: row.table_name,
    rows: count('rows'),
    ranges: count('ranges'),
    failed: count('ranges') - count('done'),
    verifiedRanges: count('verified'),
    verifiedRows: count('verified_rows'),
    mismatchedRanges: count('mismatched'),
    watermark: row.watermark,
    schemaNotes: row.schema_notes ?? [],
    refused: row.refused,
    whole: row.whole,
  };
}

/** The run's tables whose every range is done (copied, and verified when the run verifies): each is up to date. */
export async function landedTables(target: pg.Client, runId: string): Promise<string[]> {
  const { rows } = await target.query<{ table_name: string }>(
    `SELECT t.table_name FROM ${LEDGER_SCHEMA}.run_tables t JOIN ${LEDGER_SCHEMA}.runs USING (run_id)
      WHERE t.run_id = $1 AND t.refused IS NULL
        AND NOT EXISTS (SELECT 1 FROM ${LEDGER_SCHEMA}.ranges r
                         WHERE r.run_id = t.run_id AND r.table_name = t.table_name
                           AND NOT (r.status = 'copied' AND (coalesce(runs.input->>'verify', 'false') = 'false' OR r.verification = 'verified')))`,
    [runId],
  );
  return rows.map((row) => row.table_name);
}

/** Closes the run with its status; returns its duration in seconds as the ledger now has it. */
export async function finishRun(target: pg.Client, runId: string, status: RunStatus): Promise<number> {
  const { rows } = await target.query<{ seconds: number }>(
    `UPDATE ${LEDGER_SCHEMA}.runs SET status = $2, ended_at = clock_timestamp() WHERE run_id = $1
     RETURNING ${SECONDS}`,
    [runId, status],
  );
  return rows[0]!.seconds;
}

/** Runs `work` in a transaction, rolling back when it throws. */
export async function inTransaction<T>(target: pg.Client, work: () => Promise<T>): Promise<T> {
  await target.query('BEGIN');
  try {
    const result = await work();
    await target.query('COMMIT');
    return result;
  } catch (error) {
    await target.query('ROLLBACK').catch(() => {});
    throw error;
  }
}
