import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolveRunSettings } from '../../functions/core/input.js';
import { quoted } from '../../functions/core/range-rows.js';
import {
  type KeyAtOffset,
  type KeyRange,
  mergeRanges,
  rangeCondition,
  rangesBetween,
  splitKeySpace,
} from '../../functions/core/ranges.js';
import { mapColumn, type SourceColumn, type TableDescription } from '../../functions/core/schema.js';

/**
 * An in-memory primary-key index: the key that has `offset` keys below it among the keys
 * `>= from` (from the smallest key when `from` is null), or null when fewer keys remain.
 * Keys are compared as BigInt, as the database compares them, so BIGINT UNSIGNED keys work.
 */
function keyIndex(ids: (number | bigint | string)[]): { keyAtOffset: KeyAtOffset; keys: bigint[] } {
  const keys = ids.map((id) => BigInt(id)).sort((a, b) => (a < b ? -1 : Number(a > b)));
  const keyAtOffset: KeyAtOffset = async (from, offset) => {
    let start = 0;
    if (from !== null) {
      const lower = BigInt(from);
      // Binary search for the first key >= from.
      let hi = keys.length;
      while (start < hi) {
        const mid = (start + hi) >> 1;
        if (keys[mid]! < lower) start = mid + 1;
        else hi = mid;
      }
    }
    const key = keys[start + offset];
    return key === undefined ? null : key.toString();
  };
  return { keyAtOffset, keys };
}

const ids = (from: number, to: number, step = 1): number[] => {
  const out: number[] = [];
  for (let id = from; id <= to; id += step) out.push(id);
  return out;
};

function keysIn(keys: bigint[], { lo, hi }: KeyRange): number {
  return keys.filter((key) => (lo === null || key >= BigInt(lo)) && (hi === null || key < BigInt(hi))).length;
}

/** The invariants every split must keep: contiguous cover of the key space, chunkRows keys per range. */
function assertBalancedCover(ranges: KeyRange[], keys: bigint[], chunkRows: number): void {
  assert.ok(ranges.length >= 1, 'at least one range');
  assert.deepEqual(
    ranges.map((r) => r.index),
    ranges.map((_, i) => i),
    'indexes run 0..n-1',
  );
  assert.equal(ranges[0]!.lo, null, 'first range reaches down to the smallest key');
  assert.equal(ranges.at(-1)!.hi, null, 'last range reaches up to the largest key');
  for (let i = 0; i + 1 < ranges.length; i++) {
    assert.equal(ranges[i]!.hi, ranges[i + 1]!.lo, `range ${i} ends where range ${i + 1} starts`);
    const { lo, hi } = ranges[i]!;
    if (lo !== null) assert.ok(BigInt(lo) < BigInt(hi!), `range ${i} is not empty: ${lo} < ${hi}`);
  }
  const counts = ranges.map((r) => keysIn(keys, r));
  for (const [i, count] of counts.slice(0, -1).entries()) {
    assert.equal(count, chunkRows, `range ${i} holds exactly chunkRows keys`);
  }
  const last = counts.at(-1)!;
  if (keys.length === 0) assert.equal(last, 0, 'an empty table gives one empty range');
  else assert.ok(last >= 1 && last <= chunkRows, `last range holds 1..${chunkRows} keys, holds ${last}`);
  assert.equal(
    counts.reduce((a, b) => a + b, 0),
    keys.length,
    'every key lies in exactly one range',
  );
}

describe('splitKeySpace', () => {
  test('dense ids 1..1050 split into ten ranges of 100 keys and a last one of 50', async () => {
    const { keyAtOffset, keys } = keyIndex(ids(1, 1050));
    const ranges = await splitKeySpace(keyAtOffset, 100);
    assertBalancedCover(ranges, keys, 100);
    assert.equal(ranges.length, 11);
    assert.deepEqual(ranges[1], { index: 1, lo: '101', hi: '201' });
  });

  test('a key count that is an exact multiple of chunkRows gives no empty trailing range', async () => {
    const { keyAtOffset, keys } = keyIndex(ids(1, 300));
    const ranges = await splitKeySpace(keyAtOffset, 100);
    assertBalancedCover(ranges, keys, 100);
    assert.equal(ranges.length, 3);
  });

  test('sparse ids (every third id) still give ranges of exactly chunkRows keys', async () => {
    const { keyAtOffset, keys } = keyIndex(ids(3, 3000, 3));
    const ranges = await splitKeySpace(keyAtOffset, 64);
    assertBalancedCover(ranges, keys, 64);
    assert.equal(ranges.length, Math.ceil(1000 / 64));
    // Equal-width ranges over min..max would cut at 3 + 64; walking the index cuts at the 65th key.
    assert.equal(ranges[0]!.hi, String(3 * 65));
  });

  test('a table with one row gives one range covering everything', async () => {
    const { keyAtOffset, keys } = keyIndex([42]);
    const ranges = await splitKeySpace(keyAtOffset, 100);
    assert.deepEqual(ranges, [{ index: 0, lo: null, hi: null }]);
    assertBalancedCover(ranges, keys, 100);
  });

  test('an empty table gives the single range [null, null)', async () => {
    const { keyAtOffset, keys } = keyIndex([]);
    const ranges = await splitKeySpace(keyAtOffset, 100);
    assert.deepEqual(ranges, [{ index: 0, lo: null, hi: null }]);
    assertBalancedCover(ranges, keys, 100);
  });

  test('a huge gap in the ids (1..1000 then 10^12..) does not produce empty or oversized ranges', async () => {
    const { keyAtOffset, keys } = keyIndex([...ids(1, 1000), ...ids(1_000_000_000_000, 1_000_000_000_999)]);
    const ranges = await splitKeySpace(keyAtOffset, 300);
    assertBalancedCover(ranges, keys, 300);
    assert.equal(ranges.length, 7);
    // The range spanning the gap holds the last 100 low ids and the first 200 high ones.
    assert.deepEqual(ranges[3], { index: 3, lo: '901', hi: '1000000000200' });
  });

  test('BIGINT UNSIGNED keys up to 18446744073709551615 keep every digit as strings', async () => {
    const max = 18446744073709551615n;
    const big = Array.from({ length: 25 }, (_, i) => max - BigInt(i * 7));
    const { keyAtOffset, keys } = keyIndex([...big, 0, 1, 2]);
    const ranges = await splitKeySpace(keyAtOffset, 10);
    assertBalancedCover(ranges, keys, 10);
    assert.equal(ranges.length, 3);
    // Beyond 2^53 a JSON number would round these; the boundaries must be the exact keys.
    for (const r of ranges.slice(1)) assert.ok(keys.includes(BigInt(r.lo!)), `${r.lo} is an exact key`);
    assert.equal(ranges[2]!.lo, (max - 7n * 7n).toString());
  });

  test('chunkRows of 1 gives one range per key', async () => {
    const { keyAtOffset, keys } = keyIndex([5, 9, 200]);
    const ranges = await splitKeySpace(keyAtOffset, 1);
    assertBalancedCover(ranges, keys, 1);
    assert.deepEqual(
      ranges.map((r) => [r.lo, r.hi]),
      [
        [null, '9'],
        ['9', '200'],
        ['200', null],
      ],
    );
  });
});

describe('rangesBetween', () => {
  test('no boundaries give one range over the whole key space', () => {
    assert.deepEqual(rangesBetween([]), [{ index: 0, lo: null, hi: null }]);
  });

  test('n ascending boundaries give n+1 contiguous indexed ranges, open at both ends', () => {
    assert.deepEqual(rangesBetween(['10', '20', '18446744073709551615']), [
      { index: 0, lo: null, hi: '10' },
      { index: 1, lo: '10', hi: '20' },
      { index: 2, lo: '20', hi: '18446744073709551615' },
      { index: 3, lo: '18446744073709551615', hi: null },
    ]);
  });
});

describe('rangeCondition', () => {
  test('an unbounded range selects every row with TRUE', () => {
    assert.equal(rangeCondition('"id"', { lo: null, hi: null }), 'TRUE');
  });

  test('a bounded range is half-open: lo inclusive, hi exclusive', () => {
    assert.equal(rangeCondition('"id"', { lo: '100', hi: '200' }), '"id" >= 100 AND "id" < 200');
  });

  test('a range open below or above has only the other bound', () => {
    assert.equal(rangeCondition('`id`', { lo: null, hi: '200' }), '`id` < 200');
    assert.equal(rangeCondition('`id`', { lo: '100', hi: null }), '`id` >= 100');
  });

  test('BIGINT UNSIGNED bounds are inlined as exact integer literals', () => {
    assert.equal(
      rangeCondition('"id"', { lo: '18446744073709551600', hi: '18446744073709551615' }),
      '"id" >= 18446744073709551600 AND "id" < 18446744073709551615',
    );
  });

  test('a non-integer key cannot reach the SQL (injection attempt throws)', () => {
    assert.throws(() => rangeCondition('"id"', { lo: '1 OR 1=1', hi: null }), TypeError);
    assert.throws(() => rangeCondition('"id"', { lo: null, hi: '1; DROP TABLE users' }), TypeError);
    assert.throws(() => rangeCondition('"id"', { lo: '1.5', hi: null }), TypeError);
    assert.throws(() => rangeCondition('"id"', { lo: '', hi: null }), TypeError);
  });
});

describe('rangeCondition over a tuple key', () => {
  const pg = (description: TableDescription) => quoted('target', description)!;
  const mysql = (description: TableDescription) => quoted('source', description)!;
  const table = (columns: SourceColumn[]): TableDescription => ({
    table: 't',
    columns: columns.map((column) => mapColumn(column)),
    primaryKey: null,
    primaryKeyIndex: -1,
    key: { kind: 'primary', columns: columns.map((column) => column.name) },
    keyset: columns.map((column) => mapColumn(column)),
    whole: null,
  });
  const column = (name: string, dataType: string, more: Partial<SourceColumn> = {}): SourceColumn => ({
    name,
    dataType,
    columnType: dataType,
    nullable: false,
    numericPrecision: null,
    numericScale: null,
    datetimePrecision: null,
    characterMaximumLength: 20,
    default: { kind: 'none' },
    extra: '',
    generation: null,
    ...more,
  });
  const composite = table([column('a', 'int'), column('b', 'varchar')]);

  test('is expanded column by column, the leading column bounding what an index reads', () => {
    assert.equal(
      rangeCondition(pg(composite), { lo: '["1","x"]', hi: '["2","y"]' }),
      `("a" >= 1 AND ("a" > 1 OR ("a" = 1 AND ("b" COLLATE "C") >= 'x'))) AND ` +
        `("a" <= 2 AND ("a" < 2 OR ("a" = 2 AND ("b" COLLATE "C") < 'y')))`,
    );
  });

  test('text compares as its UTF-8 bytes on both sides; quotes cannot leave the literal', () => {
    const words = table([column('w', 'varchar')]);
    assert.equal(
      rangeCondition(mysql(words), { lo: '["Straße"]', hi: null }),
      `(CAST(CONVERT(\`w\` USING utf8mb4) AS BINARY) >= X'${Buffer.from('Straße').toString('hex')}')`,
    );
    assert.equal(rangeCondition(pg(words), { lo: null, hi: `["a'b"]` }), `(("w" COLLATE "C") < 'a''b')`);
  });

  test('binary, decimal and date boundaries are checked by their codec before they become literals', () => {
    const keys = table([
      column('id', 'binary', { columnType: 'binary(16)' }),
      column('p', 'decimal', { numericPrecision: 18, numericScale: 4 }),
      column('d', 'datetime', { datetimePrecision: 3 }),
    ]);
    const lo = '["00ff","-12.5000","2024-05-01 10:00:00.123"]';
    assert.equal(
      rangeCondition(pg(keys), { lo, hi: null }),
      `("id" >= '\\x00ff'::bytea AND ("id" > '\\x00ff'::bytea OR ("id" = '\\x00ff'::bytea AND ("p" > -12.5000 OR ("p" = -12.5000 AND "d" >= '2024-05-01 10:00:00.123'::timestamp)))))`,
    );
    for (const bad of [
      '["0g","1","2024-05-01 10:00:00"]',
      '["00","1 OR 1=1","2024-05-01 10:00:00"]',
      `["00","1","2024-05-01'"]`,
      '["00","1"]',
      '[1,2,3]',
      '{"a":1}',
    ]) {
      assert.throws(() => rangeCondition(mysql(keys), { lo: bad, hi: null }), TypeError, bad);
    }
  });
});

test('splitKeySpace refuses a chunk size that would never advance the walk', async () => {
  const never: KeyAtOffset = async () => '1';
  for (const chunkRows of [0, -1, 1.5]) await assert.rejects(splitKeySpace(never, chunkRows), RangeError);
});

const DEFAULTS = { tables: ['users'], chunkRows: 1000, concurrency: 4 };

describe('mergeRanges', () => {
  test('keeps disjoint ranges, in key order', () => {
    assert.deepEqual(
      mergeRanges([
        { lo: '200', hi: '300' },
        { lo: null, hi: '100' },
        { lo: '300', hi: null },
      ]),
      [
        { lo: null, hi: '100' },
        { lo: '200', hi: '300' },
        { lo: '300', hi: null },
      ],
    );
  });

  test('joins the same range queued twice and ranges that overlap, open ends included', () => {
    assert.deepEqual(
      mergeRanges([
        { lo: '10', hi: '20' },
        { lo: '10', hi: '20' },
      ]),
      [{ lo: '10', hi: '20' }],
    );
    assert.deepEqual(
      mergeRanges([
        { lo: '10', hi: '20' },
        { lo: '15', hi: '30' },
        { lo: '12', hi: '14' },
      ]),
      [{ lo: '10', hi: '30' }],
    );
    assert.deepEqual(
      mergeRanges([
        { lo: '50', hi: null },
        { lo: '60', hi: '70' },
        { lo: null, hi: '5' },
        { lo: '4', hi: '6' },
      ]),
      [
        { lo: null, hi: '6' },
        { lo: '50', hi: null },
      ],
    );
  });

  test('compares keys as integers beyond 2^53', () => {
    assert.deepEqual(
      mergeRanges([
        { lo: '18446744073709551000', hi: '18446744073709551615' },
        { lo: '9007199254740993', hi: '18446744073709551001' },
      ]),
      [{ lo: '9007199254740993', hi: '18446744073709551615' }],
    );
  });
});

describe('the execution input "ranges"', () => {
  test('given ranges are kept as given', () => {
    const ranges = [
      { lo: null, hi: '10' },
      { lo: '10', hi: '20' },
      { lo: '90', hi: null },
    ];
    assert.deepEqual(resolveRunSettings({ ranges }, DEFAULTS).ranges, ranges);
    assert.equal(resolveRunSettings({}, DEFAULTS).ranges, undefined);
  });

  test('empty, unordered or overlapping ranges are refused naming the range', () => {
    assert.throws(() => resolveRunSettings({ ranges: [] }, DEFAULTS), /"ranges" must list at least one range/);
    assert.throws(
      () => resolveRunSettings({ ranges: [{ lo: '5', hi: '5' }] }, DEFAULTS),
      /"ranges\.0" is empty: lo 5 must be below hi 5/,
    );
    assert.throws(
      () =>
        resolveRunSettings(
          {
            ranges: [
              { lo: '1', hi: '10' },
              { lo: '9', hi: '20' },
            ],
          },
          DEFAULTS,
        ),
      /"ranges\.1" overlaps or precedes/,
    );
    assert.throws(
      () =>
        resolveRunSettings(
          {
            ranges: [
              { lo: '1', hi: null },
              { lo: '20', hi: '30' },
            ],
          },
          DEFAULTS,
        ),
      /"ranges\.1" overlaps/,
    );
    assert.throws(
      () => resolveRunSettings({ ranges: [{ lo: 'x', hi: null }] }, DEFAULTS),
      /"ranges\.0\.lo" must be an integer key/,
    );
    assert.throws(
      () => resolveRunSettings({ ranges: [{ lo: '1', hi: '2', index: 0 }] }, DEFAULTS),
      /unknown field "ranges\.0\.index": remove it/,
    );
  });
});
