import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readItemsPage } from '../../functions/core/items.js';
import { plan, withoutItems } from '../../functions/core/plan.js';
import type { KeyRange } from '../../functions/core/ranges.js';
import { summarize } from '../../functions/core/summarize.js';
import { seededSuite } from '../support/databases.js';

const TABLE = 'items_users';
// More ranges than one state payload held when Plan returned them (about 4,000).
const ROWS = 5_000;

const pair = seededSuite(TABLE, ROWS);

test('Plan keeps 5,000 ranges in the ledger and hands the workflow only their count; pages give each back once', async () => {
  const runId = `items-${process.pid}`;
  const planned = await plan({ input: { table: TABLE, chunkRows: 1 }, runId, execution: `local:${runId}` }, pair(), {
    tables: [TABLE],
    chunkRows: 1,
    concurrency: 1,
  });
  try {
    assert.equal(planned.ranges.length, ROWS);
    const state = withoutItems(planned);
    assert.equal(state.items, ROWS);
    assert.ok(Buffer.byteLength(JSON.stringify(state)) < 2_000, JSON.stringify(state));
    const read: unknown[] = [];
    let from: number | undefined = 0;
    let pages = 0;
    while (from !== undefined) {
      const page = await readItemsPage({ runId, from }, pair().target);
      read.push(...page.items);
      from = page.next;
      pages++;
    }
    assert.equal(pages, 5);
    assert.deepEqual(read as KeyRange[], planned.ranges);
  } finally {
    // Ends the run, failed (nothing was copied), which frees the table.
    await summarize({ runId }, pair().target).catch(() => {});
  }
});
