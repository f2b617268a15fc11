import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import type { CanonicalRow } from '../../functions/core/canonical.js';
import { compareRanges, describeDifferences, RangeComparer } from '../../functions/core/range-comparison.js';

const COLUMNS = { names: ['id', 'name', 'bio'], keyIndex: 0 };

/** The rows as a stream of batches, two rows each (and an empty one), so rows meet across batch edges. */
async function* stream(rows: CanonicalRow[]): AsyncGenerator<CanonicalRow[]> {
  yield [];
  for (let i = 0; i < rows.length; i += 2) yield rows.slice(i, i + 2);
}

const rows = (...ids: (number | string)[]): CanonicalRow[] => ids.map((id) => [String(id), `name ${id}`, null]);

describe('compareRanges', () => {
  test('identical sides have no differences and a checksum over the rows in key order', async () => {
    const both = rows(1, 2, 5);
    const comparison = await compareRanges(stream(both), stream(both), COLUMNS);
    const expected = createHash('sha256')
      .update(both.map((row) => JSON.stringify(row) + '\n').join(''))
      .digest('hex');
    assert.deepEqual(comparison, {
      sourceRows: 3,
      targetRows: 3,
      unsettled: 0,
      missing: 0,
      extra: 0,
      changed: 0,
      differences: [],
      omitted: 0,
      checksum: expected,
    });
  });

  test('names a missing row, an extra row and a changed column by key', async () => {
    const source = rows(1, 2, 3, 5);
    const target = rows(1, 3, 4, 5);
    target[3]![1] = 'changed';
    const comparison = await compareRanges(stream(source), stream(target), COLUMNS);
    assert.equal(comparison.missing, 1);
    assert.equal(comparison.extra, 1);
    assert.equal(comparison.changed, 1);
    assert.deepEqual(comparison.differences, [
      { kind: 'missing', key: '2' },
      { kind: 'extra', key: '4' },
      { kind: 'changed', key: '5', column: 'name', source: 'name 5', target: 'changed' },
    ]);
    assert.match(
      describeDifferences(comparison),
      /^4 source rows, 4 target rows: 1 missing, 1 extra, 1 changed; key 2 is missing from the target; key 4 is in the target but not in the source; column name at key 5: source "name 5", target "changed"$/,
    );
  });

  test('orders keys as integers, also beyond 2^53 and below zero', async () => {
    const keys = ['-5', '9', '10', '9007199254740993', '18446744073709551615'];
    const comparison = await compareRanges(stream(rows(...keys)), stream(rows(...keys)), COLUMNS);
    assert.equal(comparison.differences.length, 0);
    const shifted = await compareRanges(
      stream(rows(...keys)),
      stream(rows('-5', '9', '10', '9007199254740992', '18446744073709551615')),
      COLUMNS,
    );
    assert.deepEqual(shifted.differences, [
      { kind: 'extra', key: '9007199254740992' },
      { kind: 'missing', key: '9007199254740993' },
    ]);
  });

  test('a tuple key merges column by column, numbers as numbers and text by its UTF-8 bytes, and names the tuple', async () => {
    const tuple = {
      names: ['a', 'b', 'v'],
      keyIndex: -1,
      tupleKey: [
        { index: 0, order: 'numbers' as const },
        { index: 1, order: 'bytes' as const },
      ],
    };
    // In byte order: upper case before lower, `é` after `z`, U+FFFD before U+1F600 (UTF-16 has them the other way).
    const keys = ['-1.5:x', '-1:x', '2:B', '2:a', '2:z', '2:é', '2:\uFFFD', '2:😀', '10:a', '10.25:a'];
    const tupleRows = (...pairs: string[]): CanonicalRow[] =>
      pairs.map((pair) => [...(pair.split(':') as [string, string]), `v ${pair}`]);
    const same = await compareRanges(stream(tupleRows(...keys)), stream(tupleRows(...keys)), tuple);
    assert.equal(same.differences.length, 0);
    const target = tupleRows(...keys.filter((key) => key !== '2:\uFFFD'), '11:a');
    target[0]![2] = 'changed';
    const comparison = await compareRanges(stream(tupleRows(...keys)), stream(target), tuple);
    assert.deepEqual(comparison.differences, [
      { kind: 'changed', key: '(-1.5, "x")', column: 'v', source: 'v -1.5:x', target: 'changed' },
      { kind: 'missing', key: '(2, "\uFFFD")' },
      { kind: 'extra', key: '(11, "a")' },
    ]);
    assert.match(describeDifferences(comparison), /; key \(2, "\uFFFD"\) is missing from the target; /);
    // A one-column key is named by its value alone.
    const single = await compareRanges(stream([['é', null]]), stream([]), {
      names: ['w', 'v'],
      keyIndex: -1,
      tupleKey: [{ index: 0, order: 'bytes' }],
    });
    assert.deepEqual(single.differences, [{ kind: 'missing', key: '"é"' }]);
  });

  test('tells NULL from the text "null" and from an empty string', async () => {
    const source: CanonicalRow[] = [
      ['1', 'null', null],
      ['2', '', null],
    ];
    const target: CanonicalRow[] = [
      ['1', null, null],
      ['2', null, ''],
    ];
    const comparison = await compareRanges(stream(source), stream(target), COLUMNS);
    assert.equal(comparison.changed, 2);
    assert.match(
      describeDifferences(comparison),
      /column name at key 1: source "null", target NULL; column name at key 2: source "", target NULL; column bio at key 2: source NULL, target ""/,
    );
  });

  test('one changed value changes the checksum', async () => {
    const target = rows(1, 2);
    const before = await compareRanges(stream(rows(1, 2)), stream(target), COLUMNS);
    target[1]![2] = 'x';
    const after = await compareRanges(stream(rows(1, 2)), stream(target), COLUMNS);
    assert.notEqual(before.checksum, after.checksum);
  });

  test('reads both sides to the end, lists the first differences and counts the rest', async () => {
    const comparison = await compareRanges(stream(rows(...Array.from({ length: 20 }, (_, i) => i))), stream([]), {
      ...COLUMNS,
      listed: 3,
    });
    assert.equal(comparison.missing, 20);
    assert.equal(comparison.differences.length, 3);
    assert.equal(comparison.omitted, 17);
    assert.match(describeDifferences(comparison), /; and 17 more$/);
  });

  test('long values are shortened in the description', async () => {
    const comparison = await compareRanges(stream([['1', 'a'.repeat(500), null]]), stream([['1', 'b', null]]), COLUMNS);
    assert.match(describeDifferences(comparison), /source "a{80}…", target "b"/);
  });

  test('a source row changed after the run began is left out with its target row, whatever they hold', async () => {
    const source = rows(1, 2, 3, 4);
    source[1]![1] = 'renamed after the copy';
    const target = rows(1, 2, 4);
    const comparison = await compareRanges(stream(source), stream(target), {
      ...COLUMNS,
      unsettled: ([id]) => id === '2' || id === '3',
    });
    assert.deepEqual(
      {
        sourceRows: comparison.sourceRows,
        targetRows: comparison.targetRows,
        unsettled: comparison.unsettled,
        differences: comparison.differences,
      },
      { sourceRows: 2, targetRows: 2, unsettled: 2, differences: [] },
    );
    const settled = await compareRanges(stream(rows(1, 4)), stream(rows(1, 4)), COLUMNS);
    assert.equal(comparison.checksum, settled.checksum);
  });

  test('merging batch by batch gives what one pass over the whole range gives', async () => {
    const source = rows(...Array.from({ length: 10 }, (_, i) => i));
    const target = rows(...Array.from({ length: 10 }, (_, i) => i).filter((i) => i !== 4));
    target[7]![1] = 'changed';
    const whole = await compareRanges(stream(source), stream(target), COLUMNS);
    const batched = new RangeComparer(COLUMNS);
    for (const [from, to] of [
      [0, 3],
      [3, 6],
      [6, 10],
    ] as const) {
      const inBatch = (row: CanonicalRow) => Number(row[0]) >= from && Number(row[0]) < to;
      await batched.merge([source.filter(inBatch)], [target.filter(inBatch)]);
    }
    assert.deepEqual(batched.finish(), whole);
  });
});
