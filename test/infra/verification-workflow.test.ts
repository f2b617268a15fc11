import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { STATE } from '../../infra/cdk/states.js';
import { synthesizeWorkflow } from '../../infra/local/definition.js';

describe('VerifyRange in the workflow', () => {
  const workflow = synthesizeWorkflow();
  const map = workflow.definition.States[STATE.copyRanges]!;
  const states = map.ItemProcessor!.States;

  test('once a range is copied (all its parts), a Choice verifies it unless the input says verify: false', () => {
    assert.equal(states[STATE.rangeFinished]!.Default, STATE.verifyEnabled);
    const choice = states[STATE.verifyEnabled]!;
    assert.equal(choice.Type, 'Choice');
    assert.equal(choice.Default, STATE.plannedRange);
    assert.deepEqual(choice.Choices, [
      {
        And: [
          { Variable: '$.verify', IsPresent: true },
          { Variable: '$.verify', IsBoolean: true },
          { Variable: '$.verify', BooleanEquals: false },
        ],
        Next: STATE.verificationSkipped,
      },
    ]);
    assert.equal(states[STATE.verificationSkipped]!.Type, 'Succeed');
    assert.equal((map.ItemSelector as Record<string, string>)['verify.$'], '$.verify');
  });

  test('VerifyRange gets the range as planned, even after a continuation moved its start', () => {
    const itemSelector = map.ItemSelector as Record<string, unknown>;
    const itemRange = {
      'index.$': '$$.Map.Item.Value.index',
      'lo.$': '$$.Map.Item.Value.lo',
      'hi.$': '$$.Map.Item.Value.hi',
    };
    assert.deepEqual(itemSelector.planned, itemRange);
    assert.deepEqual(itemSelector.range, itemRange);
    assert.equal(itemSelector['table.$'], '$$.Map.Item.Value.table');
    const resume = states[STATE.resumeRange]!.Parameters as Record<string, unknown>;
    assert.equal(resume['planned.$'], '$.planned');
    assert.equal(resume['verify.$'], '$.verify');
    const planned = states[STATE.plannedRange]!;
    assert.deepEqual(
      { type: planned.Type, inputPath: planned.InputPath, resultPath: planned.ResultPath, next: planned.Next },
      {
        type: 'Pass',
        inputPath: '$.planned',
        resultPath: '$.range',
        next: STATE.verifyRange,
      },
    );
  });

  test('VerifyRange is its own function, retried and caught to the failed-batches queue as docs/FAILURES.md says', () => {
    const verify = states[STATE.verifyRange]!;
    const copy = states[STATE.copyRange]!;
    assert.equal(workflow.handlerEntries.get(verify.Resource!), 'functions/verify-range/handler.ts');
    assert.notEqual(verify.Resource, copy.Resource);
    // Written out from docs/FAILURES.md's table: the Lambda service's own faults (the CDK's
    // default for a Lambda task), transient database faults, and throttling.
    const documented = [
      {
        ErrorEquals: [
          'Lambda.ClientExecutionTimeoutException',
          'Lambda.ServiceException',
          'Lambda.AWSLambdaException',
          'Lambda.SdkClientException',
        ],
        IntervalSeconds: 2,
        MaxAttempts: 6,
        BackoffRate: 2,
      },
      {
        ErrorEquals: ['TransientDatabaseError'],
        IntervalSeconds: 2,
        MaxAttempts: 5,
        BackoffRate: 2,
        MaxDelaySeconds: 60,
        JitterStrategy: 'FULL',
      },
      {
        ErrorEquals: ['States.Timeout', 'Sandbox.Timedout'],
        IntervalSeconds: 5,
        MaxAttempts: 2,
        BackoffRate: 2,
        JitterStrategy: 'FULL',
      },
      {
        ErrorEquals: ['Lambda.TooManyRequestsException'],
        IntervalSeconds: 1,
        MaxAttempts: 8,
        BackoffRate: 2,
        MaxDelaySeconds: 60,
        JitterStrategy: 'FULL',
      },
    ];
    const caught = [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: STATE.describeFailure }];
    for (const task of [verify, copy]) {
      assert.deepEqual(task.Retry, documented);
      assert.deepEqual(task.Catch, caught);
      // Lambda's 15 minutes.
      assert.equal(task.TimeoutSeconds, 900);
      // No Parameters: each function gets the whole Map item (run, table, range, changes, policies).
      assert.equal(task.Parameters, undefined);
    }
    assert.equal(verify.End, true);
  });
});
