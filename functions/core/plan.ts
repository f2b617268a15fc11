import { usesBinlog } from './binlog/modes.js';
import { planBinlogRun, readFullRunStart, recordBinlogPlan } from './binlog/plan-binlog.js';
import type { ConnectionPair } from './connections.js';
import { RunInProgressError, SchemaError, TableBusyError } from './errors.js';
import { TARGET_SCHEMA } from './identifiers.js';
import {
  type ChangedRows,
  changeColumnIfAny,
  changedRowsCondition,
  findChangeColumn,
  readChangedSince,
  readSourceClock,
  requireChangeColumn,
  requireTargetKey,
} from './incremental.js';
import { type RunDefaults, type RunMode, type RunSettings, resolveRunSettings } from './input.js';
import { releaseLease, takeLease } from './lease.js';
import { ensureLedger, startRun } from './ledger.js';
import type { Policies } from './policies.js';
import type { VerifyMode } from './range-checksum.js';
import { type KeyRange, mysqlKeyAtOffset, splitKeySpace } from './ranges.js';
import { describeSourceTable, type TableDescription } from './schema.js';
import { prepareTargetTable } from './target-table.js';

export interface PlanEvent {
  /** The execution input, as given. */
  input: unknown;
  runId: string;
  execution: string;
}

export interface PlanResult {
  runId: string;
  execution: string;
  table: string;
  mode: RunMode;
  concurrency: number;
  /** In an incremental run, which rows each range copies; null in a full run. */
  changes: ChangedRows | null;
  /** Handed to every range, so all of them treat values alike. */
  policies: Policies;
  /** How each range is verified after it is copied (`checksum`, `rows`); the workflow skips VerifyRange when false. */
  verify: false | VerifyMode;
  /** At cut-over, how long the source must take no write; null (or absent) for the default. */
  quietSeconds?: number | null;
  ranges: KeyRange[];
}

/** What Plan hands the workflow: the run without its items, which the ledger holds; their count. */
export type PlannedRun = Omit<PlanResult, 'ranges'> & { items: number };

/** The run as the state carries it: Step Functions caps a state at 256 KiB, and a run may have 10^5 items. */
export function withoutItems({ ranges, ...run }: PlanResult): PlannedRun {
  return { ...run, items: ranges.length };
}

/**
 * Validates the input, takes the table's lease (one run per table at a time), prepares the target
 * table and the ledger, and splits the table into ranges: a full run splits every row, an
 * incremental run only the rows changed since the table's watermark; ranges the input gives (a
 * redrive, a retry) are taken as they are. Nothing is written before the input and the source
 * table have been checked.
 */
export async function plan(
  event: PlanEvent,
  { source, target }: ConnectionPair,
  defaults: RunDefaults,
): Promise<PlanResult> {
  const settings = resolveRunSettings(event.input, defaults);
  const description = await describeSourceTable(source, settings.table, target);
  refuseSpatialWithoutPostgis(description, settings.policies);
  const found = await findChangeColumn(source, settings.table, settings.changeColumn);
  // A full run needs no change column; when the table has one, the run still sets its watermark.
  const changeColumn = settings.mode === 'incremental' ? requireChangeColumn(found) : changeColumnIfAny(found);
  await ensureLedger(target);
  if (usesBinlog(settings.mode)) await planBinlogRun(source, target, [description]);
  await takeLease(target, { table: settings.table, runId: event.runId, execution: event.execution }).catch(
    (error: unknown) => {
      // The queue no longer holds a redrive's ranges: skipping them would lose them, so it waits its turn.
      throw settings.ranges && error instanceof RunInProgressError ? new TableBusyError(error.message) : error;
    },
  );
  try {
    // Read before any row is, so a change made while the run copies is newer than the watermark.
    const highWatermark = changeColumn && (await readSourceClock(source, changeColumn));
    // Likewise: a change made after this place in the binary log is applied by the binlog runs that follow.
    const binlogStart = settings.mode === 'full' && !settings.ranges ? await readFullRunStart(source) : null;
    const changes: ChangedRows | null =
      settings.mode === 'incremental' && changeColumn
        ? {
            column: changeColumn.name,
            since: await readChangedSince(target, settings.table, changeColumn.name, settings.overlapSeconds),
          }
        : null;
    const ranges = settings.ranges
      ? settings.ranges.map(({ lo, hi }, index) => ({ index, lo, hi }))
      : await splitRows(source, description, changes, settings);
    const result: PlanResult = {
      runId: event.runId,
      execution: event.execution,
      table: settings.table,
      mode: settings.mode,
      concurrency: settings.concurrency,
      changes,
      policies: settings.policies,
      verify: settings.verify,
      quietSeconds: settings.quietSeconds ?? null,
      ranges,
    };
    const { notes } = await prepareTargetTable(target, description, TARGET_SCHEMA);
    if (changes) await requireTargetKey(target, description, TARGET_SCHEMA);
    // A run of given ranges copies part of the table, so it must not move the table's watermark; nor
    // does a binlog run (it may stop before the log's end), and a cut-over verifies every row, changed or not.
    const tracking =
      changeColumn && highWatermark && !settings.ranges && !usesBinlog(settings.mode)
        ? { column: changeColumn.name, since: changes?.since ?? null, highWatermark }
        : null;
    await startRun(
      target,
      { runId: event.runId, execution: event.execution, settings, changes: tracking, schemaNotes: notes },
      ranges,
    );
    await recordBinlogPlan(target, event.runId, settings.mode, binlogStart);
    return result;
  } catch (error) {
    // The run ends here, so the table is free again (a retried Plan takes it anew).
    await releaseLease(target, settings.table, event.runId).catch(() => {});
    throw error;
  }
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
 * `chunkRows`. An incremental run with no changed row has no ranges at all.
 */
async function splitRows(
  source: ConnectionPair['source'],
  description: TableDescription,
  changes: ChangedRows | null,
  { mode, chunkRows }: RunSettings,
): Promise<KeyRange[]> {
  // A binlog run copies no range; a cut-over splits the table like a full run, to verify it.
  if (mode === 'binlog') return [];
  const keyAtOffset = mysqlKeyAtOffset(
    source,
    description.table,
    description.primaryKey,
    changes && changedRowsCondition(changes),
  );
  if (changes && (await keyAtOffset(null, 0)) === null) return [];
  return splitKeySpace(keyAtOffset, chunkRows);
}
