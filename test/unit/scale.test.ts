import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { MAX_PLAN_BYTES } from '../../functions/core/plan.js';
import { estimate, maxRanges, planBytes, scaleReport } from '../../infra/cli/scale.js';
import { ROOT } from '../../infra/root.js';

test('docs/SCALE.md carries the numbers infra/cli/scale.ts computes (run `npm run scale` after a change)', () => {
  const doc = readFileSync(path.join(ROOT, 'docs/SCALE.md'), 'utf8');
  const checked = doc.match(/<!-- scale:begin -->\n([\s\S]*?)\n<!-- scale:end -->/);
  assert.ok(checked, 'docs/SCALE.md has the scale:begin / scale:end markers');
  assert.equal(checked[1], scaleReport());
});

test("the most ranges is exactly what Plan's 200 KiB limit lets through", () => {
  for (const digits of [10, 19]) {
    const most = maxRanges(digits);
    assert.ok(planBytes(most, digits) <= MAX_PLAN_BYTES);
    assert.ok(planBytes(most + 1, digits) > MAX_PLAN_BYTES);
  }
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
