import assert from 'node:assert/strict';
import { test } from 'node:test';
import { main } from '../../infra/cli/bench.js';

/** Runs the benchmark's command line, returning its exit code and what it printed on stderr. */
async function bench(argv: string[]): Promise<{ code: number; printed: string }> {
  const printed: string[] = [];
  const error = console.error;
  console.error = (...args: unknown[]) => void printed.push(args.join(' '));
  try {
    return { code: await main(argv), printed: printed.join('\n') };
  } finally {
    console.error = error;
  }
}

test('a flag of the other benchmark is refused before anything is seeded, naming the flag', async () => {
  const rows = await bench(['--database', 'sakila', '--rows', '5']);
  assert.equal(rows.code, 2);
  assert.match(rows.printed, /^--rows applies to --database users/);
  const spatial = await bench(['--no-spatial']);
  assert.equal(spatial.code, 2);
  assert.match(spatial.printed, /^--no-spatial applies to --database sakila/);
  const unknown = await bench(['--database', 'employees']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.printed, /--database must be users or sakila/);
});
