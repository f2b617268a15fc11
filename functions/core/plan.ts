import type { ConnectionPair } from './connections.js';
import { InputValidationError } from './errors.js';
import { resolveRunSettings, type RunDefaults } from './input.js';
import { ensureLedger, startRun } from './ledger.js';
import { mysqlKeyAtOffset, splitKeySpace, type KeyRange } from './ranges.js';
import { describeSourceTable, prepareTargetTable } from './schema.js';

/** The target table is created in, and read from, this schema. */
export const TARGET_SCHEMA = 'public';

// Step Functions refuses state payloads over 256 KiB; leave room for the rest of the state.
const MAX_PLAN_BYTES = 200 * 1024;

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
  concurrency: number;
  ranges: KeyRange[];
}

/**
 * Validates the input, prepares the target table and the ledger, and splits the table into
 * ranges. Nothing is written before the input and the source table have been checked.
 */
export async function plan(event: PlanEvent, { source, target }: ConnectionPair, defaults: RunDefaults): Promise<PlanResult> {
  const settings = resolveRunSettings(event.input, defaults);
  const description = await describeSourceTable(source, settings.table);
  const ranges = await splitKeySpace(mysqlKeyAtOffset(source, settings.table, description.primaryKey), settings.chunkRows);
  const result: PlanResult = {
    runId: event.runId,
    execution: event.execution,
    table: settings.table,
    concurrency: settings.concurrency,
    ranges,
  };
  const bytes = Buffer.byteLength(JSON.stringify(result));
  if (bytes > MAX_PLAN_BYTES) {
    const factor = Math.ceil(bytes / MAX_PLAN_BYTES);
    throw new InputValidationError(
      `"chunkRows" ${settings.chunkRows} splits ${settings.table} into ${ranges.length} ranges, more than one execution's state can carry: ` +
        `use a chunkRows of at least ${settings.chunkRows * factor}`,
    );
  }
  await ensureLedger(target);
  await prepareTargetTable(target, description, TARGET_SCHEMA);
  await startRun(target, { runId: event.runId, execution: event.execution, settings, mode: 'full' }, ranges);
  return result;
}
