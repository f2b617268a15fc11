import { performance } from 'node:perf_hooks';
import { mysqlKeyAtOffset, splitKeySpace } from '../functions/core/ranges.js';
import { closePair, dropTables, openPair, SOURCE_URL, TARGET_URL } from '../test/support/databases.js';
import { migrateLocally } from './local/local-migration.js';
import { seedUsers } from './local/seed.js';

const TABLE = 'i8_scale';
const ROWS = 1_000_000;
const pair = await openPair();
let t = performance.now();
await dropTables(pair, TABLE);
await seedUsers(pair.source, { table: TABLE, rows: ROWS });
console.log('seed s', (performance.now() - t) / 1000);
for (const chunk of [100_000, 250_000]) {
  t = performance.now();
  const ranges = await splitKeySpace(mysqlKeyAtOffset(pair.source, TABLE, 'id'), chunk);
  console.log('walk chunk', chunk, 'ranges', ranges.length, 's', (performance.now() - t) / 1000);
}
for (const [chunkRows, concurrency] of [
  [ROWS, 1],
  [250_000, 2],
]) {
  const outcome = await migrateLocally({
    sourceUrl: SOURCE_URL,
    targetUrl: TARGET_URL,
    input: { table: TABLE, chunkRows, concurrency },
  });
  console.log(
    'migrate',
    chunkRows,
    concurrency,
    outcome.run.status,
    outcome.summary?.rows,
    's',
    outcome.seconds,
    'rows/s',
    Math.round(outcome.summary!.rows / outcome.seconds),
  );
}
await dropTables(pair, TABLE);
await closePair(pair);
