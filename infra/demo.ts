import { parseArgs } from 'node:util';
import { closeSource, endpointFromUrl, openSource } from '../functions/core/connections.js';
import { seedUsers } from './local/seed.js';
import { main as migrate } from './migrate.js';

const { values } = parseArgs({
  options: {
    source: { type: 'string', default: 'mysql://root@127.0.0.1:3306/test' },
    target: { type: 'string', default: 'postgres://root@127.0.0.1:5432/test' },
    rows: { type: 'string', default: '50000' },
  },
});

/** Seeds a sparse-id demo `users` table in the source, then migrates it with the local workflow. */
const rows = Number(values.rows);
const source = await openSource(endpointFromUrl(values.source, 'source'));
try {
  console.error(`Seeding ${rows} rows into users (ids dense, then a gap of a billion, then every third id)...`);
  await seedUsers(source, { table: 'users', rows });
} finally {
  await closeSource(source);
}
process.exit(
  await migrate([
    '--source',
    values.source,
    '--target',
    values.target,
    '--table',
    'users',
    '--chunk-rows',
    String(Math.max(1000, Math.ceil(rows / 8))),
  ]),
);
