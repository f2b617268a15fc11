import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../infra/cdk/app.js';

const templateOf = (context: Record<string, unknown> = {}) =>
  Template.fromStack(buildApp({ 'aws:cdk:bundling-stacks': [], ...context }).stack);

describe('observability in the stack', () => {
  const template = templateOf({ alarmEmail: 'ops@example.com' });

  test('an alarm fires as soon as a failed batch waits on the queue, and notifies the topic', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        { Name: 'QueueName', Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^FailedBatches'), 'QueueName'] } },
      ],
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      EvaluationPeriods: 1,
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^ObservabilityAlarmTopic') }],
    });
  });

  test('an alarm fires on a failed execution, and notifies the topic', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/States',
      MetricName: 'ExecutionsFailed',
      Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: Match.stringLikeRegexp('^Migration') } }],
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^ObservabilityAlarmTopic') }],
    });
  });

  test('with a schedule, an alarm fires when a scheduled start lands on its dead-letter queue', () => {
    const scheduled = templateOf({ schedule: 'rate(1 hour)' });
    const alarm = {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        { Name: 'QueueName', Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ScheduleDeadLetters'), 'QueueName'] } },
      ],
      Threshold: 0,
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^ObservabilityAlarmTopic') }],
    };
    scheduled.hasResourceProperties('AWS::CloudWatch::Alarm', alarm);
    assert.throws(() => template.hasResourceProperties('AWS::CloudWatch::Alarm', alarm), 'no schedule, no such alarm');
  });

  test('the alarm topic mails the alarmEmail from context, and only when one is given', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    const withoutEmail = templateOf();
    withoutEmail.resourceCountIs('AWS::SNS::Subscription', 0);
    withoutEmail.resourceCountIs('AWS::SNS::Topic', 1);
    assert.throws(() => templateOf({ alarmEmail: 'not-an-address' }), /"alarmEmail" must be an email address/);
  });

  test('the dashboard shows rows per second, failures and the queue depth', () => {
    const dashboards = template.findResources('AWS::CloudWatch::Dashboard');
    assert.equal(Object.keys(dashboards).length, 1);
    const body = JSON.stringify(Object.values(dashboards)[0]!.Properties.DashboardBody);
    for (const expected of [
      'Rows per second',
      'RowsCopied',
      'PERIOD(copied)',
      'Failures',
      'RangesFailed',
      'VerificationMismatches',
      'ExecutionsFailed',
      'ApproximateNumberOfMessagesVisible',
      'MysqlToPostgres',
    ]) {
      assert.ok(body.includes(expected), `dashboard lacks ${expected}`);
    }
  });
});
