import assert from 'node:assert/strict';
import { after, afterEach, beforeEach, describe, test } from 'node:test';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { DEFAULT_POLICIES } from '../../functions/core/policies.js';
import { redrive } from '../../functions/core/redrive.js';
import { asMessage, failedBatch, STATE_MACHINE, startedInput } from '../support/failed-batches.js';

describe('redrive, against mocked SQS and Step Functions', () => {
  const sqsMock = mockClient(SQSClient);
  const sfnMock = mockClient(SFNClient);
  const targets = {
    sqs: new SQSClient({ region: 'eu-west-1' }),
    sfn: new SFNClient({ region: 'eu-west-1' }),
    queueUrl: 'https://queue',
    stateMachineArn: STATE_MACHINE,
  };

  beforeEach(() => {
    sqsMock.reset();
    sfnMock.reset();
    sqsMock
      .on(ReceiveMessageCommand)
      .resolvesOnce({
        Messages: [
          asMessage(failedBatch('users', 4, '400', '500'), 'a'),
          asMessage(failedBatch('orders', 1, '10', '20'), 'b'),
          asMessage(failedBatch('users', 1, '100', '200'), 'c'),
        ],
      })
      .resolvesOnce({
        Messages: [asMessage(failedBatch('users', 1, '100', '200'), 'd'), asMessage({ hello: 'world' }, 'e')],
      })
      .resolves({ Messages: [] });
    sqsMock.on(DeleteMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    sqsMock.on(ChangeMessageVisibilityBatchCommand).resolves({});
  });
  afterEach(() => {
    sqsMock.reset();
    sfnMock.reset();
  });
  after(() => {
    sqsMock.restore();
    sfnMock.restore();
  });

  test("starts one execution with exactly the table's ranges, then deletes its messages and puts the rest back", async () => {
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: 'arn:execution:1', startDate: new Date() });
    const result = await redrive({ table: 'users', concurrency: 2 }, targets, 0);

    assert.deepEqual(startedInput(sfnMock), [
      {
        table: 'users',
        concurrency: 2,
        policies: DEFAULT_POLICIES,
        ranges: [
          { lo: '100', hi: '200' },
          { lo: '400', hi: '500' },
        ],
      },
    ]);
    assert.match(sfnMock.commandCalls(StartExecutionCommand)[0]!.args[0].input.name!, /^redrive-users-[0-9a-f]{16}$/);
    assert.deepEqual(result, {
      execution: 'arn:execution:1',
      ranges: [
        { lo: '100', hi: '200' },
        { lo: '400', hi: '500' },
      ],
      messages: 3,
      leftOnQueue: 2,
      unreadable: 1,
    });

    const deleted = sqsMock
      .commandCalls(DeleteMessageBatchCommand)
      .flatMap((call) => call.args[0].input.Entries!.map((e) => e.ReceiptHandle));
    assert.deepEqual(deleted.sort(), ['receipt-a', 'receipt-c', 'receipt-d']);
    const released = sqsMock
      .commandCalls(ChangeMessageVisibilityBatchCommand)
      .flatMap((call) => call.args[0].input.Entries!);
    assert.deepEqual(released.map((e) => [e.ReceiptHandle, e.VisibilityTimeout]).sort(), [
      ['receipt-b', 0],
      ['receipt-e', 0],
    ]);
    // Deleting comes only after the start.
    const start = sfnMock.commandCalls(StartExecutionCommand)[0]!;
    assert.ok(sqsMock.commandCalls(DeleteMessageBatchCommand).every((call) => call.calledAfter(start)));
  });

  test('when the start fails, no message is deleted and every one is visible again', async () => {
    sfnMock.on(StartExecutionCommand).rejects(new Error('AccessDenied'));
    await assert.rejects(redrive({ table: 'users' }, targets, 0), /AccessDenied/);
    assert.equal(sqsMock.commandCalls(DeleteMessageBatchCommand).length, 0);
    const released = sqsMock
      .commandCalls(ChangeMessageVisibilityBatchCommand)
      .flatMap((call) => call.args[0].input.Entries!.map((e) => e.ReceiptHandle));
    assert.deepEqual(released.sort(), ['receipt-a', 'receipt-b', 'receipt-c', 'receipt-d', 'receipt-e']);
  });

  test('messages whose execution an earlier redrive already started are deleted without a second start', async () => {
    sfnMock.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'exists', $metadata: {} }));
    const result = await redrive({ table: 'users' }, targets, 0);
    assert.equal(sfnMock.commandCalls(StartExecutionCommand).length, 1);
    assert.match(result.execution!, /^arn:aws:states:eu-west-1:123456789012:execution:Migration:redrive-users-/);
    assert.equal(
      sqsMock.commandCalls(DeleteMessageBatchCommand).flatMap((call) => call.args[0].input.Entries).length,
      3,
    );
  });

  test("one execution has one set of policies: the latest failure's; the table's others wait for the next redrive", async () => {
    sqsMock.reset();
    sqsMock.on(ChangeMessageVisibilityBatchCommand).resolves({});
    sqsMock.on(DeleteMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    const older = {
      ...failedBatch('users', 7, '700', '800'),
      policies: { ...DEFAULT_POLICIES, zeroDates: 'fail' },
      time: '2026-01-01T00:00:00.000Z',
    };
    sqsMock
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [asMessage(older, 'old'), asMessage(failedBatch('users', 1, '100', '200'), 'new')] })
      .resolves({ Messages: [] });
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: 'arn:execution:2', startDate: new Date() });
    const result = await redrive({ table: 'users' }, targets, 0);
    assert.deepEqual(startedInput(sfnMock), [
      { table: 'users', policies: DEFAULT_POLICIES, ranges: [{ lo: '100', hi: '200' }] },
    ]);
    assert.deepEqual([result.messages, result.leftOnQueue], [1, 1]);
    const released = sqsMock
      .commandCalls(ChangeMessageVisibilityBatchCommand)
      .flatMap((call) => call.args[0].input.Entries!.map((e) => e.ReceiptHandle));
    assert.deepEqual(released, ['receipt-old']);
  });

  test('a table with nothing queued starts nothing and leaves every message', async () => {
    const result = await redrive({ table: 'invoices' }, targets, 0);
    assert.equal(result.execution, null);
    assert.equal(sfnMock.commandCalls(StartExecutionCommand).length, 0);
    assert.equal(sqsMock.commandCalls(DeleteMessageBatchCommand).length, 0);
    assert.equal(
      sqsMock.commandCalls(ChangeMessageVisibilityBatchCommand).flatMap((call) => call.args[0].input.Entries).length,
      5,
    );
  });

  test('a table of any MySQL name is redriven under an execution name Step Functions takes', async () => {
    sqsMock.reset();
    sqsMock
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [asMessage(failedBatch('Order Lines/größe', 0, null, '20'), 'x')] })
      .resolves({ Messages: [] });
    sqsMock.on(DeleteMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    sqsMock.on(ChangeMessageVisibilityBatchCommand).resolves({});
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: 'arn:execution:2', startDate: new Date() });
    await redrive({ table: 'Order Lines/größe' }, targets, 0);
    const { name, input } = sfnMock.commandCalls(StartExecutionCommand)[0]!.args[0].input;
    assert.match(name!, /^redrive-Order_Lines_gr__e-[0-9a-f]{16}$/);
    assert.equal(JSON.parse(input!).table, 'Order Lines/größe');
  });

  test('a table name MySQL cannot have is refused before the queue is touched', async () => {
    await assert.rejects(redrive({ table: 'x'.repeat(65) }, targets, 0), {
      name: 'InputValidationError',
      message: /"table" must be a MySQL name/,
    });
    assert.equal(sqsMock.calls().length, 0);
  });
});
