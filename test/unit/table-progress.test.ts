import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TableProgress } from '../../infra/cli/migrate.js';

test('the progress line counts tables done of planned and names the two with most ranges still to go', () => {
  const progress = new TableProgress();
  progress.expect(4);
  // A page of ranges in plan order: rental 0-3, film 4-5, actor 6.
  progress.page(['rental', 'rental', 'rental', 'rental', 'film', 'film', 'actor']);
  assert.equal(progress.describe(), '0/4 tables; rental 0/4, film 0/2');
  progress.rangeDone(6);
  progress.rangeDone(0);
  assert.equal(progress.describe(), '1/4 tables; rental 1/4, film 0/2');
  for (const index of [1, 2, 3, 4, 5]) progress.rangeDone(index);
  assert.equal(progress.describe(), '3/4 tables');
  // The next page's iterations are numbered from 0 again.
  progress.page(['staff', 'staff']);
  progress.rangeDone(1);
  assert.equal(progress.describe(), '3/4 tables; staff 1/2');
});
