import { createHash } from 'node:crypto';
import type { CanonicalRow } from './canonical.js';

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
  /** How many differences to name. */
  listed?: number;
  /** A source row the source changed after the run began: neither side of it is compared. */
  unsettled?: (sourceRow: CanonicalRow) => boolean;
}

type Rows = AsyncIterable<CanonicalRow> | Iterable<CanonicalRow>;

/**
 * Merge-joins rows of both sides, each in ascending key order, one row of each in memory at a
 * time. {@link RangeComparer.merge} can be given the next rows of both sides again (batches
 * that continue in key order), so a range is compared in one pass or in many.
 */
export class RangeComparer {
  private readonly counts = { sourceRows: 0, targetRows: 0, unsettled: 0, missing: 0, extra: 0, changed: 0, omitted: 0 };
  private readonly differences: Difference[] = [];
  private readonly hash = createHash('sha256');
  private readonly listed: number;

  constructor(private readonly options: ComparisonOptions) {
    this.listed = options.listed ?? 5;
  }

  async merge(source: Rows, target: Rows): Promise<void> {
    const { keyIndex } = this.options;
    const sourceRows = iterate(source);
    const targetRows = iterate(target);
    try {
      let s = await sourceRows.next();
      let t = await targetRows.next();
      while (!s.done || !t.done) {
        const order = s.done ? 1 : t.done ? -1 : compareKeys(s.value[keyIndex]!, t.value[keyIndex]!);
        if (order <= 0 && this.options.unsettled?.(s.value!)) {
          this.counts.unsettled++;
        } else {
          this.compare(order <= 0 ? s.value! : null, order >= 0 ? t.value! : null);
        }
        if (order <= 0) s = await sourceRows.next();
        if (order >= 0) t = await targetRows.next();
      }
    } finally {
      // Stops whichever side is still streaming when the other failed.
      await Promise.allSettled([sourceRows.return?.(), targetRows.return?.()]);
    }
  }

  finish(): RangeComparison {
    return { ...this.counts, differences: this.differences, checksum: this.hash.digest('hex') };
  }

  /** One key: on the source only, on the target only, or on both. */
  private compare(source: CanonicalRow | null, target: CanonicalRow | null): void {
    const { keyIndex, names } = this.options;
    if (source) this.counts.sourceRows++;
    if (target) {
      this.counts.targetRows++;
      // JSON keeps NULL apart from the text "null" and makes the row boundaries unambiguous.
      this.hash.update(JSON.stringify(target) + '\n');
    }
    if (!target) {
      this.counts.missing++;
      this.note({ kind: 'missing', key: source![keyIndex]! });
    } else if (!source) {
      this.counts.extra++;
      this.note({ kind: 'extra', key: target[keyIndex]! });
    } else {
      let differs = false;
      for (let i = 0; i < names.length; i++) {
        if (source[i] === target[i]) continue;
        differs = true;
        this.note({ kind: 'changed', key: source[keyIndex]!, column: names[i]!, source: source[i]!, target: target[i]! });
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
export async function compareRanges(source: Rows, target: Rows, options: ComparisonOptions): Promise<RangeComparison> {
  const comparer = new RangeComparer(options);
  await comparer.merge(source, target);
  return comparer.finish();
}

function iterate(rows: Rows): AsyncIterator<CanonicalRow> | Iterator<CanonicalRow> {
  return Symbol.asyncIterator in rows ? rows[Symbol.asyncIterator]() : rows[Symbol.iterator]();
}

/** Keys are integers as decimal text, possibly beyond 2^53. */
function compareKeys(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

const MAX_SHOWN = 80;
const show = (value: string | null) => (value === null ? 'NULL' : JSON.stringify(value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN)}…` : value));

/**
 * Says what differs, in words: counts first, then the first differences by key, with both
 * values unless `values` is false.
 */
export function describeDifferences(comparison: RangeComparison, { values = true } = {}): string {
  const { sourceRows, targetRows, missing, extra, changed, differences, omitted } = comparison;
  const listed = differences.map((difference) => {
    switch (difference.kind) {
      case 'missing':
        return `key ${difference.key} is missing from the target`;
      case 'extra':
        return `key ${difference.key} is in the target but not in the source`;
      case 'changed':
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
