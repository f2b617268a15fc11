import type pg from 'pg';
import { quotePg } from '../../functions/core/identifiers.js';

/**
 * Makes every transaction that writes rows into the target's `table` wait `seconds` on its first
 * row, so each range stays open that long (a run is still copying when a test acts on it).
 * Returns what takes the slowdown away.
 */
export async function slowRanges(target: pg.Client, table: string, seconds: number): Promise<() => Promise<void>> {
  const name = quotePg(`${table}_slow_ranges`);
  await target.query(`CREATE OR REPLACE FUNCTION public.${name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF coalesce(current_setting('slow_ranges.slept', true), '') = '' THEN
        PERFORM pg_sleep(${Number(seconds)});
        PERFORM set_config('slow_ranges.slept', 'yes', true);
      END IF;
      RETURN NEW;
    END $$`);
  await target.query(
    `CREATE TRIGGER ${name} BEFORE INSERT ON public.${quotePg(table)} FOR EACH ROW EXECUTE FUNCTION public.${name}()`,
  );
  return async () => {
    await target.query(`DROP TRIGGER IF EXISTS ${name} ON public.${quotePg(table)}`);
    await target.query(`DROP FUNCTION IF EXISTS public.${name}()`);
  };
}
