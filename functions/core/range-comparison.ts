import { createHash } from 'node:crypto';
import type { CanonicalRow } from './canonical.js';
import type { KeyOrder } from './codecs/codec.js';

/** One way the target's rows of a range differ from the source's. */
export type Difference =
  | { kind: 'missing'; key: string }
  | { kind: 'extra'; key: string }
  | { kind: 'changed'; key: string; column: string; source: string | null; target: string | null };

export interface RangeComparison {
  /** Rows compared on each side. */
  sourceRows: number;
  targetRows: number;
  /** Source rows left out because they changed after the run began, with their target rows. */
  unsettled: number;
  /** Source rows absent from the target. */
  missing: number;
  /** Target rows absent from the source. */
  extra: number;
  /** Rows on both sides whose values differ. */
  changed: number;
  /** The first differences in key order, at most `listed` of them. */
  differences: Difference[];
  /** Differences found beyond those listed. */
  omitted: number;
  /** sha256 over the target's compared canonical rows in key order. */
  checksum: string;
}

export interface ComparisonOptions {
  names: string[];
  /** Position of the primary key among the values. */
  keyIndex: number;
  /**
   * A tuple key instead (a composite, text, binary, decimal or date key): each of its columns'
   * position among the values and the order of its values, which both sides read rows in; a
   * difference names the tuple's values.
   */
  tupleKey?: TupleKeyColumn[];
  /** How many differences to name. */
  listed?: number;
  /** A source row the source changed after the run began: neither side of it is compared. */
  unsettled?: (sourceRow: CanonicalRow) => boolean;
}

/** A column of a tuple key: where it is among a row's values, and how its values order. */
export interface TupleKeyColumn {
  index: number;
  order: KeyOrder;
}

/** One side's rows in key order, in batches (arrays of rows, as they come off the connection). */
export type RowBatches = AsyncIterable<CanonicalRow[]> | Iterable<CanonicalRow[]>;

// Canonical rows are hashed in pieces of about this many characters, not one call per row.
const HASHED_CHARS = 64 * 1024;

/**
 * Merge-joins rows of both sides, each in ascending key order, a batch of each in memory at a
 * time: the rows of a batch are compared without waiting, and only a spent batch waits for the
 * next. {@link RangeComparer.merge} can be given the next rows of both sides again (batches
 * that continue in key order), so a range is compared in one pass or in many.
 */
export class RangeComparer {
  private readonly counts = {
    sourceRows: 0,
    targetRows: 0,
    unsettled: 0,
    missing: 0,
    extra: 0,
    changed: 0,
    omitted: 0,
  };
  private readonly differences: Difference[] = [];
  private readonly hash = createHash('sha256');
  private hashed = '';
  private readonly listed: number;
  private readonly key: RowKey;

  constructor(private readonly options: ComparisonOptions) {
    this.listed = options.listed ?? 5;
    this.key = options.tupleKey ? tupleRowKey(options.tupleKey) : integerRowKey(options.keyIndex);
  }

  async merge(source: RowBatches, target: RowBatches): Promise<void> {
    const sourceRows = new BatchReader(source);
    const targetRows = new BatchReader(target);
    try {
      for (;;) {
        const s = sourceRows.row() ?? (sourceRows.done ? undefined : await sourceRows.nextBatch());
        const t = targetRows.row() ?? (targetRows.done ? undefined : await targetRows.nextBatch());
        if (!s && !t) return;
        const order = mergeOrder(s, t, this.key.compare);
        if (order <= 0 && this.options.unsettled?.(s!)) {
          this.counts.unsettled++;
        } else {
          this.compare(order <= 0 ? s! : null, order >= 0 ? t! : null);
        }
        if (order <= 0) sourceRows.advance();
        if (order >= 0) targetRows.advance();
      }
    } finally {
      // Stops whichever side is still streaming when the other failed.
      await Promise.allSettled([sourceRows.stop(), targetRows.stop()]);
    }
  }

  finish(): RangeComparison {
    this.hash.update(this.hashed);
    this.hashed = '';
    return { ...this.counts, differences: this.differences, checksum: this.hash.digest('hex') };
  }

  /** One key: on the source only, on the target only, or on both. */
  private compare(source: CanonicalRow | null, target: CanonicalRow | null): void {
    const { names } = this.options;
    const { name } = this.key;
    if (source) this.counts.sourceRows++;
    if (target) {
      this.counts.targetRows++;
      // JSON keeps NULL apart from the text "null" and makes the row boundaries unambiguous.
      this.hashed += JSON.stringify(target) + '\n';
      if (this.hashed.length >= HASHED_CHARS) {
        this.hash.update(this.hashed);
        this.hashed = '';
      }
    }
    if (!target) {
      this.counts.missing++;
      this.note({ kind: 'missing', key: name(source!) });
    } else if (!source) {
      this.counts.extra++;
      this.note({ kind: 'extra', key: name(target) });
    } else {
      let differs = false;
      for (let i = 0; i < names.length; i++) {
        if (source[i] === target[i]) continue;
        differs = true;
        this.note({
          kind: 'changed',
          key: name(source),
          column: names[i]!,
          source: source[i]!,
          target: target[i]!,
        });
      }
      if (differs) this.counts.changed++;
    }
  }

  private note(difference: Difference): void {
    if (this.differences.length < this.listed) this.differences.push(difference);
    else this.counts.omitted++;
  }
}

/** Compares two whole streams of one range. */
export async function compareRanges(
  source: RowBatches,
  target: RowBatches,
  options: ComparisonOptions,
): Promise<RangeComparison> {
  const comparer = new RangeComparer(options);
  await comparer.merge(source, target);
  return comparer.finish();
}

/** Reads one side a row at a time out of its batches. */
class BatchReader {
  private readonly batches: AsyncIterator<CanonicalRow[]> | Iterator<CanonicalRow[]>;
  private batch: CanonicalRow[] = [];
  private index = 0;
  done = false;

  constructor(batches: RowBatches) {
    this.batches = Symbol.asyncIterator in batches ? batches[Symbol.asyncIterator]() : batches[Symbol.iterator]();
  }

  /** The current row, or undefined when its batch is spent. */
  row(): CanonicalRow | undefined {
    return this.batch[this.index];
  }

  advance(): void {
    this.index++;
  }

  /** The first row of the next batch that has one, or undefined at the end. */
  async nextBatch(): Promise<CanonicalRow | undefined> {
    for (;;) {
      const next = await this.batches.next();
      if (next.done) {
        this.done = true;
        return undefined;
      }
      [this.batch, this.index] = [next.value, 0];
      if (next.value.length > 0) return next.value[0];
    }
  }

  async stop(): Promise<void> {
    await this.batches.return?.();
  }
}

/** A row's key: how two rows order by it, and how a difference names it. */
interface RowKey {
  compare: (a: CanonicalRow, b: CanonicalRow) => number;
  name: (row: CanonicalRow) => string;
}

/** Which row comes first in the merge: the source's (-1), the target's (1), or both at once (0). */
function mergeOrder(
  source: CanonicalRow | undefined,
  target: CanonicalRow | undefined,
  compare: RowKey['compare'],
): number {
  if (!source) return 1;
  if (!target) return -1;
  return compare(source, target);
}

/** The integer key at `index`, named by its number. */
const integerRowKey = (index: number): RowKey => ({
  compare: (a, b) => compareNumbers(a[index]!, b[index]!),
  name: (row) => row[index]!,
});

/** A tuple key, compared column by column; named as its values, `(3, "Émile")`, or the value alone for one column. */
function tupleRowKey(columns: TupleKeyColumn[]): RowKey {
  const shown = (row: CanonicalRow) =>
    columns.map(({ index, order }) => (order === 'numbers' ? (row[index] ?? 'NULL') : show(row[index] ?? null)));
  return {
    compare: (a, b) => {
      for (const { index, order } of columns) {
        const compared = compareValues(a[index] ?? null, b[index] ?? null, KEY_ORDERS[order]);
        if (compared !== 0) return compared;
      }
      return 0;
    },
    name: (row) => (columns.length === 1 ? shown(row)[0]! : `(${shown(row).join(', ')})`),
  };
}

/** Two canonical values of a key column; NULL (a zero date a policy made NULL) first, as MySQL sorts a zero date. */
function compareValues(a: string | null, b: string | null, compare: (a: string, b: string) => number): number {
  if (a === null) return b === null ? 0 : -1;
  return b === null ? 1 : compare(a, b);
}

const KEY_ORDERS: Record<KeyOrder, (a: string, b: string) => number> = {
  numbers: compareNumbers,
  // Code-point order, which UTF-16's code units are not (a character beyond U+FFFF against one near it).
  bytes: (a, b) => (a === b ? 0 : Buffer.compare(Buffer.from(a), Buffer.from(b))),
};

/**
 * Canonical exact numbers as decimal text (no leading zeros nor trailing fractional ones, `-`
 * only below zero), possibly beyond 2^53: of the integer parts the shorter is the smaller, equal
 * lengths compare as text, and so do the fractions then.
 */
function compareNumbers(a: string, b: string): number {
  if (a === b) return 0;
  const negative = a.startsWith('-');
  if (negative !== b.startsWith('-')) return negative ? -1 : 1;
  const magnitude = smallerMagnitude(a, b) ? -1 : 1;
  return negative ? -magnitude : magnitude;
}

/** Whether the first of two different numbers of one sign has the smaller magnitude. */
function smallerMagnitude(a: string, b: string): boolean {
  const [aWhole = '', aFraction = ''] = a.split('.');
  const [bWhole = '', bFraction = ''] = b.split('.');
  if (aWhole.length !== bWhole.length) return aWhole.length < bWhole.length;
  return aWhole !== bWhole ? aWhole < bWhole : aFraction < bFraction;
}

const MAX_SHOWN = 80;
const show = (value: string | null) =>
  value === null ? 'NULL' : JSON.stringify(value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN)}…` : value);

/**
 * Says what differs, in words: counts first, then the first differences by key, with both
 * values unless `values` is false.
 */
export function describeDifferences(comparison: RangeComparison, { values = true } = {}): string {
  const { sourceRows, targetRows, missing, extra, changed, differences, omitted } = comparison;
  const listed = differences.map((difference): string => {
    switch (difference.kind) {
      case 'missing':
        return `key ${difference.key} is missing from the target`;
      case 'extra':
        return `key ${difference.key} is in the target but not in the source`;
      default:
        return values
          ? `column ${difference.column} at key ${difference.key}: source ${show(difference.source)}, target ${show(difference.target)}`
          : `column ${difference.column} at key ${difference.key} differs`;
    }
  });
  const more = omitted > 0 ? `; and ${omitted} more` : '';
  return (
    `${sourceRows} source rows, ${targetRows} target rows: ${missing} missing, ${extra} extra, ${changed} changed; ` +
    listed.join('; ') +
    more
  );
}

/**
 * Compares two sides' rows as multisets, in whatever order they come: what a table without a key
 * is checked by (its one range, whole). Each row counts by the hash of its canonical form, so a
 * row twice in the source must be twice in the target. Holds one count per distinct row.
 */
export async function compareMultisets(
  source: RowBatches,
  target: RowBatches,
  options: Pick<ComparisonOptions, 'listed'>,
): Promise<RangeComparison> {
  const counts = new Map<string, number>();
  // Order-free checksum of the target's rows: the sum of their hashes, modulo 2^256.
  let targetSum = 0n;
  const tally = async (batches: RowBatches, step: 1 | -1) => {
    let rows = 0;
    for await (const batch of batches) {
      for (const row of batch) {
        const digest = createHash('sha256').update(JSON.stringify(row)).digest();
        const hash = digest.toString('base64');
        counts.set(hash, (counts.get(hash) ?? 0) + step);
        if (step < 0) targetSum = (targetSum + BigInt(`0x${digest.toString('hex')}`)) & HASH_SPACE;
        rows++;
      }
    }
    return rows;
  };
  const [sourceRows, targetRows] = [await tally(source, 1), await tally(target, -1)];
  const listed = options.listed ?? 5;
  const differences: Difference[] = [];
  let [missing, extra] = [0, 0];
  for (const [hash, count] of counts) {
    if (count === 0) continue;
    const key = `(no key; a row hashed ${hash.slice(0, 12)})`;
    for (let i = 0; i < Math.abs(count); i++) {
      if (count > 0) missing++;
      else extra++;
      if (differences.length < listed) differences.push({ kind: count > 0 ? 'missing' : 'extra', key });
    }
  }
  return {
    sourceRows,
    targetRows,
    unsettled: 0,
    missing,
    extra,
    changed: 0,
    differences,
    omitted: missing + extra - differences.length,
    checksum: targetSum.toString(16).padStart(64, '0'),
  };
}

const HASH_SPACE = (1n << 256n) - 1n;
