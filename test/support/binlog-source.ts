import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import {
  type ConnectionPair,
  closeSource,
  endpointFromUrl,
  openSource,
  openTarget,
} from '../../functions/core/connections.js';
import { ROOT } from '../../infra/root.js';
import { TARGET_URL } from './databases.js';

const SCRIPT = path.join(ROOT, '.ci', 'binlog-server.sh');

/**
 * The MariaDB that writes a ROW binary log: TEST_BINLOG_SOURCE_URL, or else the one
 * .ci/binlog-server.sh starts (or finds running) on this machine. Binlog tests never pass
 * without one: when it cannot be had, they fail saying how to get it.
 */
export function binlogSourceUrl(): string {
  if (process.env.TEST_BINLOG_SOURCE_URL) return process.env.TEST_BINLOG_SOURCE_URL;
  let printed: string;
  try {
    printed = execFileSync('bash', [SCRIPT], { encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(
      `The binlog tests need a MariaDB writing a ROW binary log, and ${SCRIPT} could not start one (it needs the mariadb-server ` +
        `package): ${stderr.trim() || (error as Error).message}. Start one with \`eval "$(bash .ci/binlog-server.sh)"\`, ` +
        'or set TEST_BINLOG_SOURCE_URL to a server with log_bin, binlog_format=ROW and binlog_row_image=FULL',
    );
  }
  const url = /TEST_BINLOG_SOURCE_URL=(\S+)/.exec(printed)?.[1];
  if (!url) throw new Error(`${SCRIPT} printed no TEST_BINLOG_SOURCE_URL: ${printed}`);
  process.env.TEST_BINLOG_SOURCE_URL = url;
  return url;
}

/** A connection pair with the binlog server as source and the test target database. */
export async function openBinlogPair(): Promise<ConnectionPair> {
  const [source, target] = await Promise.all([
    openSource(endpointFromUrl(binlogSourceUrl(), 'source')),
    openTarget(endpointFromUrl(TARGET_URL, 'target')),
  ]);
  return { source, target };
}

/** A second connection to the binlog server, for writing while a run holds the pair's own. */
export async function withBinlogSource<T>(
  work: (db: ReturnType<ConnectionPair['source']['promise']>) => Promise<T>,
): Promise<T> {
  const source = await openSource(endpointFromUrl(binlogSourceUrl(), 'source'));
  try {
    return await work(source.promise());
  } finally {
    await closeSource(source);
  }
}
