import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { DescribeExecutionCommand, ListMapRunsCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { main } from '../../infra/cli/operator.js';

const STATE_MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:Migration';
const EXECUTION = 'arn:aws:states:eu-west-1:123456789012:execution:Migration:cutover-1';

describe('operator cutover', () => {
  const sfn = mockClient(SFNClient);
  beforeEach(() => sfn.reset());

  async function cutover(...argv: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['cutover', '--state-machine', STATE_MACHINE, ...argv], {
      sfn: new SFNClient({ region: 'eu-west-1' }),
      sqs: new SQSClient({ region: 'eu-west-1' }),
      out: (line) => out.push(line),
      err: (line) => err.push(line),
      interactive: false,
      sleep: async () => {},
      outputsFile: '/nonexistent/cdk-outputs.json',
    });
    return { code, out, err };
  }

  test('starts {"mode": "cutover"} for the table, watches it, and prints the lag and the result', async () => {
    const summary = {
      table: 'users',
      ranges: 4,
      verifiedRanges: 4,
      changes: { to: { file: 'mysql-bin.000042', position: 1234, gtid: null }, lagSeconds: 0.4 },
    };
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate: new Date() });
    sfn
      .on(DescribeExecutionCommand)
      .resolvesOnce({ executionArn: EXECUTION, status: 'RUNNING' })
      .resolves({ executionArn: EXECUTION, status: 'SUCCEEDED', output: JSON.stringify(summary) });
    sfn.on(ListMapRunsCommand).resolves({ mapRuns: [] });
    const run = await cutover('--table', 'users', '--quiet-seconds', '30');
    assert.equal(run.code, 0, run.err.join('\n'));
    const input = JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input.input!);
    assert.deepEqual(input, { table: 'users', mode: 'cutover', quietSeconds: 30 });
    assert.deepEqual(run.out, [EXECUTION, JSON.stringify(summary)]);
    assert.equal(
      run.err.at(-1),
      'Cut-over of users: the last changes applied up to mysql-bin.000042:1234, lag 0.4 s; 4 of 4 ranges verified: the target is exact. Point the application at PostgreSQL.',
    );
  });

  test('exits 1 with the reason when the source still takes writes', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate: new Date() });
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: EXECUTION,
      status: 'FAILED',
      error: 'ChangesFailedError',
      cause:
        'WritesContinueError: The source still takes writes: 3 transactions changed 2 keys of users in the last 10 s',
    });
    sfn.on(ListMapRunsCommand).resolves({ mapRuns: [] });
    const run = await cutover();
    assert.equal(run.code, 1);
    assert.match(run.err.at(-1)!, /^FAILED: ChangesFailedError: WritesContinueError: The source still takes writes/);
  });

  test('takes no --mode: the mode is the command', async () => {
    const run = await cutover('--mode', 'full');
    assert.equal(run.code, 2);
    assert.match(run.err.join('\n'), /Unknown option '--mode'/);
    assert.equal(sfn.commandCalls(StartExecutionCommand).length, 0);
  });
});
