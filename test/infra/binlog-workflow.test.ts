import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../infra/cdk/app.js';
import { STATE } from '../../infra/cdk/states.js';
import { synthesizeWorkflow } from '../../infra/local/definition.js';

describe('binlog runs and cut-over in the workflow', () => {
  const workflow = synthesizeWorkflow();
  const states = workflow.definition.States;
  const entryOf = (state: { Resource?: string } | undefined) => workflow.handlerEntries.get(state?.Resource ?? '');

  test('after Plan, a binlog run or a cut-over goes to ApplyChanges instead of CopyRanges', () => {
    assert.equal(states[STATE.plan]!.Next, STATE.changesOrRanges);
    const choice = states[STATE.changesOrRanges]!;
    assert.deepEqual(choice.Choices, [
      {
        Or: [
          { Variable: '$.mode', StringEquals: 'binlog' },
          { Variable: '$.mode', StringEquals: 'cutover' },
        ],
        Next: STATE.applyChanges,
      },
    ]);
    assert.equal(choice.Default, STATE.firstItems);
  });

  test("ApplyChanges gets the run's tables, mode, policies and quiet period, and is retried on transient faults", () => {
    const apply = states[STATE.applyChanges]!;
    assert.equal(entryOf(apply), 'functions/apply-changes/handler.ts');
    assert.deepEqual(apply.Parameters, {
      'runId.$': '$.runId',
      'tables.$': '$.tables',
      'mode.$': '$.mode',
      'policies.$': '$.policies',
      'quietSeconds.$': '$.quietSeconds',
    });
    assert.equal(apply.ResultPath, '$.applied');
    assert.ok(
      (apply.Retry as { ErrorEquals: string[] }[]).some((r) => r.ErrorEquals.includes('TransientDatabaseError')),
    );
  });

  test('a failed ApplyChanges still reaches Summarize, which fails the run and frees the table', () => {
    assert.deepEqual(states[STATE.applyChanges]!.Catch, [
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: STATE.summarize },
    ]);
  });

  test('a cut-over verifies every range Plan cut, with VerifyRange, before Finish; a binlog run goes straight there', () => {
    assert.equal(states[STATE.applyChanges]!.Next, STATE.cutoverCheck);
    const check = states[STATE.cutoverCheck]!;
    assert.deepEqual(check.Choices, [{ Variable: '$.mode', StringEquals: 'cutover', Next: STATE.firstFinalItems }]);
    assert.equal(check.Default, STATE.finish);
    // The ranges a page at a time, as CopyRanges reads them.
    assert.equal(states[STATE.firstFinalItems]!.Next, STATE.readFinalItems);
    assert.equal(entryOf(states[STATE.readFinalItems]!), 'functions/read-items/handler.ts');
    assert.equal(states[STATE.readFinalItems]!.Next, STATE.finalVerification);
    const map = states[STATE.finalVerification]!;
    assert.equal(map.ItemsPath, '$.page.items');
    assert.equal(map.MaxConcurrencyPath, '$.concurrency');
    assert.equal(map.Next, STATE.moreFinalItems);
    assert.deepEqual(states[STATE.moreFinalItems]!.Choices, [
      { Variable: '$.page.next', IsPresent: true, Next: STATE.readFinalItems },
    ]);
    assert.equal(states[STATE.moreFinalItems]!.Default, STATE.finish);
    const inner = map.ItemProcessor!.States;
    const verify = inner[STATE.verifyFinalRange]!;
    assert.equal(entryOf(verify), 'functions/verify-range/handler.ts');
    // A mismatch is recorded by VerifyRange itself; the iteration ends so every range is verified.
    assert.deepEqual(verify.Catch, [
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: STATE.finalRangeFailed },
    ]);
  });

  test('binlogSchedule adds a schedule that starts a binlog run: input {"mode": "binlog"}', () => {
    const template = Template.fromStack(
      buildApp({ 'aws:cdk:bundling-stacks': [], binlogSchedule: 'rate(1 minute)' }).stack,
    );
    const schedules = Object.values(template.findResources('AWS::Scheduler::Schedule'));
    assert.equal(schedules.length, 1);
    const schedule = schedules[0] as { Properties: { ScheduleExpression: string; Target: { Input: string } } };
    assert.equal(schedule.Properties.ScheduleExpression, 'rate(1 minute)');
    assert.deepEqual(JSON.parse(schedule.Properties.Target.Input), { mode: 'binlog' });
  });
});
