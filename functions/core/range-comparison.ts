import { createHash } from 'node:crypto';
import type { CanonicalRow } from './canonical.js';

/** One way the target's rows of a range differ from the source's. */
export type Difference =
  | { kind: 'missing'; key: string }
  | { kind: 'extra'; key: string }
  | { kind: 'changed'; key: string; column: string; source: string | null; target: string | null };

export interface RangeComparison {
  sourceRows: number;
  targetRows: number;
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
  /** sha256 over the target's canonical rows in key order. */
  checksum: string;
}

export interface ComparisonColumns {
  names: string[];
  /** Position of the primary key among the values. */
  keyIndex: number;
}

/**
 * Merge-joins two streams of canonical rows, each in ascending key order, one row of each in
 * memory at a time. Reads both to the end so the counts are whole, and keeps the first
 * `listed` differences to name them.
 */
export async function compareRanges(
  source: AsyncIterable<CanonicalRow>,
  target: AsyncIterable<CanonicalRow>,
  { names, keyIndex }: ComparisonColumns,
  listed = 5,
): Promise<RangeComparison> {
  const result: RangeComparison = { sourceRows: 0, targetRows: 0, missing: 0, extra: 0, changed: 0, differences: [], omitted: 0, checksum: '' };
  const hash = createHash('sha256');
  const note = (difference: Difference) => {
    if (result.differences.length < listed) result.differences.push(difference);
    else result.omitted++;
  };
  const sourceRows = source[Symbol.asyncIterator]();
  const targetRows = target[Symbol.asyncIterator]();
  try {
    let s = await sourceRows.next();
    let t = await targetRows.next();
    while (!s.done || !t.done) {
      const order = s.done ? 1 : t.done ? -1 : compareKeys(s.value[keyIndex]!, t.value[keyIndex]!);
      if (order <= 0) result.sourceRows++;
      if (order >= 0) {
        result.targetRows++;
        // JSON keeps NULL apart from the text "null" and makes the row boundaries unambiguous.
        hash.update(JSON.stringify(t.value!) + '\n');
      }
      if (order < 0) {
        result.missing++;
        note({ kind: 'missing', key: s.value![keyIndex]! });
      } else if (order > 0) {
        result.extra++;
        note({ kind: 'extra', key: t.value![keyIndex]! });
      } else {
        const key = s.value![keyIndex]!;
        let differs = false;
        for (let i = 0; i < names.length; i++) {
          if (s.value![i] === t.value![i]) continue;
          differs = true;
          note({ kind: 'changed', key, column: names[i]!, source: s.value![i]!, target: t.value![i]! });
        }
        if (differs) result.changed++;
      }
      if (order <= 0) s = await sourceRows.next();
      if (order >= 0) t = await targetRows.next();
    }
  } finally {
    // Stops whichever side is still streaming when the other failed.
    await Promise.allSettled([sourceRows.return?.(), targetRows.return?.()]);
  }
  result.checksum = hash.digest('hex');
  return result;
}

/** Keys are integers as decimal text, possibly beyond 2^53. */
function compareKeys(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

const MAX_SHOWN = 80;
const show = (value: string | null) => (value === null ? 'NULL' : JSON.stringify(value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN)}…` : value));

/** Says what differs, in words: counts first, then the first differences by key. */
export function describeDifferences(comparison: RangeComparison): string {
  const { sourceRows, targetRows, missing, extra, changed, differences, omitted } = comparison;
  const listed = differences.map((difference) => {
    switch (difference.kind) {
      case 'missing':
        return `key ${difference.key} is missing from the target`;
      case 'extra':
        return `key ${difference.key} is in the target but not in the source`;
      case 'changed':
        return `column ${difference.column} at key ${difference.key}: source ${show(difference.source)}, target ${show(difference.target)}`;
    }
  });
  const more = omitted > 0 ? `; and ${omitted} more` : '';
  return (
    `${sourceRows} source rows, ${targetRows} target rows: ${missing} missing, ${extra} extra, ${changed} changed; ` +
    listed.join('; ') +
    more
  );
}
