import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { RETRYABLE_ERRORS, RunInProgressError } from '../functions/core/errors.js';
import { ALREADY_RUNNING_PATH, STATE } from './states.js';

export interface WorkflowParts {
  plan: IFunction;
  copyRange: IFunction;
  summarize: IFunction;
  failedBatches: IQueue;
}

// A range must finish inside one Lambda invocation (15 minutes).
const RANGE_TIMEOUT = Duration.minutes(15);

const transientRetry: sfn.RetryProps = {
  errors: [...RETRYABLE_ERRORS],
  interval: Duration.seconds(2),
  backoffRate: 2,
  maxAttempts: 5,
  maxDelay: Duration.seconds(60),
  jitterStrategy: sfn.JitterType.FULL,
};

/**
 * Plan → CopyRanges (a Distributed Map of CopyRange, failed ranges to the queue) → Summarize.
 * When another run holds the table, Plan ends the execution in AlreadyRunning instead.
 * This is the only definition of the workflow; the local runner executes this very one.
 */
export function buildWorkflow(scope: Construct, parts: WorkflowParts): sfn.IChainable {
  const plan = new tasks.LambdaInvoke(scope, STATE.plan, {
    lambdaFunction: parts.plan,
    payloadResponseOnly: true,
    payload: sfn.TaskInput.fromObject({
      input: sfn.JsonPath.entirePayload,
      runId: sfn.JsonPath.stringAt('$$.Execution.Name'),
      execution: sfn.JsonPath.stringAt('$$.Execution.Id'),
    }),
  }).addRetry(transientRetry);

  // A run that finds its table busy did nothing, which is not a failure: a scheduled run often
  // meets the previous one still going.
  const alreadyRunning = new sfn.Succeed(scope, STATE.alreadyRunning, {
    comment: 'Another run of the same table holds its lease; this execution did nothing',
  });
  plan.addCatch(alreadyRunning, { errors: [RunInProgressError.name], resultPath: `$.${ALREADY_RUNNING_PATH}` });

  const sendFailedBatch = new tasks.SqsSendMessage(scope, STATE.sendFailedBatch, {
    queue: parts.failedBatches,
    messageBody: sfn.TaskInput.fromObject({
      execution: sfn.JsonPath.stringAt('$.execution'),
      runId: sfn.JsonPath.stringAt('$.runId'),
      table: sfn.JsonPath.stringAt('$.table'),
      range: sfn.JsonPath.objectAt('$.range'),
      policies: sfn.JsonPath.objectAt('$.policies'),
      error: sfn.JsonPath.objectAt('$.error'),
    }),
    resultPath: sfn.JsonPath.DISCARD,
  });

  const copyRange = new tasks.LambdaInvoke(scope, STATE.copyRange, {
    lambdaFunction: parts.copyRange,
    payloadResponseOnly: true,
    taskTimeout: sfn.Timeout.duration(RANGE_TIMEOUT),
  })
    .addRetry(transientRetry)
    .addCatch(sendFailedBatch, { errors: [sfn.Errors.ALL], resultPath: '$.error' });

  const copyRanges = new sfn.DistributedMap(scope, STATE.copyRanges, {
    itemsPath: '$.ranges',
    maxConcurrencyPath: '$.concurrency',
    itemSelector: {
      runId: sfn.JsonPath.stringAt('$.runId'),
      execution: sfn.JsonPath.stringAt('$.execution'),
      table: sfn.JsonPath.stringAt('$.table'),
      changes: sfn.JsonPath.objectAt('$.changes'),
      range: sfn.JsonPath.stringAt('$$.Map.Item.Value'),
      policies: sfn.JsonPath.objectAt('$.policies'),
    },
    // Results live in the ledger; the Map's output would grow with the range count.
    resultPath: sfn.JsonPath.DISCARD,
    mapExecutionType: sfn.StateMachineType.STANDARD,
  }).itemProcessor(copyRange);

  const summarize = new tasks.LambdaInvoke(scope, STATE.summarize, {
    lambdaFunction: parts.summarize,
    payloadResponseOnly: true,
    payload: sfn.TaskInput.fromObject({ runId: sfn.JsonPath.stringAt('$.runId') }),
  }).addRetry(transientRetry);

  return plan.next(copyRanges).next(summarize);
}
