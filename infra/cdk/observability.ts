import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRIC, METRICS_NAMESPACE, SERVICE } from '../../functions/middleware/metric-names.js';

export interface MigrationObservabilityProps {
  stateMachine: sfn.IStateMachine;
  /** Plan, whose duration is watched against its timeout. */
  plan: lambda.Function;
  /** CopyRange and VerifyRange, whose errors and throttles are watched. */
  rangeFunctions: lambda.IFunction[];
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

// Plan's alarm fires when one Plan took this share of its timeout: the next, on a grown table, may not finish.
const PLAN_TIMEOUT_WARNING = 0.8;

/**
 * What an operator watches: an SNS topic the alarms notify (failed batches waiting on the queue,
 * scheduled starts that failed, executions that failed, timed out or were stopped, errors and
 * throttles of the range functions, Plan near its timeout) and a dashboard of the rows per second,
 * the failures and the queue depth.
 */
export class MigrationObservability extends Construct {
  readonly alarmTopic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MigrationObservabilityProps) {
    super(scope, id);

    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'MySQL to PostgreSQL migration alarms',
      enforceSSL: true,
    });
    if (props.alarmEmail) this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    const notify = new cloudwatchActions.SnsAction(this.alarmTopic);

    const alarm = (id: string, metric: cloudwatch.IMetric, threshold: number, alarmDescription: string) => {
      const created = new cloudwatch.Alarm(this, id, {
        alarmDescription,
        metric,
        threshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      created.addAlarmAction(notify);
      this.alarms.push(created);
    };
    // Any failure is worth a look: these fire on the first minute their metric is above 0.
    const queueDepth = props.failedBatches.metricApproximateNumberOfMessagesVisible({
      period: PERIOD,
      statistic: 'Maximum',
    });
    alarm(
      'FailedBatchesWaiting',
      queueDepth,
      0,
      'Failed ranges are waiting on the failed-batches queue: read their errors, fix the cause, run them again',
    );
    if (props.scheduleDeadLetters) {
      alarm(
        'ScheduledStartsFailed',
        props.scheduleDeadLetters.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' }),
        0,
        'A scheduled run could not be started: the message on the schedule dead-letter queue says why; start the run by hand',
      );
    }
    const failedExecutions = props.stateMachine.metricFailed({ period: PERIOD, statistic: 'Sum' });
    alarm(
      'FailedExecutions',
      failedExecutions,
      0,
      'A migration execution failed: its Summarize error and the ledger (migration.ranges) say which ranges and why',
    );
    alarm(
      'TimedOutExecutions',
      props.stateMachine.metricTimedOut({ period: PERIOD, statistic: 'Sum' }),
      0,
      'A migration execution timed out before Summarize: its table stays leased until 30 minutes after its last range',
    );
    alarm(
      'AbortedExecutions',
      props.stateMachine.metricAborted({ period: PERIOD, statistic: 'Sum' }),
      0,
      'A migration execution was stopped before Summarize: its table stays leased until 30 minutes after its last range',
    );
    for (const fn of props.rangeFunctions) {
      const name = fn.node.id;
      alarm(
        `${name}Errors`,
        fn.metricErrors({ period: PERIOD, statistic: 'Sum' }),
        0,
        `${name} invocations failed (retried ones included): its log group says why; many at once point at a struggling database`,
      );
      alarm(
        `${name}Throttles`,
        fn.metricThrottles({ period: PERIOD, statistic: 'Sum' }),
        0,
        `${name} was throttled: runs that overlap asked for more than its reserved concurrency (maxConcurrency); the workflow retries, but not for ever`,
      );
    }
    const planTimeout = props.plan.timeout ?? Duration.seconds(3); // Lambda's default
    alarm(
      'PlanNearTimeout',
      props.plan.metricDuration({ period: PERIOD, statistic: 'Maximum' }),
      planTimeout.toMilliseconds() * PLAN_TIMEOUT_WARNING,
      `Plan took over ${PLAN_TIMEOUT_WARNING * 100}% of its ${planTimeout.toMinutes()} minutes: the next, on a grown table, may time out (docs/SCALE.md)`,
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
        alarms: this.alarms,
        width: 8,
      }),
    );
  }
}
