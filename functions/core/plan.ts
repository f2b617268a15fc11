import { keyedTable } from './binlog/keys.js';
import { usesBinlog } from './binlog/modes.js';
import { planBinlogRun, readFullRunStart, recordBinlogPlan } from './binlog/plan-binlog.js';
import type { ConnectionPair } from './connections.js';
import { InputValidationError, RunInProgressError, SchemaError, TableBusyError } from './errors.js';
import { TARGET_SCHEMA } from './identifiers.js';
import {
  type ChangeColumn,
  type ChangedRows,
  changeColumnIfAny,
  changedRowsCondition,
  findChangeColumn,
  readChangedSince,
  readSourceClock,
  requireChangeColumn,
  requireTargetKey,
} from './incremental.js';
import {
  excludedBy,
  namedTables,
  type RunDefaults,
  type RunMode,
  type RunSettings,
  resolveRunSettings,
} from './input.js';
import { releaseLeases, takeLease } from './lease.js';
import { ensureLedger, startRun, type TableRecord } from './ledger.js';
import type { Policies } from './policies.js';
import type { VerifyMode } from './range-checksum.js';
import { type KeyAtOffset, type KeyRange, mysqlKeyAtOffset, mysqlTupleAtOffset, splitKeySpace } from './ranges.js';
import { averageRowBytes, rowsPerRange } from './row-bytes.js';
import { describeSourceTable, listSourceTables, type TableDescription } from './schema.js';
import { prepareTargetTable } from './target-table.js';

export interface PlanEvent {
  /** The execution input, as given. */
  input: unknown;
  runId: string;
  execution: string;
}

/** One Map item: a range of one table of the run. */
export interface PlannedRange extends KeyRange {
  table: string;
  /** In an incremental run, which rows of the range to copy; null in a full run. */
  changes: ChangedRows | null;
}

export interface PlanResult {
  runId: string;
  execution: string;
  /** The tables the run copies, in the order their ranges come. */
  tables: string[];
  mode: RunMode;
  concurrency: number;
  /** Handed to every range, so all of them treat values alike. */
  policies: Policies;
  /** How each range is verified after it is copied (`checksum`, `rows`); the workflow skips VerifyRange when false. */
  verify: false | VerifyMode;
  /** At cut-over, how long the source must take no write; null (or absent) for the default. */
  quietSeconds?: number | null;
  /** Every table's ranges, numbered across the run. */
  ranges: PlannedRange[];
}

/** What Plan hands the workflow: the run without its items, which the ledger holds; their count. */
export type PlannedRun = Omit<PlanResult, 'ranges'> & { items: number };

/** The run as the state carries it: Step Functions caps a state at 256 KiB, and a run may have 10^5 items. */
export function withoutItems({ ranges, ...run }: PlanResult): PlannedRun {
  return { ...run, items: ranges.length };
}

/** A table of the run as Plan found it: ready to split, or refused with the reason. */
type FoundTable =
  | { table: string; description: TableDescription; changeColumn: ChangeColumn | null }
  | { table: string; refused: string };

/**
 * Validates the input, finds the run's tables (those named, or every base table of the source,
 * less `excludeTables`), takes each table's lease (one run per table at a time), prepares the
 * target tables and the ledger, and splits each table into ranges: a full run splits every row,
 * an incremental run only the rows changed since the table's watermark; ranges the input gives (a
 * redrive, a retry) are taken as they are. A table the input names that cannot be migrated
 * refuses the run; one found by listing the source is recorded as refused, with the reason, and
 * the others go on. Nothing is written before the input and the source tables have been checked.
 */
export async function plan(
  event: PlanEvent,
  { source, target }: ConnectionPair,
  defaults: RunDefaults,
): Promise<PlanResult> {
  const settings = resolveRunSettings(event.input, defaults);
  const found = await findTables({ source, target }, settings);
  const tables = found.filter((t) => 'description' in t);
  const descriptions = tables.map((t) => t.description);
  await ensureLedger(target);
  if (usesBinlog(settings.mode)) await planBinlogRun(source, target, descriptions);
  try {
    for (const { table } of tables) {
      await takeLease(target, { table, runId: event.runId, execution: event.execution }).catch((error: unknown) => {
        // The queue no longer holds a redrive's ranges: skipping them would lose them, so it waits its turn.
        throw settings.ranges && error instanceof RunInProgressError ? new TableBusyError(error.message) : error;
      });
    }
    // Read before any row is, so a change made after this place in the binary log is applied by the binlog runs that follow.
    const binlogStart = settings.mode === 'full' && !settings.ranges ? await readFullRunStart(source) : null;
    const records: TableRecord[] = [];
    const ranges: PlannedRange[] = [];
    for (const entry of found) {
      if (!('description' in entry)) {
        records.push({ table: entry.table, changes: null, schemaNotes: [], refused: entry.refused, whole: null });
        continue;
      }
      const { table, description, changeColumn } = entry;
      // Read before any row is, so a change made while the run copies is newer than the watermark.
      const highWatermark = changeColumn && (await readSourceClock(source, changeColumn));
      const changes: ChangedRows | null =
        settings.mode === 'incremental' && changeColumn
          ? {
              column: changeColumn.name,
              since: await readChangedSince(target, table, changeColumn.name, settings.overlapSeconds),
            }
          : null;
      const own = settings.ranges
        ? settings.ranges.filter((range) => (range.table ?? table) === table)
        : await splitRows(source, description, changes, settings);
      for (const { lo, hi } of own) ranges.push({ table, index: ranges.length, lo, hi, changes });
      // A run of given ranges copies part of the table, so it must not move the table's watermark; nor
      // does a binlog run (it may stop before the log's end), and a cut-over verifies every row, changed or not.
      const tracking =
        changeColumn && highWatermark && !settings.ranges && !usesBinlog(settings.mode)
          ? { column: changeColumn.name, since: changes?.since ?? null, highWatermark }
          : null;
      records.push({ table, changes: tracking, schemaNotes: [], refused: null, whole: description.whole });
    }
    const result: PlanResult = {
      runId: event.runId,
      execution: event.execution,
      tables: tables.map((t) => t.table),
      mode: settings.mode,
      concurrency: settings.concurrency,
      policies: settings.policies,
      verify: settings.verify,
      quietSeconds: settings.quietSeconds ?? null,
      ranges,
    };
    for (const record of records) {
      const entry = tables.find((t) => t.table === record.table);
      if (!entry) continue;
      record.schemaNotes = (await prepareTargetTable(target, entry.description, TARGET_SCHEMA)).notes;
      if (settings.mode === 'incremental') await requireTargetKey(target, entry.description, TARGET_SCHEMA);
    }
    await startRun(target, { runId: event.runId, execution: event.execution, settings, tables: records }, ranges);
    await recordBinlogPlan(target, event.runId, settings.mode, binlogStart);
    return result;
  } catch (error) {
    // The run ends here, so its tables are free again (a retried Plan takes them anew).
    await releaseLeases(target, event.runId).catch(() => {});
    throw error;
  }
}

/**
 * The run's tables with their descriptions: those the input names (each must exist and be
 * migratable), or every base table of the source, a table that cannot be migrated kept with the
 * reason. `excludeTables` leaves out what it matches either way.
 */
async function findTables({ source, target }: ConnectionPair, settings: RunSettings): Promise<FoundTable[]> {
  const existing = await listSourceTables(source);
  const named = namedTables(settings);
  const field = settings.table === undefined ? 'tables' : 'table';
  const missing = (named ?? []).filter((table) => !existing.includes(table));
  if (missing.length > 0) {
    throw new InputValidationError(
      `"${field}": ${missing.join(', ')} ${missing.length > 1 ? 'do' : 'does'} not exist in the source database ` +
        `(as a base table): give the name${missing.length > 1 ? 's' : ''} of existing tables, spelled as MySQL shows them`,
    );
  }
  const chosen = (named ?? existing).filter((table) => !excludedBy(settings.excludeTables, table));
  if (chosen.length === 0) {
    throw new InputValidationError(
      existing.length === 0
        ? 'The source database has no table: connect to the database that holds them'
        : `"excludeTables" ${settings.excludeTables} leaves no table to migrate: exclude fewer`,
    );
  }
  const found: FoundTable[] = [];
  for (const table of chosen) {
    try {
      const description = await describeSourceTable(source, table, target);
      refuseSpatialWithoutPostgis(description, settings.policies);
      if (settings.mode === 'incremental' && description.whole !== null) {
        throw new SchemaError(
          `${table} has no key to upsert changed rows by (${description.whole}): run "mode": "full" for it`,
        );
      }
      // Named tables are checked together in planBinlogRun, which names every one it refuses.
      if (!named && usesBinlog(settings.mode)) keyedTable(description);
      const column = await findChangeColumn(source, table, settings.changeColumn);
      // A full run needs no change column; when the table has one, the run still sets its watermark.
      const changeColumn = settings.mode === 'incremental' ? requireChangeColumn(column) : changeColumnIfAny(column);
      found.push({ table, description, changeColumn });
    } catch (error) {
      // A table the input names must be migrated; one of a whole database is left out with the reason.
      if (named || !(error instanceof SchemaError || error instanceof InputValidationError)) throw error;
      found.push({ table, refused: error.message });
    }
  }
  return found;
}

/**
 * Under `spatial: fail`, a spatial column the target can only hold as bytes stops the run here,
 * before anything is written, rather than failing every range that holds a value.
 */
function refuseSpatialWithoutPostgis(description: TableDescription, policies: Policies): void {
  if (policies.spatial !== 'fail') return;
  const names = description.columns.filter((c) => c.codec.encoding === 'spatialBytea').map((c) => c.name);
  if (names.length === 0) return;
  throw new SchemaError(
    `Table ${description.table} has spatial column${names.length > 1 ? 's' : ''} ${names.join(', ')}, and the target database has no PostGIS (spatial: fail): ` +
      'CREATE EXTENSION postgis in the target database, or choose spatial: bytea to store their EWKB bytes',
  );
}

/**
 * Splits every row (a full run) or only the changed rows (an incremental run) into ranges of
 * `chunkRows` rows, or fewer when that many of the table's rows would pass `chunkBytes` (see
 * {@link rowsPerRange}). An incremental run with no changed row has no ranges at all.
 */
async function splitRows(
  source: ConnectionPair['source'],
  description: TableDescription,
  changes: ChangedRows | null,
  { mode, chunkRows, chunkBytes }: RunSettings,
): Promise<KeyRange[]> {
  // A binlog run copies no range; a cut-over splits the table like a full run, to verify it.
  if (mode === 'binlog') return [];
  const rows = async () => rowsPerRange(chunkRows, chunkBytes, await averageRowBytes(source, description));
  const changed = changes && changedRowsCondition(changes);
  let keyAtOffset: KeyAtOffset;
  if (description.keyset !== null)
    keyAtOffset = mysqlTupleAtOffset(source, description.table, description.keyset, changed);
  else if (description.primaryKey !== null)
    keyAtOffset = mysqlKeyAtOffset(source, description.table, description.primaryKey, changed);
  else return [{ index: 0, lo: null, hi: null }];
  if (changes && (await keyAtOffset(null, 0)) === null) return [];
  return splitKeySpace(keyAtOffset, await rows());
}
