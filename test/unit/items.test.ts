import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type pg from 'pg';
import { DEFAULT_PAGE_LIMITS, type ItemsPage, pageLimits, readItemsPage } from '../../functions/core/items.js';

/** A target whose ledger holds these items of one run, answering readItems's query as PostgreSQL would. */
function ledgerOf(items: unknown[]): pg.Client {
  const rows = items.map((item, seq) => ({ seq, item }));
  return {
    query: async (_sql: string, [, from, limit]: [string, number, number]) => ({
      rows: rows.filter((row) => row.seq >= from).slice(0, limit),
    }),
  } as unknown as pg.Client;
}

/** Every page from the first, as the workflow's loop reads them. */
async function allPages(target: pg.Client, limits = DEFAULT_PAGE_LIMITS): Promise<ItemsPage[]> {
  const pages: ItemsPage[] = [];
  let from: number | undefined = 0;
  while (from !== undefined) {
    const page = await readItemsPage({ runId: 'r', from }, target, limits);
    pages.push(page);
    from = page.next;
  }
  return pages;
}

const range = (index: number) => ({ index, lo: String(index * 100), hi: String(index * 100 + 100) });

describe('ReadItems: the Map’s items a page at a time', () => {
  test('10,000 ranges come in ten pages of 1,000, each item once and in order', async () => {
    const items = Array.from({ length: 10_000 }, (_, i) => range(i));
    const pages = await allPages(ledgerOf(items));
    assert.deepEqual(
      pages.map((page) => page.items.length),
      Array(10).fill(1_000),
    );
    assert.deepEqual(pages.at(-1)!.next, undefined);
    assert.deepEqual(
      pages.flatMap((page) => page.items),
      items,
    );
  });

  test('a page stops at its byte budget whatever the items hold, and always takes one item', async () => {
    // Items as a whole-database run may make them: a table name and long composite keys.
    const wide = Array.from({ length: 50 }, (_, i) => ({ table: 'orders', lo: ['x'.repeat(3_000), i], hi: null }));
    const pages = await allPages(ledgerOf(wide), { items: 1_000, bytes: 20_000 });
    for (const page of pages) assert.ok(Buffer.byteLength(JSON.stringify(page.items)) <= 20_000);
    assert.deepEqual(
      pages.flatMap((page) => page.items),
      wide,
    );
    const huge = [{ lo: 'y'.repeat(50_000) }, { lo: 'z' }];
    assert.deepEqual(
      (await allPages(ledgerOf(huge), { items: 1_000, bytes: 20_000 })).map((page) => page.items.length),
      [1, 1],
    );
  });

  test('a run with no items has one empty page, which ends the loop', async () => {
    assert.deepEqual(await allPages(ledgerOf([])), [{ items: [] }]);
  });

  test('ITEMS_PER_PAGE sets the item count; anything but a positive whole number is refused, naming it', () => {
    assert.deepEqual(pageLimits({}), DEFAULT_PAGE_LIMITS);
    assert.equal(pageLimits({ ITEMS_PER_PAGE: '3' }).items, 3);
    assert.throws(() => pageLimits({ ITEMS_PER_PAGE: '0' }), {
      name: 'InputValidationError',
      message: 'ITEMS_PER_PAGE must be a whole number of items above 0, not 0',
    });
  });
});
