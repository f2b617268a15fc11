import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import type { FailedBatchMessage } from '../../functions/core/failed-batch.js';
import { STACK_NAME } from '../../infra/cdk/app.js';
import { main as operator } from '../../infra/cli/operator.js';
import { type LocalQueue, startLocalQueue } from '../../infra/local/queue.js';
import { failedBatch, STATE_MACHINE, startedInput } from '../support/failed-batches.js';

describe('operator redrive, against a real SQS API (fauxqs)', () => {
  let queue: LocalQueue;
  const sfn = mockClient(SFNClient);
  const err: string[] = [];
  const out: string[] = [];

  /** The CLI with the local queue's client and the stack's outputs file naming it. */
  async function redrive(...flags: string[]) {
    const outputsFile = path.join(mkdtempSync(path.join(tmpdir(), 'operator-')), 'cdk-outputs.json');
    writeFileSync(
      outputsFile,
      JSON.stringify({ [STACK_NAME]: { StateMachineArn: STATE_MACHINE, FailedBatchesQueueUrl: queue.queueUrl } }),
    );
    const io = {
      sfn: new SFNClient({ region: 'us-east-1' }),
      sqs: queue.sqs,
      out: (line: string) => out.push(line),
      err: (line: string) => err.push(line),
      interactive: false,
      sleep: async () => {},
      outputsFile,
    };
    return operator(['redrive', ...flags], io);
  }

  before(async () => {
    queue = await startLocalQueue();
  });
  after(async () => {
    sfn.restore();
    await queue.stop();
  });

  test('run twice with another table queued, it starts one execution and loses no message', async () => {
    for (const message of [
      failedBatch('users', 0, null, '100'),
      failedBatch('orders', 0, null, '7'),
      failedBatch('users', 2, '300', null),
    ]) {
      await queue.sqs.send(new SendMessageCommand({ QueueUrl: queue.queueUrl, MessageBody: JSON.stringify(message) }));
    }
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:execution:redrive', startDate: new Date() });

    assert.equal(await redrive('--table', 'users'), 0);
    assert.equal(await redrive('--table', 'users'), 0);

    assert.deepEqual(startedInput(sfn), [
      {
        table: 'users',
        ranges: [
          { lo: null, hi: '100' },
          { lo: '300', hi: null },
        ],
        policies: failedBatch('users', 0, null, null).policies,
      },
    ]);
    assert.deepEqual(out, ['arn:execution:redrive']);
    assert.match(err.at(-1)!, /No failed range of users waits on the queue \(1 messages of other tables stay there\)/);
    const left = (await queue.drain()) as FailedBatchMessage[];
    assert.deepEqual(
      left.map((m) => [m.table, m.range.hi]),
      [['orders', '7']],
    );
  });

  test('exits 2 naming the flag when the table is missing', async () => {
    assert.equal(await redrive(), 2);
    assert.match(err.join('\n'), /--table is required/);
  });
});
