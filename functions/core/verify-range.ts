import { performance } from 'node:perf_hooks';
import type pg from 'pg';
// zod's mini build, as CopyRange's event schema is.
import * as z from 'zod/mini';
import {
  type CanonicalForm,
  type CanonicalRow,
  canonicalForms,
  canonicalSourceRow,
  canonicalTargetRow,
} from './canonical.js';
import { abandonPair, type ConnectionPair } from './connections.js';
import type { SourceValue } from './copy-encoder.js';
import { type CopyRangeEvent, copyRangeEventSchema } from './copy-range.js';
import {
  classifyDatabaseError,
  classifyEitherSide,
  TransientDatabaseError,
  VerificationMismatchError,
} from './errors.js';
import { changedRowsCondition, readRunHighWatermark } from './incremental.js';
import { recordFailure, recordRangeVerified, recordVerificationFailed, type TargetOpener } from './ledger.js';
import {
  type Bounds,
  partsOf,
  type RangeSums,
  type RowHash,
  rowHash,
  sameSums,
  sourceCuts,
  sourceSums,
  targetCuts,
  targetSums,
  VERIFY_MODES,
  type VerifyMode,
} from './range-checksum.js';
import {
  type ComparisonOptions,
  compareMultisets,
  compareRanges,
  describeDifferences,
  RangeComparer,
  type RangeComparison,
} from './range-comparison.js';
import { keyColumns, sourceRangeRows, targetRangeRows, targetRowsWithKeys } from './range-rows.js';
import { formatRange, type KeyRange } from './ranges.js';
import { describeSourceTable, type TableDescription } from './schema.js';

/**
 * VerifyRange checks the same Map item CopyRange copied, the way the run's `verify` says (the
 * default, `true` and absent alike, is `checksum`).
 */
export const verifyRangeEventSchema = z.extend(copyRangeEventSchema, {
  verify: z.optional(z.union([z.boolean(), z.enum(VERIFY_MODES)])),
});

export type VerifyRangeEvent = CopyRangeEvent & { verify?: boolean | VerifyMode };

export interface VerifyRangeResult {
  runId: string;
  index: number;
  /** Rows compared on each side. */
  rows: number;
  /**
   * Target rows read and compared row by row: all of them when verifying by rows; by checksum,
   * those of the parts whose sums differed, and of columns without canonical SQL.
   */
  compared: number;
  /** Rows left out because the source changed them after the run began; the next run takes them. */
  unsettled: number;
  /**
   * As recorded in the ledger: `sum60:` and the target's sum of row hashes (checksum mode), or
   * the sha256 over the compared rows in canonical form and key order (rows mode).
   */
  checksum: string;
  seconds: number;
}

// Target rows looked up per query in an incremental run.
const LOOKUP_BATCH = 1_000;

// A part of a range whose sums differ is cut into this many parts, each summed again...
const SPLIT = 16;
// ...until it holds at most this many rows on either side; then its rows are read and compared,
// to name the keys and columns that differ.
const LEAF_ROWS = 1_000;

/**
 * Compares a copied range on both sides, from the databases themselves. A full run's range is
 * compared whole: by checksum (the default), each database sums its rows' hashes and only parts
 * whose sums differ are read (see {@link compareByChecksum}); by rows, both sides' rows stream in
 * key order, every value in its canonical form, and are merge-joined. An incremental run's range
 * is its changed rows, each looked up in the target by key (the run upserts and deletes nothing,
 * so target rows it did not touch are not its to prove). Rows the source changed after the run
 * began (by the table's change column) are left out: they may be newer than the copy by design,
 * and the next run takes them. A difference fails the range with what differs; otherwise the
 * ledger records the range verified with its checksum.
 */
export async function verifyRange(
  event: VerifyRangeEvent,
  { source, target }: ConnectionPair,
  reopenTarget?: TargetOpener,
): Promise<VerifyRangeResult> {
  const { runId, table, range, changes, policies, verify } = verifyRangeEventSchema.parse(event);
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started) / 1000;
  try {
    const description = await describeSourceTable(source, table, target);
    const forms = canonicalForms(description.columns, policies);
    const run = await readRunHighWatermark(target, runId, table);
    const optionsFor = (part: TableDescription): ComparisonOptions => ({
      names: part.columns.map((column) => column.name),
      keyIndex: part.primaryKeyIndex,
      tupleKey: part.keyset?.map((column) => ({ index: part.columns.indexOf(column), order: column.codec.key!.order })),
      unsettled: changedAfterPlan(part, run),
    });
    const sourceRows = () =>
      canonical(
        sourceRangeRows(source, description, range, changes ? changedRowsCondition(changes) : null),
        'source',
        (row: SourceValue[]) => canonicalSourceRow(forms, row),
      );
    let comparison: RangeComparison;
    let checksum: string;
    let compared: number;
    if (!changes && verify !== 'rows') {
      const hash = rowHash(description, policies);
      ({ comparison, checksum, compared } = await compareByChecksum(
        { source, target },
        description,
        forms,
        hash,
        range,
        optionsFor,
        run?.column,
      ));
    } else {
      comparison = changes
        ? await compareByKey(
            sourceRows(),
            (rows) => targetRows(target, description, forms, rows),
            optionsFor(description),
          )
        : // Without a key, rows have no order both sides agree on: the range is compared as a multiset.
          await (description.whole !== null ? compareMultisets : compareRanges)(
            sourceRows(),
            canonicalTargetRows(target, description, forms, range),
            optionsFor(description),
          );
      checksum = comparison.checksum;
      compared = comparison.targetRows;
    }
    if (comparison.differences.length > 0) {
      const where = `${table} range ${formatRange(range)} differs`;
      throw new VerificationMismatchError(
        `${where}: ${describeDifferences(comparison)}`,
        `${where}: ${describeDifferences(comparison, { values: false })}`,
        comparison.differences[0]!.key,
      );
    }
    await recordRangeVerified(target, runId, range, checksum, elapsed());
    return {
      runId,
      index: range.index,
      rows: comparison.targetRows,
      compared,
      unsettled: comparison.unsettled,
      checksum,
      seconds: elapsed(),
    };
  } catch (error) {
    const named = classifyEitherSide(error);
    // One side failed: the other side's query (rows still streaming, a cursor waiting) goes with it.
    if (named instanceof TransientDatabaseError) abandonPair({ source, target });
    await recordFailure(target, named, reopenTarget, (ledger) =>
      recordVerificationFailed(
        ledger,
        runId,
        range,
        { error: `${named.name}: ${named.message}`, mismatch: named instanceof VerificationMismatchError },
        elapsed(),
      ),
    );
    throw named;
  }
}

/**
 * Compares a range by checksums each database computes over its own rows: where the two sides'
 * count and sum of row hashes agree, the part is proven without a row moving; where they differ,
 * the part is cut into {@link SPLIT} parts of about equal rows and each part's sums are computed
 * (one pass on each side), and the parts that differ are cut again, down to parts of at most
 * {@link LEAF_ROWS} rows, whose rows are read and compared (in key order, through one comparer,
 * so its counts and named differences cover them all). Columns without canonical SQL are
 * compared row by row over the whole range, with the key alone beside them.
 */
async function compareByChecksum(
  { source, target }: ConnectionPair,
  description: TableDescription,
  forms: CanonicalForm[],
  hash: RowHash,
  range: KeyRange,
  optionsFor: (part: TableDescription) => ComparisonOptions,
  changeColumn: string | undefined,
): Promise<{ comparison: RangeComparison; checksum: string; compared: number }> {
  const sums = (bounds: Bounds, cuts: string[] = []) =>
    Promise.all([
      sourceSums(source, description, hash, bounds, cuts).catch((error: unknown) => {
        throw classifyDatabaseError(error, 'source');
      }),
      targetSums(target, description, hash, bounds, cuts),
    ]);
  const comparer = new RangeComparer(optionsFor(description));
  const compareRows = (bounds: Bounds) =>
    comparer.merge(
      canonical(sourceRangeRows(source, description, bounds), 'source', (row: SourceValue[]) =>
        canonicalSourceRow(forms, row),
      ),
      canonicalTargetRows(target, description, forms, bounds),
    );
  const narrow = async (bounds: Bounds, sourceSide: RangeSums, targetSide: RangeSums): Promise<void> => {
    if (sameSums(sourceSide, targetSide)) return;
    const [sourceRows, targetRows] = [Number(sourceSide.rows), Number(targetSide.rows)];
    if (Math.max(sourceRows, targetRows) <= LEAF_ROWS) return compareRows(bounds);
    // Cut where the side with more rows has equal shares, so each of its parts is a SPLIT-th of it. A
    // tuple key is cut where the source's rows are: its cuts are boundaries MySQL prints, as Plan's are.
    const onSource = sourceRows >= targetRows || description.keyset !== null;
    const step = Math.max(1, Math.ceil((onSource ? sourceRows : targetRows) / SPLIT));
    const cuts = onSource
      ? await sourceCuts(source, description, bounds, step).catch((error: unknown) => {
          throw classifyDatabaseError(error, 'source');
        })
      : await targetCuts(target, description, bounds, step);
    if (cuts.length === 0) return compareRows(bounds);
    const [sourceParts, targetParts] = await sums(bounds, cuts);
    const parts = partsOf(bounds, cuts);
    for (const [i, part] of parts.entries()) await narrow(part, sourceParts[i]!, targetParts[i]!);
  };
  const [[sourceWhole], [targetWhole]] = await sums(range);
  // A table without a key is one range, in no order both sides agree on: its sums tell whether it
  // is exact, and a difference is found by comparing its rows as a multiset (there is no key to cut on).
  if (description.whole !== null) {
    const exact = sameSums(sourceWhole!, targetWhole!) && hash.uncovered.length === 0;
    const comparison = exact
      ? await compareMultisets([], [], optionsFor(description))
      : await compareMultisets(
          canonical(sourceRangeRows(source, description, range), 'source', (row: SourceValue[]) =>
            canonicalSourceRow(forms, row),
          ),
          canonicalTargetRows(target, description, forms, range),
          optionsFor(description),
        );
    const rows = { sourceRows: Number(sourceWhole!.rows), targetRows: Number(targetWhole!.rows) };
    return { comparison: { ...comparison, ...rows }, checksum: `sum60:${targetWhole!.sum}`, compared: rows.targetRows };
  }
  await narrow(range, sourceWhole!, targetWhole!);
  const checked = comparer.finish();
  const comparison = {
    ...checked,
    // The parts whose sums agree count too.
    sourceRows: Number(sourceWhole!.rows) - checked.unsettled,
    targetRows: Number(targetWhole!.rows),
  };
  const checksum = `sum60:${targetWhole!.sum}`;
  if (hash.uncovered.length === 0 || checked.differences.length > 0)
    return { comparison, checksum, compared: checked.targetRows };
  // The columns without canonical SQL, with the key (and the change column, to leave out rows changed since).
  const columns = description.columns.filter(
    (column, i) =>
      i === description.primaryKeyIndex ||
      description.keyset?.includes(column) ||
      hash.uncovered.includes(column) ||
      column.name === changeColumn,
  );
  const part: TableDescription = {
    ...description,
    columns,
    primaryKeyIndex: columns.indexOf(description.columns[description.primaryKeyIndex]!),
  };
  const partForms = columns.map((column) => forms[description.columns.indexOf(column)]!);
  const uncovered = await compareRanges(
    canonical(sourceRangeRows(source, part, range), 'source', (row: SourceValue[]) =>
      canonicalSourceRow(partForms, row),
    ),
    canonicalTargetRows(target, part, partForms, range),
    optionsFor(part),
  );
  return {
    comparison: uncovered.differences.length > 0 ? uncovered : comparison,
    checksum,
    compared: checked.targetRows + uncovered.targetRows,
  };
}

/** The target's rows of a range in canonical form. */
function canonicalTargetRows(
  target: pg.Client,
  description: TableDescription,
  forms: CanonicalForm[],
  range: Bounds,
): AsyncGenerator<CanonicalRow[]> {
  return canonical(targetRangeRows(target, description, range), 'target', (row: (string | null)[]) =>
    canonicalTargetRow(forms, row),
  );
}

/** Compares source rows with the target rows of the same keys, some thousand keys at a time. */
async function compareByKey(
  sourceRows: AsyncIterable<CanonicalRow[]>,
  lookup: (rows: CanonicalRow[]) => Promise<CanonicalRow[]>,
  options: ComparisonOptions,
): Promise<RangeComparison> {
  const comparer = new RangeComparer(options);
  let batch: CanonicalRow[] = [];
  const compareBatch = async () => {
    await comparer.merge([batch], [await lookup(batch)]);
    batch = [];
  };
  for await (const rows of sourceRows) {
    batch.push(...rows);
    if (batch.length >= LOOKUP_BATCH) await compareBatch();
  }
  if (batch.length > 0) await compareBatch();
  return comparer.finish();
}

/**
 * The target's rows with the keys of these source rows, in canonical form. A key column's
 * canonical text is one PostgreSQL reads as a value of its type (decimal text, ISO dates, `\x` hex).
 */
async function targetRows(
  target: pg.Client,
  description: TableDescription,
  forms: CanonicalForm[],
  sourceRows: CanonicalRow[],
): Promise<CanonicalRow[]> {
  const positions = keyColumns(description).map((column) => description.columns.indexOf(column));
  const keys = positions.map((i) => sourceRows.map((row) => row[i]!));
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
