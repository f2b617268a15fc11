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

  const TOPIC = [{ Ref: Match.stringLikeRegexp('^ObservabilityAlarmTopic') }];

  for (const metric of ['ExecutionsTimedOut', 'ExecutionsAborted']) {
    test(`an alarm fires on ${metric}: a run that ends before Summarize keeps its table leased`, () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/States',
        MetricName: metric,
        Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: Match.stringLikeRegexp('^Migration') } }],
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 0,
        AlarmActions: TOPIC,
      });
    });
  }

  for (const fn of ['CopyRange', 'VerifyRange']) {
    test(`alarms fire on ${fn}'s Lambda errors and throttles`, () => {
      for (const metric of ['Errors', 'Throttles']) {
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          Namespace: 'AWS/Lambda',
          MetricName: metric,
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp(`^${fn}[0-9A-F]{8}$`) } }],
          Statistic: 'Sum',
          ComparisonOperator: 'GreaterThanThreshold',
          Threshold: 0,
          AlarmActions: TOPIC,
        });
      }
    });
  }

  test('an alarm fires when a Plan took over 80% of its 15-minute timeout', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Duration',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp('^Plan[0-9A-F]{8}$') } }],
      Statistic: 'Maximum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0.8 * 15 * 60_000,
      AlarmActions: TOPIC,
    });
  });

  test('the dashboard shows every alarm', () => {
    const alarms = Object.keys(template.findResources('AWS::CloudWatch::Alarm'));
    assert.equal(alarms.length, 9);
    const body = JSON.stringify(Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]!.Properties);
    for (const id of alarms) assert.ok(body.includes(`"${id}","Arn"`), `${id} on the dashboard`);
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
