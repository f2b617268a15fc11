import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { beforeEach, describe, test } from 'node:test';
import {
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListMapRunsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { STACK_NAME } from '../../infra/cdk/app.js';
import type { OperatorIo } from '../../infra/cli/operator/command.js';
import { main } from '../../infra/cli/operator.js';

const STATE_MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:Migration';
const EXECUTION = 'arn:aws:states:eu-west-1:123456789012:execution:Migration:run-1';
const MAP_RUN = 'arn:aws:states:eu-west-1:123456789012:mapRun:Migration/CopyRanges:abc';
const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/FailedBatches';

const sfn = mockClient(SFNClient);
const sqs = mockClient(SQSClient);

/** Runs the CLI against the mocked clients, collecting what it writes. */
async function operator(argv: string[], outputs?: Record<string, string>) {
  const dir = mkdtempSync(path.join(tmpdir(), 'operator-'));
  const outputsFile = path.join(dir, 'cdk-outputs.json');
  if (outputs) writeFileSync(outputsFile, JSON.stringify({ [STACK_NAME]: outputs }));
  const out: string[] = [];
  const err: string[] = [];
  const sleeps: number[] = [];
  const io: OperatorIo = {
    sfn: new SFNClient({ region: 'eu-west-1' }),
    sqs: new SQSClient({ region: 'eu-west-1' }),
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    interactive: false,
    sleep: async (ms) => void sleeps.push(ms),
    outputsFile,
  };
  const code = await main(argv, io);
  return { code, out, err, sleeps };
}

beforeEach(() => {
  sfn.reset();
  sqs.reset();
});

describe('operator start', () => {
  test('starts the deployed state machine with the input built from the flags over --input', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate: new Date() });
    const run = await operator(
      ['start', '--input', '{"table":"orders","chunkRows":5000}', '--concurrency', '8', '--name', 'run-1'],
      { StateMachineArn: STATE_MACHINE },
    );
    assert.equal(run.code, 0, run.err.join('\n'));
    assert.deepEqual(run.out, [EXECUTION]);
    const calls = sfn.commandCalls(StartExecutionCommand);
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.args[0].input.stateMachineArn, STATE_MACHINE);
    assert.equal(calls[0]!.args[0].input.name, 'run-1');
    assert.deepEqual(JSON.parse(calls[0]!.args[0].input.input!), { table: 'orders', chunkRows: 5000, concurrency: 8 });
  });

  test("with no flags starts {}, which runs the stack's configured table", async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate: new Date() });
    const run = await operator(['start', '--state-machine', STATE_MACHINE]);
    assert.equal(run.code, 0, run.err.join('\n'));
    assert.equal(sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input.input, '{}');
  });

  test('refuses an invalid input, naming the flag or field, without calling Step Functions', async () => {
    for (const [argv, message] of [
      [['--chunk-rows', '0'], /--chunk-rows must be greater than 0/],
      [['--table', 'users '], /--table must be a MySQL name/],
      [['--input', '{"chunkrows":5}'], /unknown field "chunkrows"/],
      [['--input', '{"concurrency":2.5}'], /"concurrency" must be a whole number/],
      [['--input', 'table=users'], /--input is not JSON/],
    ] as const) {
      const run = await operator(['start', '--state-machine', STATE_MACHINE, ...argv]);
      assert.equal(run.code, 2, argv.join(' '));
      assert.match(run.err.join('\n'), message);
    }
    assert.equal(sfn.commandCalls(StartExecutionCommand).length, 0);
  });

  test('says how to name the state machine when neither the flag nor cdk-outputs.json gives it', async () => {
    const run = await operator(['start']);
    assert.equal(run.code, 2);
    assert.match(run.err.join('\n'), /--state-machine <arn>.*--outputs-file cdk-outputs\.json/s);
  });
});

describe('operator watch', () => {
  const items = (done: number, running: number) => ({
    pending: 10 - done - running,
    running,
    succeeded: done,
    failed: 0,
    timedOut: 0,
    aborted: 0,
    total: 10,
    resultsWritten: 0,
    failuresNotRedrivable: 0,
    pendingRedrive: 0,
  });

  test("follows Plan, then the map run's ranges, until the execution succeeds, and prints its output", async () => {
    sfn
      .on(DescribeExecutionCommand)
      .resolvesOnce({ executionArn: EXECUTION, status: 'RUNNING' })
      .resolvesOnce({ executionArn: EXECUTION, status: 'RUNNING' })
      .resolvesOnce({ executionArn: EXECUTION, status: 'RUNNING' })
      .resolves({ executionArn: EXECUTION, status: 'SUCCEEDED', output: '{"rows":240000,"ranges":10}' });
    sfn
      .on(ListMapRunsCommand)
      .resolvesOnce({ mapRuns: [] })
      .resolves({
        mapRuns: [
          { mapRunArn: MAP_RUN, executionArn: EXECUTION, stateMachineArn: STATE_MACHINE, startDate: new Date() },
        ],
      });
    sfn
      .on(DescribeMapRunCommand)
      .resolvesOnce({ mapRunArn: MAP_RUN, itemCounts: items(4, 4) })
      .resolvesOnce({ mapRunArn: MAP_RUN, itemCounts: items(8, 2) })
      .resolves({ mapRunArn: MAP_RUN, itemCounts: items(10, 0) });
    sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '0' } });

    const run = await operator(['watch', EXECUTION, '--interval', '2'], { FailedBatchesQueueUrl: QUEUE_URL });
    assert.equal(run.code, 0, run.err.join('\n'));
    assert.deepEqual(run.err.slice(1), [
      'RUNNING Plan: splitting the table into ranges | 0 on the failed-batches queue',
      'RUNNING CopyRanges 4/10 ranges (4 running, 0 failed) | 0 on the failed-batches queue',
      'RUNNING CopyRanges 8/10 ranges (2 running, 0 failed) | 0 on the failed-batches queue',
      'SUCCEEDED CopyRanges 10/10 ranges (0 running, 0 failed) | 0 on the failed-batches queue',
    ]);
    assert.deepEqual(run.out, ['{"rows":240000,"ranges":10}']);
    assert.deepEqual(run.sleeps, [2000, 2000, 2000]);
    assert.equal(sqs.commandCalls(GetQueueAttributesCommand)[0]!.args[0].input.QueueUrl, QUEUE_URL);
  });

  test('adds up the map runs of every page of ranges, of the total Plan planned, describing an ended one once', async () => {
    const ended = `${MAP_RUN}-1`;
    const running = `${MAP_RUN}-2`;
    const counts = (done: number, active: number, total: number) => ({
      ...items(0, 0),
      succeeded: done,
      running: active,
      total,
    });
    sfn
      .on(DescribeExecutionCommand)
      .resolvesOnce({ executionArn: EXECUTION, status: 'RUNNING' })
      .resolves({ executionArn: EXECUTION, status: 'SUCCEEDED', output: '{}' });
    sfn.on(GetExecutionHistoryCommand).resolves({
      events: [
        { id: 1, timestamp: new Date(), type: 'ExecutionStarted' },
        {
          id: 5,
          timestamp: new Date(),
          type: 'TaskStateExited',
          stateExitedEventDetails: { name: 'Plan', output: '{"runId":"r","items":2500}' },
        },
      ],
    });
    sfn.on(ListMapRunsCommand).resolves({
      mapRuns: [running, ended].map((mapRunArn) => ({
        mapRunArn,
        executionArn: EXECUTION,
        stateMachineArn: STATE_MACHINE,
        startDate: new Date(),
      })),
    });
    sfn
      .on(DescribeMapRunCommand, { mapRunArn: ended })
      .resolves({ mapRunArn: ended, status: 'SUCCEEDED', itemCounts: counts(1000, 0, 1000) });
    sfn
      .on(DescribeMapRunCommand, { mapRunArn: running })
      .resolvesOnce({ mapRunArn: running, status: 'RUNNING', itemCounts: counts(400, 8, 1000) })
      .resolves({ mapRunArn: running, status: 'RUNNING', itemCounts: counts(900, 8, 1000) });
    const run = await operator(['watch', EXECUTION, '--interval', '2']);
    assert.equal(run.code, 0, run.err.join('\n'));
    assert.deepEqual(run.err.slice(1), [
      'RUNNING CopyRanges 1400/2500 ranges (8 running, 0 failed)',
      'SUCCEEDED CopyRanges 1900/2500 ranges (8 running, 0 failed)',
    ]);
    const described = sfn.commandCalls(DescribeMapRunCommand).map((call) => call.args[0].input.mapRunArn);
    assert.deepEqual(described.filter((arn) => arn === ended).length, 1);
  });

  test('exits 1 with the error and cause when the execution fails', async () => {
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: EXECUTION,
      status: 'FAILED',
      error: 'RangesFailedError',
      cause: '1 of 10 ranges of users failed',
    });
    sfn.on(ListMapRunsCommand).resolves({
      mapRuns: [{ mapRunArn: MAP_RUN, executionArn: EXECUTION, stateMachineArn: STATE_MACHINE, startDate: new Date() }],
    });
    sfn.on(DescribeMapRunCommand).resolves({ mapRunArn: MAP_RUN, itemCounts: items(10, 0) });
    const run = await operator(['watch', EXECUTION]);
    assert.equal(run.code, 1);
    assert.equal(run.err.at(-1), 'FAILED: RangesFailedError: 1 of 10 ranges of users failed');
    assert.deepEqual(run.out, []);
  });

  test("without an ARN, watches the state machine's latest execution", async () => {
    sfn.on(ListExecutionsCommand).resolves({
      executions: [
        {
          executionArn: EXECUTION,
          stateMachineArn: STATE_MACHINE,
          name: 'run-1',
          status: 'SUCCEEDED',
          startDate: new Date(),
        },
      ],
    });
    sfn.on(DescribeExecutionCommand).resolves({ executionArn: EXECUTION, status: 'SUCCEEDED', output: '{}' });
    sfn.on(ListMapRunsCommand).resolves({ mapRuns: [] });
    const run = await operator(['watch'], { StateMachineArn: STATE_MACHINE });
    assert.equal(run.code, 0, run.err.join('\n'));
    assert.equal(sfn.commandCalls(ListExecutionsCommand)[0]!.args[0].input.stateMachineArn, STATE_MACHINE);
    assert.equal(sfn.commandCalls(DescribeExecutionCommand)[0]!.args[0].input.executionArn, EXECUTION);
  });
});

test('an unknown command or flag exits 2 with the usage', async () => {
  assert.equal((await operator(['launch'])).code, 2);
  const run = await operator(['watch', '--every', '3']);
  assert.equal(run.code, 2);
  assert.match(run.err.join('\n'), /Unknown option '--every'[\s\S]*Usage: npm run operator -- watch/);
});
