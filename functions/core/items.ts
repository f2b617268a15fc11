import type pg from 'pg';
// zod's mini build, as CopyRange's: ReadItems bundles what it imports.
import * as z from 'zod/mini';
import { classifyDatabaseError, InputValidationError } from './errors.js';
import { readItems } from './ledger.js';

/** Where the Map's next page of items starts: the run, and the sequence number of its first item. */
export const readItemsEventSchema = z.object({
  runId: z.string().check(z.minLength(1)),
  from: z.int().check(z.nonnegative()),
});

export type ReadItemsEvent = z.infer<typeof readItemsEventSchema>;

/** One page of the run's items; `next` is where the next page starts, absent after the last. */
export interface ItemsPage {
  items: unknown[];
  next?: number;
}

export interface PageLimits {
  items: number;
  /** The page's items as JSON: a page travels in the state payload, which Step Functions caps at 256 KiB. */
  bytes: number;
}

/** A thousand ranges a page, and at most 128 KiB of them, leaving the rest of the state room. */
export const DEFAULT_PAGE_LIMITS: PageLimits = { items: 1_000, bytes: 128 * 1024 };

/** The page limits, with ITEMS_PER_PAGE (a positive whole number) in place of the item count when set. */
export function pageLimits(env: NodeJS.ProcessEnv = process.env): PageLimits {
  const given = env.ITEMS_PER_PAGE;
  if (given === undefined) return DEFAULT_PAGE_LIMITS;
  const items = Number(given);
  if (!Number.isInteger(items) || items < 1) {
    throw new InputValidationError(`ITEMS_PER_PAGE must be a whole number of items above 0, not ${given}`);
  }
  return { ...DEFAULT_PAGE_LIMITS, items };
}

/**
 * The page of the run's items (as Plan recorded them in the ledger) that starts at `from`: as
 * many as the limits allow, and always at least one, so every page moves the Map on.
 */
export async function readItemsPage(
  event: ReadItemsEvent,
  target: pg.Client,
  limits: PageLimits = DEFAULT_PAGE_LIMITS,
): Promise<ItemsPage> {
  const { runId, from } = readItemsEventSchema.parse(event);
  let rows: Awaited<ReturnType<typeof readItems>>;
  try {
    rows = await readItems(target, runId, from, limits.items + 1);
  } catch (error) {
    throw classifyDatabaseError(error, 'target');
  }
  const items: unknown[] = [];
  // The page as a JSON array: its brackets, and each item with the comma or bracket after it.
  let bytes = 1;
  for (const [i, row] of rows.entries()) {
    bytes += Buffer.byteLength(JSON.stringify(row.item)) + 1;
    if (i === limits.items || (i > 0 && bytes > limits.bytes)) return { items, next: row.seq };
    items.push(row.item);
  }
  return { items };
}
