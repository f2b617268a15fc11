import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import middy from '@middy/core';
import { classifyDatabaseError, TransientDatabaseError, ValueConversionError } from '../../functions/core/errors.js';
import { type CaughtRange, describeFailedBatch, failedBatchMessageSchema } from '../../functions/core/failed-batch.js';
import { DEFAULT_POLICIES } from '../../functions/core/policies.js';
import { rangeFailureError } from '../../functions/core/range-failure.js';
import { rangeFailureReport } from '../../functions/middleware/range-failure-report.js';

const NOW = new Date('2026-01-02T03:04:05.000Z');

/** What a Catch hands on: the Map item and `{Error, Cause}`, Cause as the Lambda runtime writes it. */
function caught(error: Error): CaughtRange {
  const reported = rangeFailureError(error);
  return {
    execution: 'arn:aws:states:eu-west-1:1:execution:Migration:run-1',
    runId: 'run-1',
    table: 'users',
    range: { index: 3, lo: '1000', hi: '2000' },
    policies: DEFAULT_POLICIES,
    error: {
      Error: reported.name,
      Cause: JSON.stringify({ errorType: reported.name, errorMessage: reported.message, trace: ['at x'] }),
    },
  };
}

describe('the failed-batch message', () => {
  test('carries the range, the error, the failing key and the attempts, and nothing of the row', () => {
    const error = new ValueConversionError(
      'users',
      'is_active',
      '1234',
      'tinyint(1) holds 2, which is neither 0 nor 1',
    );
    error.attempts = 2;
    const message = describeFailedBatch(caught(error), NOW);
    assert.deepEqual(message, {
      version: 1,
      execution: 'arn:aws:states:eu-west-1:1:execution:Migration:run-1',
      runId: 'run-1',
      table: 'users',
      range: { index: 3, lo: '1000', hi: '2000' },
      policies: DEFAULT_POLICIES,
      error: {
        name: 'ValueConversionError',
        message:
          'users.is_active at key 1234: the value cannot be represented in PostgreSQL (the ledger has the reason)',
      },
      key: '1234',
      attempts: 2,
      time: '2026-01-02T03:04:05.000Z',
    });
    assert.doesNotMatch(JSON.stringify(message), /holds 2/);
  });

  test('a row of a table keyed by a tuple is named by its key values; one of a table without a key by its place', () => {
    for (const key of ['(3, "Émile")', '(no key; row 12)']) {
      const message = describeFailedBatch(caught(new ValueConversionError('users', 'born', key, 'not a date')), NOW);
      assert.equal(message.key, key);
      assert.equal(
        message.error.message,
        `users.born at key ${key}: the value cannot be represented in PostgreSQL (the ledger has the reason)`,
      );
    }
  });

  test('a row the target refused is named by its key, with the constraint but not the value', () => {
    const refused = classifyDatabaseError(
      Object.assign(new Error('new row violates check constraint "users_name_check"'), {
        code: '23514',
        constraint: 'users_name_check',
        where: 'COPY users, line 7: "secret"',
      }),
      'target',
    );
    refused.failingKey = '1006';
    refused.attempts = 1;
    const message = describeFailedBatch(caught(refused), NOW);
    assert.equal(message.error.name, 'DataRejectedError');
    assert.equal(message.error.message, 'the target refused a row (SQLSTATE 23514, constraint users_name_check)');
    assert.equal(message.key, '1006');
    assert.doesNotMatch(JSON.stringify(message), /secret/);
  });

  test('a transient fault after its retries has no key; a failure outside CopyRange has no key or attempts', () => {
    const lost = new TransientDatabaseError('source: Connection lost (PROTOCOL_CONNECTION_LOST)');
    lost.attempts = 6;
    const message = describeFailedBatch(caught(lost), NOW);
    assert.deepEqual(
      [message.error, message.key, message.attempts],
      [{ name: 'TransientDatabaseError', message: lost.message }, null, 6],
    );

    const throttled = { ...caught(lost), error: { Error: 'Lambda.TooManyRequestsException', Cause: 'Rate Exceeded.' } };
    const outside = describeFailedBatch(throttled, NOW);
    assert.deepEqual(
      [outside.error, outside.key, outside.attempts],
      [{ name: 'Lambda.TooManyRequestsException', message: 'Rate Exceeded.' }, null, null],
    );

    const timedOut = { ...caught(lost), error: { Error: 'States.Timeout', Cause: null } };
    assert.equal(describeFailedBatch(timedOut, NOW).error.message, 'no cause was reported');
  });

  test('the schema is versioned and strict: no extra field can ride along', () => {
    const message = describeFailedBatch(caught(new TransientDatabaseError('x')), NOW);
    assert.ok(failedBatchMessageSchema.safeParse(message).success);
    assert.ok(!failedBatchMessageSchema.safeParse({ ...message, version: 2 }).success);
    assert.ok(!failedBatchMessageSchema.safeParse({ ...message, password: 'hunter2' }).success);
  });

  test('the CopyRange middleware keeps the error name, which Retry and Catch match', async () => {
    const handler = middy()
      .use(rangeFailureReport())
      .handler(async () => {
        const error = new TransientDatabaseError('target: Connection terminated unexpectedly');
        error.attempts = 3;
        throw error;
      });
    await assert.rejects(handler({}, {} as never), (error: Error) => {
      assert.equal(error.name, 'TransientDatabaseError');
      assert.deepEqual(JSON.parse(error.message), {
        message: 'target: Connection terminated unexpectedly',
        key: null,
        attempts: 3,
      });
      return true;
    });
  });
});
