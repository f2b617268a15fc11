import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRIC, METRICS_NAMESPACE, SERVICE } from '../../functions/middleware/metric-names.js';

export interface MigrationObservabilityProps {
  stateMachine: sfn.IStateMachine;
  failedBatches: sqs.IQueue;
  /** Where the schedules' starts that could not be delivered wait; none without a schedule. */
  scheduleDeadLetters?: sqs.IQueue;
  /** Where the alarms send email; the topic has no subscription when absent. */
  alarmEmail?: string;
}

const PERIOD = Duration.minutes(1);

/** The functions' own metrics, as Powertools publishes them (namespace and `service` dimension). */
function migrationMetric(metricName: string, statistic = 'Sum'): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: SERVICE },
    statistic,
    period: PERIOD,
  });
}

/**
 * What an operator watches: an SNS topic the alarms notify (failed batches waiting on the queue,
 * failed executions) and a dashboard of the rows per second, the failures and the queue depth.
 */
export class MigrationObservability extends Construct {
  readonly alarmTopic: sns.Topic;
  readonly failedBatchesAlarm: cloudwatch.Alarm;
  readonly failedExecutionsAlarm: cloudwatch.Alarm;
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MigrationObservabilityProps) {
    super(scope, id);

    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'MySQL to PostgreSQL migration alarms',
      enforceSSL: true,
    });
    if (props.alarmEmail) this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    const notify = new cloudwatchActions.SnsAction(this.alarmTopic);

    // Any failure is worth a look: each alarm fires on the first minute its metric is above 0.
    const alarmAboveZero = (id: string, metric: cloudwatch.IMetric, alarmDescription: string) => {
      const alarm = new cloudwatch.Alarm(this, id, {
        alarmDescription,
        metric,
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(notify);
      return alarm;
    };
    const queueDepth = props.failedBatches.metricApproximateNumberOfMessagesVisible({
      period: PERIOD,
      statistic: 'Maximum',
    });
    this.failedBatchesAlarm = alarmAboveZero(
      'FailedBatchesWaiting',
      queueDepth,
      'Failed ranges are waiting on the failed-batches queue: read their errors, fix the cause, run them again',
    );
    const scheduleDeadLettersAlarm =
      props.scheduleDeadLetters &&
      alarmAboveZero(
        'ScheduledStartsFailed',
        props.scheduleDeadLetters.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' }),
        'A scheduled run could not be started: the message on the schedule dead-letter queue says why; start the run by hand',
      );
    const failedExecutions = props.stateMachine.metricFailed({ period: PERIOD, statistic: 'Sum' });
    this.failedExecutionsAlarm = alarmAboveZero(
      'FailedExecutions',
      failedExecutions,
      'A migration execution failed: its Summarize error and the ledger (migration.ranges) say which ranges and why',
    );

    // Metric ids in one graph must differ, so each rate names its own.
    const perSecond = (id: string, metricName: string) =>
      new cloudwatch.MathExpression({
        expression: `${id} / PERIOD(${id})`,
        usingMetrics: { [id]: migrationMetric(metricName) },
        label: id,
        period: PERIOD,
      });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Rows per second',
        left: [perSecond('copied', METRIC.rowsCopied), perSecond('verified', METRIC.rowsVerified)],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Failures',
        left: [
          migrationMetric(METRIC.rangesFailed).with({ label: 'ranges failed' }),
          migrationMetric(METRIC.verificationMismatches).with({ label: 'verification mismatches' }),
          migrationMetric(METRIC.rangeErrors).with({ label: 'range errors (incl. retried)' }),
          failedExecutions.with({ label: 'executions failed' }),
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Failed batches waiting',
        left: [queueDepth.with({ label: 'messages' })],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Seconds per range',
        left: ['Average', 'p90', 'Maximum'].map((statistic) =>
          migrationMetric(METRIC.rangeSeconds, statistic).with({ label: statistic }),
        ),
        width: 8,
      }),
      new cloudwatch.AlarmStatusWidget({
        title: 'Alarms',
        alarms: [
          this.failedBatchesAlarm,
          this.failedExecutionsAlarm,
          ...(scheduleDeadLettersAlarm ? [scheduleDeadLettersAlarm] : []),
        ],
        width: 8,
      }),
    );
  }
}
