import type mysql from 'mysql2';
import type pg from 'pg';
// zod's mini build: CopyRange checks changed rows with this schema and bundles what it imports.
import * as z from 'zod/mini';
import { classifyDatabaseError, InputValidationError, SchemaError } from './errors.js';
import { NAME, NAME_RULE, quoteMysql, quotePg } from './identifiers.js';
import { asSourceTime, LEDGER_SCHEMA } from './ledger.js';
import type { RowCondition } from './ranges.js';
import type { TableDescription } from './schema.js';

/** A watermark or `since` value: the text form MySQL prints for DATETIME(6), in the source's clock. */
export const SOURCE_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?$/;

/** Which rows an incremental range copies: those whose change column is at or after `since`; every row when `since` is null. */
export const changedRowsSchema = z.object({
  column: z.string().check(z.regex(NAME, NAME_RULE)),
  since: z.nullable(z.string().check(z.regex(SOURCE_TIME, 'must be a time as YYYY-MM-DD HH:MM:SS[.ffffff]'))),
});

export type ChangedRows = z.infer<typeof changedRowsSchema>;

/** A change column of the source table. */
export interface ChangeColumn {
  name: string;
  dataType: 'timestamp' | 'datetime';
}

const CHANGE_TYPES = new Set(['timestamp', 'datetime']);
// MariaDB says `on update current_timestamp()`, MySQL `on update CURRENT_TIMESTAMP` (after DEFAULT_GENERATED).
const SET_ON_UPDATE = /on update current_timestamp/i;

interface ColumnRow {
  name: string;
  dataType: string;
  nullable: string;
  extra: string;
}

/**
 * The column that tells which rows changed: the given one, checked, or else the table's one
 * `TIMESTAMP`/`DATETIME ... ON UPDATE CURRENT_TIMESTAMP` column. Returns the reason when there is
 * none; a given column that cannot serve is refused with the field named.
 */
export async function findChangeColumn(
  source: mysql.Connection,
  table: string,
  given: string | undefined,
): Promise<ChangeColumn | { missing: string }> {
  let rows: ColumnRow[];
  try {
    const [result] = await source.promise().query(
      `SELECT COLUMN_NAME AS name, DATA_TYPE AS dataType, IS_NULLABLE AS nullable, EXTRA AS extra
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
      [table],
    );
    rows = result as ColumnRow[];
  } catch (error) {
    throw classifyDatabaseError(error, 'source');
  }
  if (given !== undefined) {
    const column = rows.find((row) => row.name === given);
    const fix = 'name a NOT NULL TIMESTAMP or DATETIME column that every insert and update sets';
    if (!column) throw new InputValidationError(`"changeColumn": ${given} is not a column of ${table}: ${fix}`);
    const problem = unusable(column);
    if (problem) throw new InputValidationError(`"changeColumn": ${given} ${problem}: ${fix}`);
    return { name: column.name, dataType: column.dataType.toLowerCase() as ChangeColumn['dataType'] };
  }
  const candidates = rows.filter(
    (row) => SET_ON_UPDATE.test(row.extra) && CHANGE_TYPES.has(row.dataType.toLowerCase()),
  );
  if (candidates.length > 1) {
    return {
      missing: `${table} has several columns set on update (${candidates.map((c) => c.name).join(', ')}): name the one to compare in "changeColumn"`,
    };
  }
  const [column] = candidates;
  if (!column) {
    return {
      missing:
        `${table} has no change column (a TIMESTAMP ... ON UPDATE CURRENT_TIMESTAMP), so an incremental run cannot tell which rows changed: ` +
        'name one in "changeColumn", or run "mode": "full"',
    };
  }
  const problem = unusable(column);
  if (problem)
    return {
      missing: `${table}'s change column ${column.name} ${problem}: name another in "changeColumn", or run "mode": "full"`,
    };
  return { name: column.name, dataType: column.dataType.toLowerCase() as ChangeColumn['dataType'] };
}

function unusable(column: ColumnRow): string | null {
  if (!CHANGE_TYPES.has(column.dataType.toLowerCase())) return `has type ${column.dataType}, not TIMESTAMP or DATETIME`;
  if (column.nullable === 'YES')
    return 'allows NULL, and a row whose change column is NULL would never count as changed';
  return null;
}

/** The change column when the table has one, for a full run that sets the watermark when it can. */
export function changeColumnIfAny(found: ChangeColumn | { missing: string }): ChangeColumn | null {
  return 'missing' in found ? null : found;
}

/** The change column's incremental refusal, for a run that needs one. */
export function requireChangeColumn(found: ChangeColumn | { missing: string }): ChangeColumn {
  if ('missing' in found) throw new SchemaError(found.missing);
  return found;
}

/**
 * The source's clock now, as the change column would record it: a TIMESTAMP is read in UTC (the
 * session's zone); a DATETIME holds the server zone's wall time, which ON UPDATE CURRENT_TIMESTAMP
 * writes in sessions that keep the server's zone. This becomes the table's watermark when the run
 * succeeds, so it is read before any row is.
 */
export async function readSourceClock(source: mysql.Connection, column: ChangeColumn): Promise<string> {
  const now = column.dataType === 'timestamp' ? 'NOW(6)' : "CONVERT_TZ(UTC_TIMESTAMP(6), '+00:00', @@global.time_zone)";
  try {
    const [rows] = await source.promise().query({ sql: `SELECT ${now}`, rowsAsArray: true });
    const value = (rows as unknown[][])[0]?.[0];
    if (typeof value !== 'string')
      throw new SchemaError(
        `The source cannot tell its time in its global time zone (${String(value)}): load its time zone tables`,
      );
    return value;
  } catch (error) {
    throw classifyDatabaseError(error, 'source');
  }
}

/**
 * Where the table's last successful run left its change column, moved back by the overlap: the
 * `since` of the next incremental run. Null when no run of the table succeeded with this column
 * yet, so every row counts as changed.
 */
export async function readChangedSince(
  target: pg.Client,
  table: string,
  column: string,
  overlapSeconds: number,
): Promise<string | null> {
  const { rows } = await target.query<{ since: string }>(
    `SELECT ${asSourceTime('watermark - make_interval(secs => $3)')} AS since
       FROM ${LEDGER_SCHEMA}.watermarks WHERE table_name = $1 AND change_column = $2`,
    [table, column, overlapSeconds],
  );
  return rows[0]?.since ?? null;
}

/**
 * Moves the watermarks of the run's `tables` (those whose every range landed) to what Plan
 * recorded for each. A watermark never moves back; one of another change column is replaced.
 */
export async function advanceWatermarks(target: pg.Client, runId: string, tables: string[]): Promise<void> {
  await target.query(
    `INSERT INTO ${LEDGER_SCHEMA}.watermarks AS mark (table_name, change_column, watermark, run_id)
     SELECT table_name, change_column, high_watermark, run_id FROM ${LEDGER_SCHEMA}.run_tables
      WHERE run_id = $1 AND table_name = ANY($2) AND high_watermark IS NOT NULL
     ON CONFLICT (table_name) DO UPDATE
        SET watermark = CASE WHEN mark.change_column = EXCLUDED.change_column THEN greatest(mark.watermark, EXCLUDED.watermark) ELSE EXCLUDED.watermark END,
            change_column = EXCLUDED.change_column, run_id = EXCLUDED.run_id, updated_at = clock_timestamp()`,
    [runId, tables],
  );
}

/**
 * The change column a run tracks in `table` and its high watermark (the source's clock when Plan
 * began): a row whose change column is at or after it changed while the run went on. Null when
 * the table has no change column.
 */
export async function readRunHighWatermark(
  target: pg.Client,
  runId: string,
  table: string,
): Promise<{ column: string; highWatermark: string } | null> {
  const { rows } = await target.query<{ change_column: string; high_watermark: string }>(
    `SELECT change_column, ${asSourceTime('high_watermark')} AS high_watermark
       FROM ${LEDGER_SCHEMA}.run_tables WHERE run_id = $1 AND table_name = $2 AND high_watermark IS NOT NULL`,
    [runId, table],
  );
  const run = rows[0];
  return run ? { column: run.change_column, highWatermark: run.high_watermark } : null;
}

/** The MySQL condition selecting the changed rows; null when every row counts. */
export function changedRowsCondition(changes: ChangedRows): RowCondition | null {
  return changes.since === null ? null : { sql: `${quoteMysql(changes.column)} >= ?`, values: [changes.since] };
}

/**
 * Refuses a target table whose key is not unique: an incremental run upserts with
 * `ON CONFLICT (key columns)`, which needs a primary key or unique index on exactly those columns
 * (in any order).
 */
export async function requireTargetKey(
  target: pg.Client,
  description: TableDescription,
  targetSchema: string,
): Promise<void> {
  const columns = upsertKey(description);
  const { rows } = await target
    .query(
      `SELECT 1 FROM pg_index i
        WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indpred IS NULL AND i.indnkeyatts = cardinality($2::text[])
          AND (SELECT array_agg(a.attname::text ORDER BY a.attname::text)
                 FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, position)
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                WHERE k.position <= i.indnkeyatts)
              = (SELECT array_agg(name ORDER BY name) FROM unnest($2::text[]) AS name)`,
      [`${quotePg(targetSchema)}.${quotePg(description.table)}`, columns],
    )
    .catch((error: unknown) => {
      throw classifyDatabaseError(error, 'target');
    });
  if (rows.length === 0) {
    throw new SchemaError(
      `Target table ${targetSchema}.${description.table} has no primary key or unique index on ${columns.join(', ')}, which an incremental run upserts on: add one`,
    );
  }
}

/**
 * The columns an incremental run upserts changed rows by: the source's key (its primary key, or
 * the unique NOT NULL key standing in for one), whether one integer column or a tuple.
 */
export function upsertKey(description: TableDescription): string[] {
  if (description.whole !== null || !description.key)
    throw new Error(`${description.table} has no key to upsert changed rows by`);
  return description.key.columns;
}
