import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import {
  type CanonicalForm,
  type CanonicalRow,
  canonicalForms,
  canonicalSourceRow,
  canonicalTargetRow,
} from './canonical.js';
import type { ConnectionPair } from './connections.js';
import type { SourceValue } from './copy-encoder.js';
import { type CopyRangeEvent, copyRangeEventSchema } from './copy-range.js';
import { classifyDatabaseError, VerificationMismatchError } from './errors.js';
import { changedRowsCondition, readRunHighWatermark } from './incremental.js';
import { recordRangeVerified, recordVerificationFailed } from './ledger.js';
import {
  type ComparisonOptions,
  compareRanges,
  describeDifferences,
  RangeComparer,
  type RangeComparison,
} from './range-comparison.js';
import { sourceRangeRows, targetRangeRows, targetRowsWithKeys } from './range-rows.js';
import { formatRange } from './ranges.js';
import { describeSourceTable, type TableDescription } from './schema.js';

/** VerifyRange checks the same Map item CopyRange copied. */
export type VerifyRangeEvent = CopyRangeEvent;

export interface VerifyRangeResult {
  runId: string;
  index: number;
  /** Rows compared on each side. */
  rows: number;
  /** Rows left out because the source changed them after the run began; the next run takes them. */
  unsettled: number;
  /** sha256 over the compared rows in canonical form and key order, as recorded in the ledger. */
  checksum: string;
  seconds: number;
}

// Target rows looked up per query in an incremental run.
const LOOKUP_BATCH = 1_000;

/**
 * Compares a copied range on both sides, from the databases themselves: streams the range's
 * rows from MySQL and PostgreSQL in key order, puts every value in its canonical form and
 * merge-joins the two. A full run's range is compared whole; an incremental run's range is its
 * changed rows, each looked up in the target by key (the run upserts and deletes nothing, so
 * target rows it did not touch are not its to prove). Rows the source changed after the run
 * began (by the table's change column) are left out: they may be newer than the copy by
 * design, and the next run takes them. A
 * difference fails the range with what differs; otherwise the ledger records the range verified
 * with its checksum.
 */
export async function verifyRange(
  event: VerifyRangeEvent,
  { source, target }: ConnectionPair,
): Promise<VerifyRangeResult> {
  const { runId, table, range, changes, policies } = copyRangeEventSchema.parse(event);
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started) / 1000;
  try {
    const description = await describeSourceTable(source, table, target);
    const forms = canonicalForms(description.columns, policies);
    const options: ComparisonOptions = {
      names: description.columns.map((column) => column.name),
      keyIndex: description.primaryKeyIndex,
      unsettled: changedAfterPlan(description, await readRunHighWatermark(target, runId)),
    };
    const sourceRows = canonical(
      sourceRangeRows(source, description, range, changes ? changedRowsCondition(changes) : null),
      'source',
      (row: SourceValue[]) => canonicalSourceRow(forms, row),
    );
    const comparison = changes
      ? await compareByKey(sourceRows, (keys) => targetRows(target, description, forms, keys), options)
      : await compareRanges(
          sourceRows,
          canonical(targetRangeRows(target, description, range), 'target', (row: (string | null)[]) =>
            canonicalTargetRow(forms, row),
          ),
          options,
        );
    if (comparison.differences.length > 0) {
      const where = `${table} range ${formatRange(range)} differs`;
      throw new VerificationMismatchError(
        `${where}: ${describeDifferences(comparison)}`,
        `${where}: ${describeDifferences(comparison, { values: false })}`,
        comparison.differences[0]!.key,
      );
    }
    await recordRangeVerified(target, runId, range, comparison.checksum, elapsed());
    return {
      runId,
      index: range.index,
      rows: comparison.targetRows,
      unsettled: comparison.unsettled,
      checksum: comparison.checksum,
      seconds: elapsed(),
    };
  } catch (error) {
    const named = classifyDatabaseError(error, 'target');
    // Best effort, as in CopyRange: a range left `copied` but unverified counts as failed.
    await recordVerificationFailed(
      target,
      runId,
      range,
      { error: `${named.name}: ${named.message}`, mismatch: named instanceof VerificationMismatchError },
      elapsed(),
    ).catch(() => {});
    throw named;
  }
}

/** Compares source rows with the target rows of the same keys, some thousand keys at a time. */
async function compareByKey(
  sourceRows: AsyncIterable<CanonicalRow[]>,
  lookup: (keys: string[]) => Promise<CanonicalRow[]>,
  options: ComparisonOptions,
): Promise<RangeComparison> {
  const comparer = new RangeComparer(options);
  let batch: CanonicalRow[] = [];
  const compareBatch = async () => {
    await comparer.merge([batch], [await lookup(batch.map((row) => row[options.keyIndex]!))]);
    batch = [];
  };
  for await (const rows of sourceRows) {
    batch.push(...rows);
    if (batch.length >= LOOKUP_BATCH) await compareBatch();
  }
  if (batch.length > 0) await compareBatch();
  return comparer.finish();
}

async function targetRows(
  target: pg.Client,
  description: TableDescription,
  forms: CanonicalForm[],
  keys: string[],
): Promise<CanonicalRow[]> {
  try {
    return (await targetRowsWithKeys(target, description, keys)).map((row) => canonicalTargetRow(forms, row));
  } catch (error) {
    throw classifyDatabaseError(error, 'target');
  }
}

/**
 * Whether a source row changed while the run went on: its change column is in or after the
 * second of the run's high watermark, which Plan read from the source's clock before any row.
 * Whole seconds, because MariaDB truncates a change column without fractional digits: a row
 * updated just after Plan can show the second Plan began in.
 */
function changedAfterPlan(
  description: TableDescription,
  run: { column: string; highWatermark: string } | null,
): ComparisonOptions['unsettled'] {
  if (!run) return undefined;
  const index = description.columns.findIndex((column) => column.name === run.column);
  if (index < 0) return undefined;
  const planSecond = toSecond(run.highWatermark);
  return (row) => {
    const changed = row[index];
    return changed !== null && changed !== undefined && toSecond(changed) >= planSecond;
  };
}

/** `YYYY-MM-DD HH:MM:SS`: source times compare as text to the second. */
const toSecond = (time: string) => time.slice(0, 19);

/** Canonical row batches from one side's batches; a read failure is classified as that side's. */
async function* canonical<Row>(
  batches: AsyncIterable<Row[]>,
  side: 'source' | 'target',
  form: (row: Row) => CanonicalRow,
): AsyncGenerator<CanonicalRow[]> {
  try {
    for await (const rows of batches) yield rows.map(form);
  } catch (error) {
    throw classifyDatabaseError(error, side);
  }
}
