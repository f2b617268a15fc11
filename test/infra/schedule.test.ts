import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../infra/app.js';
import { stackConfigFrom } from '../../infra/config.js';
import { ALREADY_RUNNING_PATH, STATE } from '../../infra/workflow.js';

/** The stack's template, synthesized with bundling skipped. */
function synth(context: Record<string, unknown> = {}): Template {
  const { stack } = buildApp({ ...context, 'aws:cdk:bundling-stacks': [] });
  return Template.fromStack(stack);
}

/** The state machine's definition, with its Fn::Join parts (function ARNs) left as placeholders. */
function definition(template: Template): { States: Record<string, Record<string, unknown>> } {
  const [machine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
  const body = machine!.Properties.DefinitionString as { 'Fn::Join': [string, unknown[]] };
  return JSON.parse(body['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : 'ref')).join(''));
}

describe('the schedules and the one-run-at-a-time path in the template', () => {
  const scheduled = synth({ schedule: 'rate(1 hour)', fullSchedule: 'cron(0 3 ? * SUN *)', table: 'orders' });

  test('the schedule starts an incremental run of the configured table', () => {
    scheduled.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      State: 'ENABLED',
      Description: Match.stringLikeRegexp('changed since the last successful run of orders'),
      Targets: [Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp('^Migration') }, Input: JSON.stringify({ mode: 'incremental' }) })],
    });
  });

  test('the full schedule starts a full run, which reconciles deletes', () => {
    scheduled.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'cron(0 3 ? * SUN *)',
      Targets: [Match.objectLike({ Input: JSON.stringify({ mode: 'full' }) })],
    });
    scheduled.resourceCountIs('AWS::Events::Rule', 2);
  });

  test('without schedule context there is no schedule', () => {
    synth().resourceCountIs('AWS::Events::Rule', 0);
  });

  test('a bad schedule expression is refused naming the key', () => {
    assert.throws(() => stackConfigFrom({ fullSchedule: 'every sunday' }), /"fullSchedule" must be rate\(\.\.\.\) or cron\(\.\.\.\), not every sunday/);
  });

  test('Plan finding the table busy ends the execution in AlreadyRunning, a success, keeping the reason', () => {
    const { States } = definition(scheduled);
    assert.deepEqual(States[STATE.plan]!.Catch, [
      { ErrorEquals: ['RunInProgressError'], ResultPath: `$.${ALREADY_RUNNING_PATH}`, Next: STATE.alreadyRunning },
    ]);
    assert.equal(States[STATE.alreadyRunning]!.Type, 'Succeed');
  });

  test('each range is told which rows changed', () => {
    const { States } = definition(scheduled);
    assert.equal((States[STATE.copyRanges]!.ItemSelector as Record<string, string>)['changes.$'], '$.changes');
  });
});
