import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { synthesizeWorkflow } from '../../infra/local/definition.js';
import { STATE } from '../../infra/states.js';

describe('VerifyRange in the workflow', () => {
  const workflow = synthesizeWorkflow();
  const processor = workflow.definition.States[STATE.copyRanges]!.ItemProcessor!;
  const states = processor.States;

  test('each Map item runs CopyRange, then a Choice that verifies unless the input says verify: false', () => {
    assert.equal(processor.StartAt, STATE.copyRange);
    assert.equal(states[STATE.copyRange]!.Next, STATE.verifyEnabled);
    assert.equal(states[STATE.copyRange]!.ResultPath, '$.copied');
    const choice = states[STATE.verifyEnabled]!;
    assert.equal(choice.Type, 'Choice');
    assert.equal(choice.Default, STATE.verifyRange);
    assert.deepEqual(choice.Choices, [
      { And: [{ Variable: '$.verify', IsPresent: true }, { Variable: '$.verify', BooleanEquals: false }], Next: STATE.verificationSkipped },
    ]);
    assert.equal(states[STATE.verificationSkipped]!.Type, 'Succeed');
    assert.equal((workflow.definition.States[STATE.copyRanges]!.ItemSelector as Record<string, string>)['verify.$'], '$.verify');
  });

  test('VerifyRange is its own function, retried on transient faults and caught to the failed-batches queue like CopyRange', () => {
    const verify = states[STATE.verifyRange]!;
    const copy = states[STATE.copyRange]!;
    assert.equal(workflow.handlerEntries.get(verify.Resource!), 'functions/verify-range/handler.ts');
    assert.notEqual(verify.Resource, copy.Resource);
    assert.deepEqual(verify.Retry, copy.Retry);
    assert.deepEqual(verify.Catch, [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: STATE.sendFailedBatch }]);
    assert.deepEqual(copy.Catch, verify.Catch);
    assert.equal(verify.TimeoutSeconds, copy.TimeoutSeconds);
    // No Parameters: each function gets the whole Map item (run, table, range, an incremental run's changes).
    assert.equal(verify.Parameters, undefined);
    assert.equal(copy.Parameters, undefined);
    assert.equal(verify.End, true);
  });
});
