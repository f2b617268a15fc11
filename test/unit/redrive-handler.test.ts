import '../support/quiet-functions.js';
import assert from 'node:assert/strict';
import { after, afterEach, describe, test } from 'node:test';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { handler } from '../../functions/redrive/handler.js';
import { lambdaContext } from '../../infra/local/lambda-context.js';
import { asMessage, failedBatch, STATE_MACHINE } from '../support/failed-batches.js';

const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/FailedBatches';

describe('the Redrive Lambda, invoked as the console or `aws lambda invoke` would', () => {
  const sqs = mockClient(SQSClient);
  const sfn = mockClient(SFNClient);
  const invoke = (event: unknown) => handler(event as never, lambdaContext('Redrive'));

  afterEach(() => {
    sqs.reset();
    sfn.reset();
    delete process.env.FAILED_BATCHES_QUEUE;
    delete process.env.STATE_MACHINE_ARN;
  });
  after(() => {
    sqs.restore();
    sfn.restore();
  });

  test('starts one execution of the table’s queued ranges on the stack’s state machine, then deletes their messages', async () => {
    process.env.FAILED_BATCHES_QUEUE = QUEUE;
    process.env.STATE_MACHINE_ARN = STATE_MACHINE;
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({
        Messages: [
          asMessage(failedBatch('users', 3, '300', '400'), 'm1'),
          asMessage(failedBatch('orders', 0, null, '10'), 'm2'),
        ],
      })
      .resolves({ Messages: [] });
    sqs.on(DeleteMessageBatchCommand).resolves({ Successful: [{ Id: '0' }], Failed: [] });
    sqs.on(ChangeMessageVisibilityBatchCommand).resolves({});
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:x' });

    const result = await invoke({ table: 'users', concurrency: 2 });

    assert.deepEqual(result, {
      execution: 'arn:aws:states:eu-west-1:123456789012:execution:x',
      ranges: [{ lo: '300', hi: '400' }],
      messages: 1,
      leftOnQueue: 1,
      unreadable: 0,
    });
    assert.ok(sqs.commandCalls(ReceiveMessageCommand).every((call) => call.args[0].input.QueueUrl === QUEUE));
    const [start] = sfn.commandCalls(StartExecutionCommand);
    assert.equal(start!.args[0].input.stateMachineArn, STATE_MACHINE);
    assert.deepEqual(JSON.parse(start!.args[0].input.input!), {
      table: 'users',
      ranges: [{ lo: '300', hi: '400' }],
      policies: { zeroDates: 'null', nulBytes: 'fail', tinyint1: 'fail', emptyEnum: 'keep', spatial: 'bytea' },
      concurrency: 2,
    });
    const [deleted] = sqs.commandCalls(DeleteMessageBatchCommand);
    assert.deepEqual(deleted!.args[0].input, { QueueUrl: QUEUE, Entries: [{ Id: '0', ReceiptHandle: 'receipt-m1' }] });
    const [released] = sqs.commandCalls(ChangeMessageVisibilityBatchCommand);
    assert.deepEqual(released!.args[0].input.Entries, [{ Id: '0', ReceiptHandle: 'receipt-m2', VisibilityTimeout: 0 }]);
  });

  test('without the stack’s queue and state machine in its environment, it fails naming both and touches nothing', async () => {
    await assert.rejects(invoke({ table: 'users' }), {
      name: 'InputValidationError',
      message: /FAILED_BATCHES_QUEUE and STATE_MACHINE_ARN/,
    });
    assert.equal(sqs.calls().length + sfn.calls().length, 0);
  });

  test('a request that is not a table name is refused before the queue is read', async () => {
    process.env.FAILED_BATCHES_QUEUE = QUEUE;
    process.env.STATE_MACHINE_ARN = STATE_MACHINE;
    await assert.rejects(invoke({ table: 'users ' }), {
      name: 'InputValidationError',
      message: /Invalid redrive request: "table" must be a MySQL name/,
    });
    await assert.rejects(invoke({ table: 'users', extra: 1 }), { name: 'InputValidationError' });
    assert.equal(sqs.calls().length + sfn.calls().length, 0);
  });
});
