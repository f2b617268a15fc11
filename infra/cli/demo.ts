import { z } from 'zod';
import { closeSource, endpointFromUrl, openSource } from '../../functions/core/connections.js';
import { seedUsers } from '../local/seed.js';
import {
  LOCAL_SOURCE_URL,
  LOCAL_TARGET_URL,
  parseFlags,
  sourceUrlFlag,
  TLS_FLAGS,
  targetUrlFlag,
  tlsVariables,
  UsageError,
} from './flags.js';
import { main as migrate } from './migrate.js';

const USAGE =
  'Usage: npm run demo -- [--rows 50000] [--source mysql://...] [--target postgres://...] [--source-tls ...] [--target-tls ...] [--ca-bundle ...]';

const DEMO_FLAGS = {
  source: sourceUrlFlag().default(LOCAL_SOURCE_URL),
  target: targetUrlFlag().default(LOCAL_TARGET_URL),
  rows: z.coerce.number().int().positive().default(50_000),
  ...TLS_FLAGS,
};

/** Seeds a sparse-id demo `users` table in the source, then migrates it with the local workflow. */
async function main(argv: string[]): Promise<number> {
  let flags: z.infer<z.ZodObject<typeof DEMO_FLAGS>>;
  try {
    flags = parseFlags(argv, DEMO_FLAGS).flags;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`${error.message}\n${USAGE}`);
    return 2;
  }
  // The seeding connection and the migration's read them from the environment.
  Object.assign(process.env, tlsVariables(flags));
  const source = await openSource(endpointFromUrl(flags.source, 'source'));
  try {
    console.error(`Seeding ${flags.rows} rows into users (ids dense, then a gap of a billion, then every third id)...`);
    await seedUsers(source, { table: 'users', rows: flags.rows });
  } finally {
    await closeSource(source);
  }
  const chunkRows = String(Math.max(1000, Math.ceil(flags.rows / 8)));
  return migrate(['--source', flags.source, '--target', flags.target, '--table', 'users', '--chunk-rows', chunkRows]);
}

// A database that cannot be reached for seeding is one line, not a stack trace (migrate says its own).
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(`demo failed: ${error.name}: ${error.message}`);
    process.exit(1);
  },
);
