import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rowsPerRange } from '../../functions/core/row-bytes.js';

const MiB = 1024 * 1024;

test('rows per range: chunkRows while its rows fit the byte budget', () => {
  assert.equal(rowsPerRange(100_000, 256 * MiB, 120), 100_000);
});

test('rows per range: fewer when chunkRows rows of the average length would pass the budget', () => {
  // 300 rows of 4 MiB blobs under the default 256 MiB: 64 rows a range, five ranges.
  assert.equal(rowsPerRange(100_000, 256 * MiB, 4 * MiB + 20), 63);
  assert.equal(rowsPerRange(100_000, 256 * MiB, 4 * MiB), 64);
});

test('rows per range: one row at least, however wide a row is', () => {
  assert.equal(rowsPerRange(100_000, 1 * MiB, 50 * MiB), 1);
});
