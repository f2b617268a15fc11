import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { SOURCE_URL, TARGET_URL } from './databases.js';

export interface CliDatabases {
  source?: string;
  target?: string;
}

/** `npm run migrate` with these flags, as node's arguments: against the test databases unless others are given. */
export function migrateArgs(
  flags: string[],
  { source = SOURCE_URL, target = TARGET_URL }: CliDatabases = {},
): string[] {
  return ['--import', 'tsx', 'infra/cli/migrate.ts', '--source', source, '--target', target, ...flags];
}

/**
 * Runs `npm run migrate` to its end in a process of its own, without colours; rejects with its
 * exit `code`, `stdout` and `stderr` when it exits non-zero.
 */
export function runMigrate(flags: string[], databases?: CliDatabases) {
  return promisify(execFile)(process.execPath, migrateArgs(flags, databases), {
    env: { ...process.env, FORCE_COLOR: '0' },
  });
}

/** The summary `--json` prints, its last line of output. */
export function jsonSummary(stdout: string) {
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}
