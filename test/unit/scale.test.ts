import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { DEFAULT_PAGE_LIMITS } from '../../functions/core/items.js';
import { estimate, rangeBytes, rangesPerPage, scaleReport } from '../../infra/cli/scale.js';
import { ROOT } from '../../infra/root.js';

test('docs/SCALE.md carries the numbers infra/cli/scale.ts computes (run `npm run scale` after a change)', () => {
  const doc = readFileSync(path.join(ROOT, 'docs/SCALE.md'), 'utf8');
  const checked = doc.match(/<!-- scale:begin -->\n([\s\S]*?)\n<!-- scale:end -->/);
  assert.ok(checked, 'docs/SCALE.md has the scale:begin / scale:end markers');
  assert.equal(checked[1], scaleReport());
});

test("a page of ranges stays inside ReadItems's byte budget, however long the keys", () => {
  for (const digits of [7, 19, 60]) {
    assert.ok(rangesPerPage(digits) * rangeBytes(digits) <= DEFAULT_PAGE_LIMITS.bytes);
    assert.ok(rangesPerPage(digits) <= DEFAULT_PAGE_LIMITS.items);
  }
  assert.ok(rangesPerPage(60) < DEFAULT_PAGE_LIMITS.items);
});

test('a run of 10^5 ranges reads its items in 100 pages', () => {
  assert.equal(estimate({ rows: 1e9, chunkRows: 10_000, concurrency: 6 }).pages, 100);
});

test("past the target's rate, more concurrency makes each copy slower and the run no faster", () => {
  const six = estimate({ rows: 1e8, chunkRows: 100_000, concurrency: 6 });
  const sixteen = estimate({ rows: 1e8, chunkRows: 100_000, concurrency: 16 });
  assert.ok(sixteen.perCopyRowsPerSecond < six.perCopyRowsPerSecond);
  assert.ok(sixteen.gbSeconds > six.gbSeconds);
  assert.ok(Math.abs(sixteen.minutes - six.minutes) < 0.5);
  assert.equal(six.ranges, 1_000);
  assert.ok(six.rangeFitsBudget && six.planFitsBudget);
  assert.equal(estimate({ rows: 1e9, chunkRows: 1_000_000, concurrency: 6 }).planFitsBudget, false);
});
