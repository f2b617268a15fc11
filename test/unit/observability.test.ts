import assert from 'node:assert/strict';
import { describe, mock, test } from 'node:test';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
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
  });

  test('a failure is logged with its error and counted, and still thrown', async (t) => {
    t.after(() => mock.restoreAll());
    const lines = capture();
    const logger = new Logger({ serviceName: 'test', logLevel: 'INFO' });
    const metrics = new Metrics({ namespace: 'Test', serviceName: 'test', logger });
    const added = mock.method(metrics, 'addMetric');
    const handler = middy<{ runId: string }, { rows: number }>()
      .use(
        observability<{ runId: string }, { rows: number }>({
          step: 'VerifyRange',
          logger,
          metrics,
          measure: (result, m) => m.addMetric('RowsVerified', MetricUnit.Count, result.rows),
          measureError: (_error, m) => m.addMetric('RangeErrors', MetricUnit.Count, 1),
        }),
      )
      .handler(async () => {
        throw Object.assign(new Error('users range [1, 2) differs'), { name: 'VerificationMismatchError' });
      });
    await assert.rejects(handler({ runId: 'run-3' }, context), { name: 'VerificationMismatchError' });
    const failure = lines.find((line) => line.message === 'VerifyRange failed')!;
    assert.equal(failure.runId, 'run-3');
    assert.match(JSON.stringify(failure.error), /VerificationMismatchError.*differs/);
    assert.deepEqual(
      added.mock.calls.map((call) => call.arguments.slice(0, 2)),
      [['RangeErrors', MetricUnit.Count]],
    );
  });

  test('a success adds the metrics its result stands for', async () => {
    const metrics = new Metrics({ namespace: 'Test', serviceName: 'test', logger: new Logger({ logLevel: 'SILENT' }) });
    const added = mock.method(metrics, 'addMetric');
    const handler = middy<object, { rows: number; seconds: number }>()
      .use(
        observability<object, { rows: number; seconds: number }>({
          step: 'CopyRange',
          logger: new Logger({ logLevel: 'SILENT' }),
          metrics,
          measure: (result, m) =>
            m
              .addMetric('RowsCopied', MetricUnit.Count, result.rows)
              .addMetric('RangeSeconds', MetricUnit.Seconds, result.seconds),
        }),
      )
      .handler(async () => ({ rows: 1000, seconds: 1.5 }));
    await handler({}, context);
    assert.deepEqual(
      added.mock.calls.map((call) => call.arguments),
      [
        ['RowsCopied', MetricUnit.Count, 1000],
        ['RangeSeconds', MetricUnit.Seconds, 1.5],
      ],
    );
  });
});
