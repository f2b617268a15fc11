import '../support/quiet-functions.js';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import middy from '@middy/core';
import { type ConnectionPair, closeTarget, endpointFromUrl, openTarget } from '../../functions/core/connections.js';
import { ensureLedger } from '../../functions/core/ledger.js';
import { type ConnectionPairContext, connectionPair, type Side } from '../../functions/middleware/connection-pair.js';
import { lambdaContext } from '../../infra/local/lambda-context.js';
import { SOURCE_URL, TARGET_URL } from '../support/databases.js';

const urls = { source: SOURCE_URL, target: TARGET_URL };
/** A local invocation's context, before the middleware adds the connections. */
const invocation = <S extends Side>(functionName: string) => lambdaContext(functionName) as ConnectionPairContext<S>;
const saved = { ...process.env };

let control: ConnectionPair['target'];
before(async () => {
  control = await openTarget(endpointFromUrl(TARGET_URL, 'target'));
  await ensureLedger(control);
});
after(async () => {
  process.env = saved;
  await closeTarget(control);
});

/** This database's sessions the functions opened (they name themselves mysql-to-postgres). */
async function targetSessions(): Promise<number> {
  const { rows } = await control.query<{ n: string }>(
    `SELECT count(*) AS n FROM pg_stat_activity
      WHERE datname = current_database() AND application_name = 'mysql-to-postgres' AND pid <> pg_backend_pid()`,
  );
  return Number(rows[0]!.n);
}

test('with sides: [target] only the target is looked up and opened, and it is closed after the handler', async () => {
  const asked: Side[] = [];
  let connections: Partial<ConnectionPair> = {};
  const handler = middy<unknown, number, Error, ConnectionPairContext<'target'>>()
    .use(
      connectionPair({
        sides: ['target'],
        endpoint: async (side) => {
          asked.push(side);
          return endpointFromUrl(urls[side], side);
        },
      }),
    )
    .handler(async (_event, context) => {
      connections = context.connections;
      const { rows } = await context.connections.target.query<{ one: number }>('SELECT 1 AS one');
      return rows[0]!.one;
    });

  assert.equal(await handler({}, invocation('Summarize')), 1);
  assert.deepEqual(asked, ['target']);
  assert.deepEqual(Object.keys(connections), ['target']);
  await assert.rejects(connections.target!.query('SELECT 1'), 'the client was closed');
});

test('when one side cannot be opened, the side that did open is closed before the error leaves', async () => {
  const before = await targetSessions();
  const handler = middy<unknown, void, Error, ConnectionPairContext>()
    .use(
      connectionPair({
        endpoint: async (side) => {
          if (side === 'source') throw new Error('no source for this test');
          return endpointFromUrl(urls[side], side);
        },
      }),
    )
    .handler(async () => assert.fail('the handler must not run'));

  await assert.rejects(handler({}, invocation('Plan')), /no source for this test/);
  // The backend leaves pg_stat_activity a moment after the client has said goodbye.
  const deadline = Date.now() + 5_000;
  while ((await targetSessions()) > before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(await targetSessions(), before);
});

test('the Summarize handler needs no source: with none configured it reaches the ledger in the target', async () => {
  for (const key of ['SOURCE_URL', 'SOURCE_SECRET_ID', 'TARGET_SECRET_ID', 'TARGET_TLS', 'TARGET_HOST'])
    delete process.env[key];
  process.env.TARGET_URL = TARGET_URL;
  const { handler } = await import('../../functions/summarize/handler.js');
  await assert.rejects(
    handler({ runId: 'run-not-in-the-ledger' }, invocation('Summarize')),
    /Run run-not-in-the-ledger is not in the ledger/,
  );
});
