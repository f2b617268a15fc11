import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { STATE } from '../../infra/cdk/states.js';
import { migrateLocally } from '../../infra/local/local-migration.js';
import type { WorkflowEvent } from '../../infra/local/runner.js';
import { SOURCE_URL, seededSuite, TARGET_URL } from '../support/databases.js';
import { assertTargetExact } from '../support/exactness.js';

const TABLE = 'pages_users';
const ROWS = 47;
// 24 ranges of at most 2 rows, read 5 to a page: five pages, the last one of four.
const CHUNK_ROWS = 2;
const ITEMS_PER_PAGE = 5;

describe('the workflow reads the ranges from the ledger a page at a time', () => {
  const pair = seededSuite(TABLE, ROWS);
  let givenPageSize: string | undefined;

  before(() => {
    givenPageSize = process.env.ITEMS_PER_PAGE;
    process.env.ITEMS_PER_PAGE = String(ITEMS_PER_PAGE);
  });
  after(() => {
    if (givenPageSize === undefined) delete process.env.ITEMS_PER_PAGE;
    else process.env.ITEMS_PER_PAGE = givenPageSize;
  });

  test('every range of every page is copied and verified once; no state carries more than a page', async () => {
    const outputs: Record<string, unknown[]> = {};
    const onEvent = (event: WorkflowEvent) => {
      if (event.type !== 'StateExited' || !('state' in event) || !event.state) return;
      const name = event.state.name;
      outputs[name] = [...(outputs[name] ?? []), event.state.output];
    };
    const outcome = await migrateLocally({
      sourceUrl: SOURCE_URL,
      targetUrl: TARGET_URL,
      input: { table: TABLE, chunkRows: CHUNK_ROWS, concurrency: 3 },
      onEvent,
    });
    assert.equal(outcome.run.status, 'SUCCEEDED', JSON.stringify(outcome.run.error));
    const ranges = Math.ceil(ROWS / CHUNK_ROWS);
    assert.deepEqual(
      {
        ranges: outcome.summary?.ranges,
        verifiedRanges: outcome.summary?.verifiedRanges,
        rows: outcome.summary?.rows,
      },
      { ranges, verifiedRanges: ranges, rows: ROWS },
    );
    // Plan hands on the count of its items, not the items.
    const [planned] = outputs[STATE.plan] as Record<string, unknown>[];
    assert.equal(planned!.items, ranges);
    assert.equal(planned!.ranges, undefined);
    // Each page in order, each at most ITEMS_PER_PAGE ranges, every range once.
    const pages = (outputs[STATE.readItems] as { page: { items: { index: number }[]; next?: number } }[]).map(
      (state) => state.page,
    );
    assert.deepEqual(
      pages.map((page) => page.items.length),
      [5, 5, 5, 5, 4],
    );
    assert.deepEqual(
      pages.flatMap((page) => page.items.map((range) => range.index)),
      Array.from({ length: ranges }, (_, i) => i),
    );
    assert.equal(outputs[STATE.copyRange]?.length, ranges);
    await assertTargetExact(pair(), TABLE);
  });
});
