import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { STATE } from '../../infra/cdk/states.js';
import { synthesizeWorkflow } from '../../infra/local/definition.js';

describe('the finishing step in the workflow', () => {
  const workflow = synthesizeWorkflow();
  const states = workflow.definition.States;
  const finish = states[STATE.finish]!;

  test('Finish comes after every page of ranges is copied and verified, and after a binlog run or cut-over, and before Summarize', () => {
    assert.equal(states[STATE.copyRanges]!.Next, STATE.moreItems);
    assert.equal(states[STATE.moreItems]!.Default, STATE.finish);
    assert.equal(states[STATE.cutoverCheck]!.Default, STATE.finish);
    assert.equal(states[STATE.finalVerification]!.Next, STATE.moreFinalItems);
    assert.equal(states[STATE.moreFinalItems]!.Default, STATE.finish);
    assert.equal(finish.Next, STATE.summarize);
    // A page of items that cannot be read goes straight to Summarize, which fails the run.
    assert.equal((states[STATE.readItems]!.Catch as { Next: string }[])[0]!.Next, STATE.summarize);
  });

  test("Finish invokes the finish handler with the run's id and its list of tables", () => {
    assert.equal(workflow.handlerEntries.get(finish.Resource!), 'functions/finish/handler.ts');
    assert.deepEqual(finish.Parameters, { 'runId.$': '$.runId', 'tables.$': '$.tables' });
    assert.equal(finish.ResultPath, '$.finished');
  });

  test('Finish is retried on transient faults and timeouts, and a Finish that fails still reaches Summarize, which reports it and frees the table', () => {
    const retries = finish.Retry as { ErrorEquals: string[]; JitterStrategy?: string }[];
    const transient = retries.find((retry) => retry.ErrorEquals.includes('TransientDatabaseError'));
    assert.equal(transient?.JitterStrategy, 'FULL');
    assert.deepEqual(
      retries.find((retry) => retry.ErrorEquals.includes('States.Timeout')),
      (states[STATE.summarize]!.Retry as { ErrorEquals: string[] }[]).find((retry) =>
        retry.ErrorEquals.includes('States.Timeout'),
      ),
    );
    assert.deepEqual(finish.Catch, [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: STATE.summarize }]);
  });
});
