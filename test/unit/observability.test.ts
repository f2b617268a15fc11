import assert from 'node:assert/strict';
import { describe, mock, test } from 'node:test';
import { Logger } from '@aws-lambda-powertools/logger';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { observability } from '../../functions/middleware/observability.js';

// Development mode: the logger writes through the global console (which the test captures) and metrics are not printed.
process.env.POWERTOOLS_DEV = 'true';

const context = {
  functionName: 'CopyRange',
  awsRequestId: 'request-1',
  invokedFunctionArn: 'arn',
  memoryLimitInMB: '1024',
  functionVersion: '1',
} as Context;

function capture() {
  const lines: Record<string, unknown>[] = [];
  const record = (text: unknown) => void lines.push(JSON.parse(String(text)));
  for (const level of ['info', 'warn', 'error'] as const) mock.method(console, level, record);
  return lines;
}

describe('the observability middleware', () => {
  test('every log line carries the run id, table and range of the event, and the outcome is logged once', async (t) => {
    t.after(() => mock.restoreAll());
    const lines = capture();
    const logger = new Logger({ serviceName: 'test', logLevel: 'INFO' });
    const handler = middy<{ runId: string; table: string; range: object }, { rows: number }>()
      .use(observability({ step: 'CopyRange', logger }))
      .handler(async () => {
        logger.info('inside the handler');
        return { rows: 7 };
      });
    const range = { index: 2, lo: '10', hi: '20' };
    await handler({ runId: 'run-1', table: 'users', range }, context);
    assert.deepEqual(
      lines.map((line) => line.message),
      ['inside the handler', 'CopyRange finished'],
    );
    for (const line of lines) {
      assert.equal(line.runId, 'run-1');
      assert.equal(line.table, 'users');
      assert.deepEqual(line.range, range);
      assert.equal(line.function_request_id, 'request-1');
    }
    assert.deepEqual(lines[1]!.result, { rows: 7 });

    // The next invocation starts from its own keys only.
    lines.length = 0;
    await handler({ runId: 'run-2', table: 'orders' } as never, context);
    assert.equal(lines[1]!.runId, 'run-2');
    assert.equal(lines[1]!.range, undefined);

    // A binlog run's invocation names every table it applies changes to.
    lines.length = 0;
    await handler({ runId: 'run-3', tables: ['order-lines', 'users'] } as never, context);
    assert.deepEqual(lines[1]!.tables, ['order-lines', 'users']);
    assert.equal(lines[1]!.table, undefined);
  });

  // The metrics each function adds are proven on the real handlers (test/integration/handler-metrics.test.ts).
  test('a failure is logged with its error, and still thrown', async (t) => {
    t.after(() => mock.restoreAll());
    const lines = capture();
    const logger = new Logger({ serviceName: 'test', logLevel: 'INFO' });
    const handler = middy<{ runId: string }, { rows: number }>()
      .use(observability<{ runId: string }, { rows: number }>({ step: 'VerifyRange', logger }))
      .handler(async () => {
        throw Object.assign(new Error('users range [1, 2) differs'), { name: 'VerificationMismatchError' });
      });
    await assert.rejects(handler({ runId: 'run-3' }, context), { name: 'VerificationMismatchError' });
    const failure = lines.find((line) => line.message === 'VerifyRange failed')!;
    assert.equal(failure.runId, 'run-3');
    assert.match(JSON.stringify(failure.error), /VerificationMismatchError.*differs/);
  });
});
