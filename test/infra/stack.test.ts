import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../infra/cdk/app.js';
import { ENTRY_METADATA } from '../../infra/cdk/stack.js';
import { type StateDefinition, type SynthesizedWorkflow, synthesizeWorkflow } from '../../infra/local/definition.js';

// Bundling the handlers with esbuild is for deploys; the template is the same without it.
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

const templateFor = (context: Record<string, unknown> = {}): Template =>
  Template.fromStack(buildApp({ ...NO_BUNDLING, ...context }).stack);

/** The migration's functions (CDK's own custom resource handlers aside), as [logicalId, resource]. */
function migrationFunctions(template: Template): [string, { Properties: Record<string, unknown> }][] {
  return Object.entries(
    template.findResources('AWS::Lambda::Function', { Metadata: { [ENTRY_METADATA]: Match.anyValue() } }),
  ) as [string, { Properties: Record<string, unknown> }][];
}

/** The one resource of `type` in the template, as [logicalId, resource]. */
function only(template: Template, type: string): [string, { Properties: Record<string, unknown> }] {
  const found = Object.entries(template.findResources(type));
  assert.equal(found.length, 1, `one ${type}`);
  return found[0] as [string, { Properties: Record<string, unknown> }];
}

describe('the default stack (no optional context)', () => {
  let template: Template;
  let workflow: SynthesizedWorkflow;
  let states: Record<string, StateDefinition>;
  let copyRanges: StateDefinition;
  let inner: Record<string, StateDefinition>;

  before(() => {
    template = templateFor();
    workflow = synthesizeWorkflow();
    states = workflow.definition.States;
    copyRanges = states.CopyRanges!;
    inner = copyRanges.ItemProcessor!.States;
  });

  test('the workflow starts at Plan, which leads to CopyRanges (unless the run applies the binary log), then Finish and Summarize, which ends it', () => {
    assert.equal(workflow.definition.StartAt, 'Plan');
    assert.equal(states.Plan!.Next, 'ChangesOrRanges');
    assert.equal(states.ChangesOrRanges!.Default, 'FirstItems');
    assert.equal(states.FirstItems!.Next, 'ReadItems');
    assert.equal(states.ReadItems!.Next, 'CopyRanges');
    assert.equal(copyRanges.Next, 'MoreItems');
    assert.equal(states.MoreItems!.Default, 'Finish');
    assert.equal(states.Finish!.Next, 'Summarize');
    assert.equal(states.Summarize!.End, true);
  });

  test('the items reach CopyRanges a page at a time from the ledger: ReadItems from $.page.next, looping until no next', () => {
    // Plan's output carries the item count, never the items: 10^5 ranges would not fit 256 KiB.
    assert.deepEqual(states.FirstItems, { Type: 'Pass', Result: { next: 0 }, ResultPath: '$.page', Next: 'ReadItems' });
    const read = states.ReadItems!;
    assert.equal(workflow.handlerEntries.get(read.Resource!), 'functions/read-items/handler.ts');
    assert.deepEqual(read.Parameters, { 'runId.$': '$.runId', 'from.$': '$.page.next' });
    assert.equal(read.ResultPath, '$.page');
    assert.ok(
      (read.Retry as { ErrorEquals: string[] }[]).some((r) => r.ErrorEquals.includes('TransientDatabaseError')),
    );
    // A page that cannot be read still ends the run in Summarize, which fails it and frees the table.
    assert.deepEqual(read.Catch, [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Summarize' }]);
    assert.deepEqual(states.MoreItems!.Choices, [{ Variable: '$.page.next', IsPresent: true, Next: 'ReadItems' }]);
  });

  test('a Plan that finds its table held by another run ends in AlreadyRunning, a success that keeps the reason', () => {
    assert.deepEqual(states.Plan!.Catch, [
      { ErrorEquals: ['RunInProgressError'], ResultPath: '$.alreadyRunning', Next: 'AlreadyRunning' },
    ]);
    assert.equal(states.AlreadyRunning!.Type, 'Succeed');
  });

  test("each range is told which rows changed: an incremental run's changes, null in a full run", () => {
    assert.equal((copyRanges.ItemSelector as Record<string, unknown>)['changes.$'], '$$.Map.Item.Value.changes');
  });

  test("every range gets the run's value policies from Plan's output", () => {
    assert.equal((copyRanges.ItemSelector as Record<string, unknown>)['policies.$'], '$.policies');
  });

  test('CopyRanges is a Distributed Map of STANDARD children over the page, its concurrency from $.concurrency', () => {
    assert.equal(copyRanges.Type, 'Map');
    assert.deepEqual((copyRanges.ItemProcessor as { ProcessorConfig?: unknown }).ProcessorConfig, {
      Mode: 'DISTRIBUTED',
      ExecutionType: 'STANDARD',
    });
    assert.equal(copyRanges.ItemsPath, '$.page.items');
    // Neither ItemReader nor ItemBatcher: the local engine does not execute them.
    assert.equal(copyRanges.ItemReader, undefined);
    assert.equal(copyRanges.MaxConcurrencyPath, '$.concurrency');
    assert.equal(copyRanges.MaxConcurrency, undefined, 'no fixed concurrency overrides the input');
    assert.equal(copyRanges.ItemProcessor!.StartAt, 'CopyRange');
    // Results live in the ledger; a Map output growing with the range count would hit the 256 KiB limit.
    assert.equal(copyRanges.ResultPath, null);
  });

  test('each CopyRange invokes the copy-range handler', () => {
    const copyRange = inner.CopyRange!;
    assert.equal(copyRange.Type, 'Task');
    assert.equal(workflow.handlerEntries.get(copyRange.Resource!), 'functions/copy-range/handler.ts');
    assert.equal(workflow.handlerEntries.get(states.Plan!.Resource!), 'functions/plan/handler.ts');
    assert.equal(workflow.handlerEntries.get(states.Summarize!.Resource!), 'functions/summarize/handler.ts');
  });

  test('CopyRange retries TransientDatabaseError with exponential backoff and full jitter, and nothing else of ours', () => {
    const retries = inner.CopyRange!.Retry as {
      ErrorEquals: string[];
      BackoffRate?: number;
      JitterStrategy?: string;
      MaxAttempts?: number;
    }[];
    const transient = retries.find((retry) => retry.ErrorEquals.includes('TransientDatabaseError'));
    assert.ok(transient, 'a Retry on TransientDatabaseError');
    assert.equal(transient.BackoffRate, 2);
    assert.equal(transient.JitterStrategy, 'FULL');
    assert.ok((transient.MaxAttempts ?? 3) > 1);
    const retried = retries.flatMap((retry) => retry.ErrorEquals);
    for (const permanent of [
      'States.ALL',
      'DataRejectedError',
      'ValueConversionError',
      'DatabaseError',
      'SchemaError',
    ]) {
      assert.ok(!retried.includes(permanent), `${permanent} must not be retried`);
    }
  });

  test('a CopyRange that still fails is caught (States.ALL) into DescribeFailure, then SendFailedBatch, an SQS send to the failed-batches queue', () => {
    const catches = inner.CopyRange!.Catch as { ErrorEquals: string[]; Next: string; ResultPath?: string }[];
    assert.deepEqual(
      catches.map((c) => [c.ErrorEquals, c.Next]),
      [[['States.ALL'], 'DescribeFailure']],
    );
    assert.equal(catches[0]!.ResultPath, '$.error', 'the error travels with the range into the message');
    assert.equal(inner.DescribeFailure!.Next, 'SendFailedBatch');
    const send = inner.SendFailedBatch!;
    assert.equal(send.Resource, 'arn:aws:states:::sqs:sendMessage');
    const [queueId] = only(template, 'AWS::SQS::Queue');
    assert.equal(workflow.queues.get(send.Parameters!.QueueUrl as string), queueId, 'sends to the stack’s own queue');
    // The message is the one DescribeFailure built (failedBatchMessageSchema), the range's policies in it.
    assert.equal(send.Parameters!['MessageBody.$'], '$');
  });

  test('the state machine may send to the failed-batches queue', () => {
    const [queueId] = only(template, 'AWS::SQS::Queue');
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'sqs:SendMessage',
            Effect: 'Allow',
            Resource: { 'Fn::GetAtt': [queueId, 'Arn'] },
          }),
        ]),
      },
    });
  });

  test('there are ten functions (Plan, ReadItems, CopyRange, VerifyRange, DescribeFailure, Finish, Summarize, Redrive, ApplyChanges, RunStopped), all on the nodejs22.x runtime', () => {
    const functions = migrationFunctions(template);
    assert.deepEqual(functions.map(([id]) => id.replace(/[0-9A-F]{8}$/, '')).sort(), [
      'ApplyChanges',
      'CopyRange',
      'DescribeFailure',
      'Finish',
      'Plan',
      'ReadItems',
      'Redrive',
      'RunStopped',
      'Summarize',
      'VerifyRange',
    ]);
    for (const [, fn] of functions) assert.equal(fn.Properties.Runtime, 'nodejs22.x');
  });

  test('an execution that stops without Summarize (stopped, timed out, failed) invokes RunStopped with its run id', () => {
    const [runStopped] = migrationFunctions(template).find(([id]) => id.startsWith('RunStopped'))!;
    const [machine] = Object.keys(template.findResources('AWS::StepFunctions::StateMachine'));
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: { status: ['ABORTED', 'TIMED_OUT', 'FAILED'], stateMachineArn: [{ Ref: machine }] },
      },
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [runStopped, 'Arn'] },
          InputTransformer: {
            InputPathsMap: { 'detail-name': '$.detail.name' },
            InputTemplate: '{"runId":<detail-name>}',
          },
          RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 8 },
        }),
      ],
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [runStopped, 'Arn'] },
      Principal: 'events.amazonaws.com',
    });
  });

  test('without vpcId the functions run in a VPC the stack creates', () => {
    template.resourceCountIs('AWS::EC2::VPC', 1);
    for (const [, fn] of migrationFunctions(template)) assert.ok(fn.Properties.VpcConfig);
  });

  test('the failed-batches queue is encrypted with SQS-managed keys and keeps messages 14 days', () => {
    const [, queue] = only(template, 'AWS::SQS::Queue');
    assert.equal(queue.Properties.SqsManagedSseEnabled, true);
    assert.equal(queue.Properties.MessageRetentionPeriod, 1_209_600);
  });

  test('the queue policy denies any access without TLS (aws:SecureTransport false)', () => {
    const [queueId] = only(template, 'AWS::SQS::Queue');
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sqs:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  test('without schedule context there is no schedule, and no dead-letter queue for one', () => {
    template.resourceCountIs('AWS::Scheduler::Schedule', 0);
    assert.deepEqual(scheduledRules(template), []);
    template.resourceCountIs('AWS::SQS::Queue', 1);
  });

  test('the stack outputs StateMachineArn and FailedBatchesQueueUrl', () => {
    const [machineId] = only(template, 'AWS::StepFunctions::StateMachine');
    const [queueId] = only(template, 'AWS::SQS::Queue');
    template.hasOutput('StateMachineArn', { Value: { Ref: machineId } });
    template.hasOutput('FailedBatchesQueueUrl', { Value: { Ref: queueId } });
  });
});

describe('optional context', () => {
  test('schedule \'rate(1 day)\' adds one EventBridge Scheduler schedule starting an incremental run: input {"mode": "incremental"}', () => {
    const template = templateFor({ schedule: 'rate(1 day)' });
    const [machineId] = only(template, 'AWS::StepFunctions::StateMachine');
    const [, schedule] = only(template, 'AWS::Scheduler::Schedule');
    assert.deepEqual(scheduledRules(template), []);
    assert.equal(schedule.Properties.ScheduleExpression, 'rate(1 day)');
    assert.equal(schedule.Properties.State, 'ENABLED');
    const target = schedule.Properties.Target as { Arn: unknown; Input: string };
    assert.deepEqual(target.Arn, { Ref: machineId });
    assert.deepEqual(JSON.parse(target.Input), { mode: 'incremental' });
  });

  test('a schedule starts on time, in UTC unless scheduleTimeZone says otherwise', () => {
    const [, utc] = only(templateFor({ schedule: 'cron(0 3 * * ? *)' }), 'AWS::Scheduler::Schedule');
    assert.deepEqual(utc.Properties.FlexibleTimeWindow, { Mode: 'OFF' });
    assert.equal(utc.Properties.ScheduleExpressionTimezone, 'UTC');
    const [, paris] = only(
      templateFor({ schedule: 'cron(0 3 * * ? *)', scheduleTimeZone: 'Europe/Paris' }),
      'AWS::Scheduler::Schedule',
    );
    assert.equal(paris.Properties.ScheduleExpressionTimezone, 'Europe/Paris');
  });

  test('a start Scheduler cannot deliver is retried for an hour, then kept on a dead-letter queue of its own', () => {
    const template = templateFor({ schedule: 'rate(1 hour)' });
    const [, schedule] = only(template, 'AWS::Scheduler::Schedule');
    const target = schedule.Properties.Target as Record<string, { Arn?: unknown }>;
    assert.deepEqual(target.RetryPolicy, { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 10 });
    const [deadLettersId, deadLetters] = Object.entries(template.findResources('AWS::SQS::Queue')).find(([id]) =>
      id.startsWith('ScheduleDeadLetters'),
    )!;
    assert.deepEqual(target.DeadLetterConfig!.Arn, { 'Fn::GetAtt': [deadLettersId, 'Arn'] });
    assert.equal(deadLetters.Properties.SqsManagedSseEnabled, true);
    assert.equal(deadLetters.Properties.MessageRetentionPeriod, 1_209_600);
  });

  test('fullSchedule adds a second schedule starting a full run, which reconciles deletes', () => {
    const template = templateFor({ schedule: 'rate(1 hour)', fullSchedule: 'cron(0 3 ? * SUN *)' });
    template.resourceCountIs('AWS::Scheduler::Schedule', 2);
    template.resourceCountIs('AWS::SQS::Queue', 2);
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 hour)',
      Target: Match.objectLike({ Input: JSON.stringify({ mode: 'incremental' }) }),
    });
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 3 ? * SUN *)',
      Description: Match.stringLikeRegexp('removing rows deleted from the source'),
      Target: Match.objectLike({ Input: JSON.stringify({ mode: 'full' }) }),
    });
  });

  test('vpcId with subnetIds (comma-separated, as -c gives them) and securityGroupIds puts every function in that VPC', () => {
    const template = templateFor({
      vpcId: 'vpc-0123456789abcdef0',
      subnetIds: 'subnet-0aaaaaaaaaaaaaaaa, subnet-0bbbbbbbbbbbbbbbb',
      securityGroupIds: ['sg-0cccccccccccccccc'],
    });
    template.resourcePropertiesCountIs(
      'AWS::Lambda::Function',
      {
        VpcConfig: {
          SubnetIds: ['subnet-0aaaaaaaaaaaaaaaa', 'subnet-0bbbbbbbbbbbbbbbb'],
          SecurityGroupIds: ['sg-0cccccccccccccccc'],
        },
      },
      10,
    );
  });
});

test("the context's chunkBytes (256 MiB when absent) is every function's DEFAULT_CHUNK_BYTES", () => {
  for (const [context, bytes] of [
    [{}, String(256 * 1024 * 1024)],
    [{ chunkBytes: '67108864' }, '67108864'],
  ] as const) {
    const functions = migrationFunctions(templateFor(context));
    assert.ok(functions.length > 0);
    for (const [id, fn] of functions) {
      const env = (fn.Properties.Environment as { Variables: Record<string, string> }).Variables;
      assert.equal(env.DEFAULT_CHUNK_BYTES, bytes, id);
    }
  }
});

describe('invalid context is refused before anything is built, naming the key', () => {
  const CASES: [context: Record<string, unknown>, key: RegExp][] = [
    [{ schedule: 'daily' }, /"schedule"/],
    [{ fullSchedule: 'every sunday' }, /"fullSchedule"/],
    [{ schedule: 'rate(1 hour)', scheduleTimeZone: 'Mars/Olympus_Mons' }, /"scheduleTimeZone"/],
    [{ vpcId: 'vpc-0123456789abcdef0' }, /"subnetIds"/],
    [{ subnetIds: 'subnet-0aaaaaaaaaaaaaaaa' }, /"vpcId"/],
    [{ chunkRows: 0 }, /"chunkRows"/],
    [{ chunkRows: 'many' }, /"chunkRows"/],
    [{ chunkBytes: 4096 }, /"chunkBytes" must be at least 1048576/],
    [{ concurrency: '5000' }, /"concurrency"/],
    [{ table: 'trailing space ' }, /"table" must be a MySQL name/],
    [{ tables: 'users,orders', table: 'users' }, /"table" or "tables", not both/],
  ];
  for (const [context, key] of CASES) {
    test(`${JSON.stringify(context)} throws naming ${key.source}`, () => {
      assert.throws(
        () => buildApp({ ...NO_BUNDLING, ...context }),
        (error: unknown) => error instanceof Error && key.test(error.message),
      );
    });
  }
});

/** EventBridge rules on a schedule: none, the schedules are EventBridge Scheduler's. */
function scheduledRules(template: Template): string[] {
  return Object.entries(template.findResources('AWS::Events::Rule'))
    .filter(([, rule]) => rule.Properties.ScheduleExpression !== undefined)
    .map(([id]) => id);
}
