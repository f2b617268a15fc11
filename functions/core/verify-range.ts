import { performance } from 'node:perf_hooks';
import { canonicalForms, canonicalSourceRow, canonicalTargetRow, type CanonicalRow } from './canonical.js';
import type { ConnectionPair } from './connections.js';
import type { SourceValue } from './copy-encoder.js';
import { copyRangeEventSchema, type CopyRangeEvent } from './copy-range.js';
import { classifyDatabaseError, VerificationMismatchError } from './errors.js';
import { recordRangeVerified, recordVerificationFailed } from './ledger.js';
import { compareRanges, describeDifferences } from './range-comparison.js';
import { sourceRangeRows, targetRangeRows } from './range-rows.js';
import { formatRange } from './ranges.js';
import { describeSourceTable } from './schema.js';

/** VerifyRange checks the same Map item CopyRange copied. */
export type VerifyRangeEvent = CopyRangeEvent;

export interface VerifyRangeResult {
  runId: string;
  index: number;
  /** Rows found on each side. */
  rows: number;
  /** sha256 over the range's canonical rows in key order, as recorded in the ledger. */
  checksum: string;
  seconds: number;
}

/**
 * Compares a copied range on both sides, from the databases themselves: streams the range's
 * rows from MySQL and PostgreSQL in key order, puts every value in its canonical form and
 * merge-joins the two. A difference fails the range with what differs; otherwise the ledger
 * records the range verified with its checksum.
 */
export async function verifyRange(event: VerifyRangeEvent, { source, target }: ConnectionPair): Promise<VerifyRangeResult> {
  const { runId, table, range } = copyRangeEventSchema.parse(event);
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started) / 1000;
  try {
    const description = await describeSourceTable(source, table);
    const forms = canonicalForms(description.columns);
    const comparison = await compareRanges(
      canonical(sourceRangeRows(source, description, range), 'source', (row: SourceValue[]) => canonicalSourceRow(forms, row)),
      canonical(targetRangeRows(target, description, range), 'target', (row: (string | null)[]) => canonicalTargetRow(forms, row)),
      { names: description.columns.map((column) => column.name), keyIndex: description.primaryKeyIndex },
    );
    if (comparison.differences.length > 0) {
      throw new VerificationMismatchError(
        `${table} range ${formatRange(range)} differs: ${describeDifferences(comparison)}`,
      );
    }
    await recordRangeVerified(target, runId, range, comparison.checksum, elapsed());
    return { runId, index: range.index, rows: comparison.targetRows, checksum: comparison.checksum, seconds: elapsed() };
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

/** Canonical rows from one side's stream; a read failure is classified as that side's. */
async function* canonical<Row>(rows: AsyncIterable<Row>, side: 'source' | 'target', form: (row: Row) => CanonicalRow): AsyncGenerator<CanonicalRow> {
  try {
    for await (const row of rows) yield form(row);
  } catch (error) {
    throw classifyDatabaseError(error, side);
  }
}
