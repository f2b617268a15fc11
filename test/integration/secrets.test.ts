import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { inspect } from 'node:util';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { endpointFromUrl, openSource, openTarget } from '../../functions/core/connections.js';
import type { ConnectionPairContext } from '../../functions/middleware/connection-pair.js';
import { SOURCE_URL, TARGET_URL } from '../support/databases.js';

// A password no server knows, so the connections fail the way a wrong or rotated secret fails.
const PASSWORD = `pw-${randomUUID()}`;
const source = endpointFromUrl(SOURCE_URL, 'source');
const target = endpointFromUrl(TARGET_URL, 'target');
const secretsManager = mockClient(SecretsManagerClient);
const saved = { ...process.env };

before(() => {
  for (const key of ['SOURCE_URL', 'TARGET_URL', 'SOURCE_TLS', 'TARGET_TLS', 'SOURCE_HOST', 'TARGET_HOST'])
    delete process.env[key];
});
after(() => {
  process.env = saved;
  secretsManager.restore();
});

/** Everything the process writes while `run` runs (console, stdout, stderr), and what `run` threw. */
async function captured(run: () => Promise<unknown>): Promise<{ output: string; thrown: unknown }> {
  const chunks: string[] = [];
  const writes = { out: process.stdout.write, err: process.stderr.write };
  const capture = (chunk: unknown) => {
    chunks.push(String(chunk));
    return true;
  };
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  let thrown: unknown;
  try {
    await run();
  } catch (error) {
    thrown = error;
  } finally {
    process.stdout.write = writes.out;
    process.stderr.write = writes.err;
  }
  return { output: chunks.join(''), thrown };
}

/** Every form in which an error can reach a log, the Step Functions Cause or a queue message. */
function errorForms(error: unknown): string {
  const { name, message, stack } = error as Error;
  return [name, message, stack, inspect(error, { depth: 5, showHidden: true }), JSON.stringify(error)].join('\n');
}

function useSecrets(secrets: { source: string; target: string }): void {
  const ids = { source: `i8/source-${randomUUID()}`, target: `i8/target-${randomUUID()}` };
  secretsManager.reset();
  secretsManager.on(GetSecretValueCommand, { SecretId: ids.source }).resolves({ SecretString: secrets.source });
  secretsManager.on(GetSecretValueCommand, { SecretId: ids.target }).resolves({ SecretString: secrets.target });
  process.env.SOURCE_SECRET_ID = ids.source;
  process.env.TARGET_SECRET_ID = ids.target;
}

// The middleware fills in `connections`; the rest of Lambda's context is not read.
const lambdaContext = {
  functionName: 'Plan',
  awsRequestId: randomUUID(),
  getRemainingTimeInMillis: () => 60_000,
} as unknown as ConnectionPairContext;

test('a handler whose secrets hold a wrong password fails without the password in its error or its output', async () => {
  const rdsSecret = (endpoint: typeof source) =>
    JSON.stringify({
      host: endpoint.host,
      port: endpoint.port,
      username: 'secret_nobody',
      password: PASSWORD,
      dbname: endpoint.database,
    });
  useSecrets({ source: rdsSecret(source), target: rdsSecret(target) });
  const { handler } = await import('../../functions/plan/handler.js');
  const { output, thrown } = await captured(() =>
    handler({ input: {}, runId: 'run-secrets', execution: 'arn:local' }, lambdaContext),
  );

  assert.ok(thrown instanceof Error, 'the handler fails');
  assert.match((thrown as Error).message, /secret_nobody/, 'the error says who failed to log in');
  assert.equal(secretsManager.commandCalls(GetSecretValueCommand).length, 2);
  assert.ok(!errorForms(thrown).includes(PASSWORD), 'no password in the error');
  assert.ok(!output.includes(PASSWORD), 'no password in the output');
});

test('a secret that is not RDS secret JSON fails without its text in the error or the output', async () => {
  useSecrets({ source: `password=${PASSWORD}`, target: `{"password":"${PASSWORD}"` });
  const { handler } = await import('../../functions/summarize/handler.js');
  const { output, thrown } = await captured(() => handler({ runId: 'run-secrets' }, lambdaContext));
  assert.equal((thrown as Error).name, 'InputValidationError');
  assert.ok(!errorForms(thrown).includes(PASSWORD));
  assert.ok(!output.includes(PASSWORD));
});

test('with TLS required, a server without TLS is refused, never used in plain text', async () => {
  await assert.rejects(openSource({ ...source, tls: { mode: 'require' } }), /source: .*(secure|SSL|TLS)/i);
  await assert.rejects(openTarget({ ...target, tls: { mode: 'verify-full' } }), /target: .*SSL/i);
});
