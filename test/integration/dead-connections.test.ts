import '../support/quiet-functions.js';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  allowingTargetSilence,
  type ConnectionPair,
  closeSource,
  closeTarget,
  endpointFromUrl,
  openSource,
  openTarget,
} from '../../functions/core/connections.js';
import { copyRange } from '../../functions/core/copy-range.js';
import { TransientDatabaseError } from '../../functions/core/errors.js';
import { type PlanResult, plan } from '../../functions/core/plan.js';
import { sourceRangeRows } from '../../functions/core/range-rows.js';
import { describeSourceTable } from '../../functions/core/schema.js';
import { verifyRange } from '../../functions/core/verify-range.js';
import { seedUsers } from '../../infra/local/seed.js';
import { closePair, dropTables, openPair, SOURCE_URL, TARGET_URL } from '../support/databases.js';
import { within } from '../support/deadline.js';

const TABLE = 'it_dead_connections';
const SILENCE_MS = 1_000;

/**
 * A TCP proxy in front of a database that can go silent: it keeps every socket open but passes
 * nothing on, as a network that dropped the connection without a word does.
 */
async function silenceableProxy(url: string, side: 'source' | 'target') {
  const endpoint = endpointFromUrl(url, side);
  const sockets = new Set<net.Socket>();
  let silent = false;
  const server = net.createServer((client) => {
    const upstream = net.connect(endpoint.port, endpoint.host);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(from);
      from.on('error', () => {});
      from.on('data', (chunk) => {
        if (!silent) to.write(chunk);
      });
      from.on('close', () => to.destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxied = new URL(url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String((server.address() as net.AddressInfo).port);
  return {
    endpoint: endpointFromUrl(proxied.toString(), side),
    silence: () => {
      silent = true;
    },
    close: () => {
      server.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}

describe('a connection that dies, loudly or silently, ends the invocation within seconds as a transient fault', () => {
  let pair: ConnectionPair;
  let planned: PlanResult;
  before(async () => {
    process.env.DATABASE_SILENCE_MS = String(SILENCE_MS);
    pair = await openPair();
    await dropTables(pair, TABLE);
    await seedUsers(pair.source, { table: TABLE, rows: 3_000 });
    planned = await plan({ input: {}, runId: `it-dead-${process.pid}`, execution: 'local:it-dead' }, pair, {
      tables: [TABLE],
      chunkRows: 1_000,
      concurrency: 1,
    });
  });
  after(async () => {
    delete process.env.DATABASE_SILENCE_MS;
    await dropTables(pair, TABLE);
    await closePair(pair);
  });

  test('a target that goes silent while a query waits fails the query with ETIMEDOUT, classified transient', async () => {
    const proxy = await silenceableProxy(TARGET_URL, 'target');
    const target = await openTarget(proxy.endpoint);
    try {
      proxy.silence();
      const error = await within(
        5_000,
        'the silent target to be given up',
        target.query('SELECT 1').catch((e) => e),
      );
      assert.equal((error as { code?: string }).code, 'ETIMEDOUT', String(error));
    } finally {
      await closeTarget(target);
      proxy.close();
    }
  });

  test('a statement the server works on longer than the limit fails without an allowance, and finishes with one', async () => {
    const target = await openTarget(endpointFromUrl(TARGET_URL, 'target'));
    try {
      const slow = () => target.query(`SELECT pg_sleep(${(SILENCE_MS * 2) / 1000})`);
      const allowed = await within(10_000, 'the allowed statement', allowingTargetSilence(target, 10_000, slow));
      assert.equal(allowed.rowCount, 1);
      const error = await within(
        10_000,
        'the statement without an allowance',
        slow().catch((e) => e),
      );
      assert.equal((error as { code?: string }).code, 'ETIMEDOUT', String(error));
    } finally {
      await closeTarget(target);
    }
  });

  test('a source that goes silent under a row stream fails the stream, and an idle connection is not given up', async () => {
    const proxy = await silenceableProxy(SOURCE_URL, 'source');
    const source = await openSource(proxy.endpoint);
    try {
      // Idle for longer than the limit: nothing awaited, nothing held against it.
      await new Promise((resolve) => setTimeout(resolve, SILENCE_MS * 2));
      const description = await describeSourceTable(source, TABLE, pair.target);
      proxy.silence();
      const rows = sourceRangeRows(source, description, { lo: null, hi: null });
      const error = await within(
        5_000,
        'the silent source stream to fail',
        (async () => {
          for await (const _ of rows);
        })().catch((e) => e),
      );
      assert.equal((error as { code?: string }).code, 'ETIMEDOUT', String(error));
    } finally {
      await closeSource(source);
      proxy.close();
    }
  });

  test('a CopyRange whose target connection is killed records the failure on a fresh connection: the range is failed, not pending', async () => {
    const range = planned.ranges[1]!;
    const source = await openSource(endpointFromUrl(SOURCE_URL, 'source'));
    const target = await openTarget(endpointFromUrl(TARGET_URL, 'target'));
    const { rows } = await target.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    await pair.target.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
    try {
      const error = await within(
        5_000,
        'CopyRange to fail',
        copyRange(
          { runId: planned.runId, table: TABLE, range, policies: planned.policies },
          { source, target },
          undefined,
          () => openTarget(endpointFromUrl(TARGET_URL, 'target')),
        ).catch((e) => e),
      );
      assert.ok(error instanceof TransientDatabaseError, String(error));
      assert.equal(error.attempts, 1);
      const { rows: ledger } = await pair.target.query(
        'SELECT status, attempts FROM migration.ranges WHERE run_id = $1 AND range_index = $2',
        [planned.runId, range.index],
      );
      assert.deepEqual(ledger, [{ status: 'failed', attempts: 1 }]);
    } finally {
      await closePair({ source, target });
    }
  });

  test('a VerifyRange whose source connection the server killed fails as transient at once, recorded, with its target dropped', async () => {
    const range = planned.ranges[0]!;
    await copyRange({ runId: planned.runId, table: TABLE, range, policies: planned.policies }, pair);
    const source = await openSource(endpointFromUrl(SOURCE_URL, 'source'));
    const target = await openTarget(endpointFromUrl(TARGET_URL, 'target'));
    await pair.source.promise().query(`KILL CONNECTION ${source.threadId}`);
    // The client has heard the server close it: a query sent now would never be answered.
    await new Promise((resolve) => setTimeout(resolve, 100));
    try {
      const error = await within(
        5_000,
        'VerifyRange to fail',
        verifyRange({ runId: planned.runId, table: TABLE, range, policies: planned.policies }, { source, target }, () =>
          openTarget(endpointFromUrl(TARGET_URL, 'target')),
        ).catch((e) => e),
      );
      assert.ok(error instanceof TransientDatabaseError, String(error));
      const { rows: ledger } = await pair.target.query(
        'SELECT status FROM migration.ranges WHERE run_id = $1 AND range_index = $2',
        [planned.runId, range.index],
      );
      assert.deepEqual(ledger, [{ status: 'failed' }]);
      const backend = (target as unknown as { processID: number }).processID;
      await within(
        5_000,
        'the target side of the failed verification to be dropped',
        (async () => {
          for (;;) {
            const { rows } = await pair.target.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [backend]);
            if (rows.length === 0) return;
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        })(),
      );
    } finally {
      await closePair({ source, target });
    }
  });
});
