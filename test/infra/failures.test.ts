import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../infra/cdk/app.js';
import { STATE } from '../../infra/cdk/states.js';
import { type StateDefinition, synthesizeWorkflow } from '../../infra/local/definition.js';

const { stack } = buildApp({ 'aws:cdk:bundling-stacks': [] });
const template = Template.fromStack(stack);
const { definition } = synthesizeWorkflow();
const processor = definition.States[STATE.copyRanges]!.ItemProcessor!.States as Record<
  string,
  // biome-ignore lint/suspicious/noExplicitAny: a state's fields as the template's JSON has them
  StateDefinition & Record<string, any>
>;

function functionNamed(id: string): string {
  const [logicalId] = Object.entries(template.findResources('AWS::Lambda::Function')).find(([logical]) =>
    logical.startsWith(id),
  )!;
  return logicalId;
}

function policyActionsOf(functionId: string): string[] {
  const role = (
    template.findResources('AWS::Lambda::Function')[functionNamed(functionId)]!.Properties.Role as {
      'Fn::GetAtt': [string];
    }
  )['Fn::GetAtt'][0];
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy) => policy.Properties.Roles.some((r: { Ref: string }) => r.Ref === role))
    .flatMap((policy) =>
      policy.Properties.PolicyDocument.Statement.flatMap((s: { Action: string | string[] }) => s.Action),
    );
}

describe('the failure path of the workflow', () => {
  test('CopyRange retries transient faults and throttling with exponential backoff and full jitter, nothing else', () => {
    const retry = processor[STATE.copyRange]!.Retry as Record<string, unknown>[];
    const transient = retry.find((r) => (r.ErrorEquals as string[]).includes('TransientDatabaseError'))!;
    assert.deepEqual(transient.ErrorEquals, ['TransientDatabaseError']);
    assert.equal(transient.BackoffRate, 2);
    assert.equal(transient.JitterStrategy, 'FULL');
    assert.ok((transient.MaxAttempts as number) >= 3);
    assert.ok(retry.some((r) => (r.ErrorEquals as string[]).includes('Lambda.TooManyRequestsException')));
    for (const dataError of ['ValueConversionError', 'DataRejectedError', 'DatabaseError']) {
      assert.ok(
        !retry.some(
          (r) => (r.ErrorEquals as string[]).includes(dataError) || (r.ErrorEquals as string[]).includes('States.ALL'),
        ),
        dataError,
      );
    }
  });

  test('a task that times out is retried like a transient fault, but fewer times: each costs the full timeout', () => {
    const states: [string, StateDefinition | undefined][] = [
      [STATE.plan, definition.States[STATE.plan]],
      [STATE.readItems, definition.States[STATE.readItems]],
      [STATE.readFinalItems, definition.States[STATE.readFinalItems]],
      [STATE.copyRange, processor[STATE.copyRange]],
      [STATE.verifyRange, processor[STATE.verifyRange]],
      [STATE.summarize, definition.States[STATE.summarize]],
      [STATE.applyChanges, definition.States[STATE.applyChanges]],
      [
        STATE.verifyFinalRange,
        definition.States[STATE.finalVerification]!.ItemProcessor!.States[STATE.verifyFinalRange],
      ],
    ];
    for (const [name, state] of states) {
      const retry = (state!.Retry as Record<string, unknown>[]).find((r) =>
        (r.ErrorEquals as string[]).includes('States.Timeout'),
      );
      assert.ok(retry, `${name} retries States.Timeout`);
      assert.deepEqual(retry.ErrorEquals, ['States.Timeout', 'Sandbox.Timedout']);
      assert.ok((retry.MaxAttempts as number) >= 1 && (retry.MaxAttempts as number) <= 3, name);
      assert.equal(retry.JitterStrategy, 'FULL');
    }
  });

  test('describing and sending a failed range survive a hiccup, and a failure that still cannot be queued ends only its range', () => {
    const describe = processor[STATE.describeFailure]!;
    const send = processor[STATE.sendFailedBatch]!;
    const errorsOf = (state: StateDefinition) =>
      (state.Retry as { ErrorEquals: string[] }[]).flatMap((r) => r.ErrorEquals);
    assert.ok(errorsOf(describe).includes('Lambda.TooManyRequestsException'));
    assert.ok(errorsOf(describe).includes('States.ALL'));
    assert.ok(errorsOf(send).includes('States.ALL'));
    for (const state of [describe, send]) {
      const retry = (state.Retry as Record<string, unknown>[]).find((r) =>
        (r.ErrorEquals as string[]).includes('States.ALL'),
      )!;
      assert.ok((retry.MaxAttempts as number) >= 3);
      assert.deepEqual(state.Catch, [
        { ErrorEquals: ['States.ALL'], ResultPath: '$.notQueued', Next: STATE.failureNotQueued },
      ]);
    }
    // The child execution fails; the Map tolerates it and Summarize fails the run from the ledger.
    assert.equal(processor[STATE.failureNotQueued]!.Type, 'Fail');
  });

  test('whatever fails inside or around the Maps, the execution reaches Summarize, which releases the lease', () => {
    for (const map of [STATE.copyRanges, STATE.finalVerification]) {
      const state = definition.States[map]!;
      assert.equal(state.ToleratedFailurePercentage, 100, map);
      assert.deepEqual(state.Catch, [{ ErrorEquals: ['States.ALL'], ResultPath: '$.mapError', Next: STATE.summarize }]);
    }
    // Without a failure, the Map goes on to its next page of ranges, and after the last to Finish,
    // then Summarize; a Finish that fails goes to Summarize all the same.
    assert.equal(definition.States[STATE.copyRanges]!.Next, STATE.moreItems);
    assert.equal(definition.States[STATE.moreItems]!.Default, STATE.finish);
    assert.equal(definition.States[STATE.finish]!.Next, STATE.summarize);
    assert.deepEqual(definition.States[STATE.finish]!.Catch, [
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: STATE.summarize },
    ]);
  });

  test('the state machine has an overall timeout (context executionTimeoutHours), so the timed-out alarm can fire', () => {
    const [machine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
    const body = machine!.Properties.DefinitionString as { 'Fn::Join': [string, unknown[]] };
    const text = body['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : '')).join('');
    assert.match(text, /"TimeoutSeconds":86400[,}]/);
    assert.equal(definition.TimeoutSeconds, 24 * 3600);
    const shorter = synthesizeWorkflow({ executionTimeoutHours: 6 }).definition;
    assert.equal(shorter.TimeoutSeconds, 6 * 3600);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ExecutionsTimedOut' });
  });

  test('a run of given ranges waits for the run holding its table instead of skipping its ranges', () => {
    const retry = definition.States[STATE.plan]!.Retry as Record<string, unknown>[];
    assert.ok(
      retry.some((r) => (r.ErrorEquals as string[]).includes('TableBusyError') && (r.IntervalSeconds as number) >= 60),
    );
  });

  test('every CopyRange failure left after retries is described, then sent to the failed-batches queue', () => {
    const [caught] = processor[STATE.copyRange]!.Catch as { ErrorEquals: string[]; Next: string; ResultPath: string }[];
    assert.deepEqual(caught, { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: STATE.describeFailure });
    assert.equal(processor[STATE.describeFailure]!.Next, STATE.sendFailedBatch);
    assert.equal(processor[STATE.sendFailedBatch]!.Resource, 'arn:aws:states:::sqs:sendMessage');
    assert.equal(processor[STATE.sendFailedBatch]!.Parameters!['MessageBody.$'], '$');
  });

  test('a range CopyRange could not finish in one invocation loops back to CopyRange from its next key', () => {
    assert.equal(processor[STATE.copyRange]!.ResultPath, '$.copied');
    assert.equal(processor[STATE.copyRange]!.Next, STATE.rangeFinished);
    const choice = processor[STATE.rangeFinished]!;
    assert.deepEqual(choice.Choices, [{ Variable: '$.copied.next', IsPresent: true, Next: STATE.resumeRange }]);
    // Once the range is in whole, on to its verification (test/infra/verification-workflow.test.ts).
    assert.equal(choice.Default, STATE.verifyEnabled);
    assert.equal(processor[STATE.resumeRange]!.Next, STATE.copyRange);
    assert.deepEqual(processor[STATE.resumeRange]!.Parameters!.range, {
      'index.$': '$.range.index',
      'lo.$': '$.copied.next',
      'hi.$': '$.range.hi',
    });
  });

  test('the Redrive function may take messages off the queue and start executions, and reads no database secret', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ FAILED_BATCHES_QUEUE: Match.anyValue(), STATE_MACHINE_ARN: Match.anyValue() }),
      },
    });
    const actions = policyActionsOf('Redrive');
    for (const action of [
      'sqs:ReceiveMessage',
      'sqs:DeleteMessage',
      'sqs:ChangeMessageVisibility',
      'states:StartExecution',
    ]) {
      assert.ok(actions.includes(action), `${action} in ${actions.join(', ')}`);
    }
    assert.ok(!actions.includes('secretsmanager:GetSecretValue'));
    assert.ok(!policyActionsOf('DescribeFailure').includes('secretsmanager:GetSecretValue'));
    assert.ok(policyActionsOf('CopyRange').includes('secretsmanager:GetSecretValue'));
  });
});
