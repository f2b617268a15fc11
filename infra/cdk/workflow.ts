import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { CHANGES_MODES } from '../../functions/core/binlog/modes.js';
import { RETRYABLE_ERRORS, RunInProgressError, TableBusyError } from '../../functions/core/errors.js';
import { ALREADY_RUNNING_PATH, STATE } from './states.js';

export interface WorkflowParts {
  plan: IFunction;
  readItems: IFunction;
  copyRange: IFunction;
  verifyRange: IFunction;
  describeFailure: IFunction;
  summarize: IFunction;
  failedBatches: IQueue;
  applyChanges: IFunction;
  finish: IFunction;
}

// One invocation: Lambda's 15 minutes. A longer range goes on in the next invocation (ResumeRange).
const RANGE_TIMEOUT = Duration.minutes(15);

const transientRetry: sfn.RetryProps = {
  errors: [...RETRYABLE_ERRORS],
  interval: Duration.seconds(2),
  backoffRate: 2,
  maxAttempts: 5,
  maxDelay: Duration.seconds(60),
  jitterStrategy: sfn.JitterType.FULL,
};

// More copies at once than the function's reserved concurrency get throttled; they wait their turn.
const throttledRetry: sfn.RetryProps = {
  errors: ['Lambda.TooManyRequestsException'],
  interval: Duration.seconds(1),
  backoffRate: 2,
  maxAttempts: 8,
  maxDelay: Duration.seconds(60),
  jitterStrategy: sfn.JitterType.FULL,
};

// A task that ran out of time (its Lambda's timeout, or the state's) may have met a stall a new
// invocation does not: retried like a transient fault, but fewer times, each costing the full timeout.
const timeoutRetry: sfn.RetryProps = {
  errors: [sfn.Errors.TIMEOUT, 'Sandbox.Timedout'],
  interval: Duration.seconds(5),
  backoffRate: 2,
  maxAttempts: 2,
  jitterStrategy: sfn.JitterType.FULL,
};

// Sending a failed range to the queue, or describing it, must not be lost to one SQS or Lambda hiccup.
const deliveryRetry: sfn.RetryProps = {
  errors: [sfn.Errors.ALL],
  interval: Duration.seconds(1),
  backoffRate: 2,
  maxAttempts: 6,
  maxDelay: Duration.seconds(30),
  jitterStrategy: sfn.JitterType.FULL,
};

// A run of given ranges waits for the run holding its table (which may take hours) to end.
const tableBusyRetry: sfn.RetryProps = {
  errors: [TableBusyError.name],
  interval: Duration.minutes(1),
  backoffRate: 1.5,
  maxAttempts: 12,
  maxDelay: Duration.minutes(30),
  jitterStrategy: sfn.JitterType.FULL,
};

// Where the Map finds the page of items ReadItems put in the state.
const PAGE_ITEMS = '$.page.items';

/**
 * The Map over every item Plan recorded in the ledger, a page at a time: ReadItems puts a page in
 * the state, the Map runs over it, and MoreItems goes back for the next page until the last, then
 * on to `then` (a page that cannot be read, to `failed`). The state never holds more than one page, however many items the run has; the
 * same loop runs in AWS and locally (no ItemReader, which the local engine does not execute).
 */
function overPages(
  scope: Construct,
  parts: WorkflowParts,
  map: sfn.DistributedMap,
  then: sfn.IChainable,
  names: { first: string; read: string; more: string },
  failed: sfn.IChainable = then,
): sfn.IChainable {
  const first = new sfn.Pass(scope, names.first, { result: sfn.Result.fromObject({ next: 0 }), resultPath: '$.page' });
  const read = new tasks.LambdaInvoke(scope, names.read, {
    lambdaFunction: parts.readItems,
    payloadResponseOnly: true,
    payload: sfn.TaskInput.fromObject({
      runId: sfn.JsonPath.stringAt('$.runId'),
      from: sfn.JsonPath.numberAt('$.page.next'),
    }),
    resultPath: '$.page',
  })
    .addRetry(transientRetry)
    .addRetry(timeoutRetry)
    .addRetry(throttledRetry)
    // The run still ends in Summarize, which fails it for the ranges left pending and frees its table.
    .addCatch(failed, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
  const more = new sfn.Choice(scope, names.more).when(sfn.Condition.isPresent('$.page.next'), read).otherwise(then);
  return first.next(read).next(map).next(more);
}

// The range of a Map item, without its table and changes (which travel beside it).
const ITEM_RANGE = {
  index: sfn.JsonPath.numberAt('$$.Map.Item.Value.index'),
  lo: sfn.JsonPath.stringAt('$$.Map.Item.Value.lo'),
  hi: sfn.JsonPath.stringAt('$$.Map.Item.Value.hi'),
};

/**
 * Plan → CopyRanges (a Distributed Map of CopyRange then VerifyRange, failed ranges to the
 * queue, over the run's items a page at a time) → Finish (indexes, keys, sequences, triggers; skipped
 * when data failed) → Summarize. When another run holds the table, Plan ends the execution in
 * AlreadyRunning instead.
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
  })
    .addRetry(transientRetry)
    .addRetry(timeoutRetry)
    .addRetry(tableBusyRetry);

  // A run that finds its table busy did nothing, which is not a failure: a scheduled run often
  // meets the previous one still going.
  const alreadyRunning = new sfn.Succeed(scope, STATE.alreadyRunning, {
    comment: 'Another run of the same table holds its lease; this execution did nothing',
  });
  plan.addCatch(alreadyRunning, { errors: [RunInProgressError.name], resultPath: `$.${ALREADY_RUNNING_PATH}` });

  // The queue message (functions/core/failed-batch.ts) is built by a Lambda: the Catch's Cause is
  // JSON only when CopyRange's own code failed, and JSONPath cannot fall back when it is not.
  // A failure that cannot be queued even so is still in the ledger: Summarize fails the run for it.
  const failureNotQueued = new sfn.Fail(scope, STATE.failureNotQueued, {
    comment: "The range's failure could not be sent to the failed-batches queue; the ledger has it",
  });
  const describeFailure = new tasks.LambdaInvoke(scope, STATE.describeFailure, {
    lambdaFunction: parts.describeFailure,
    payloadResponseOnly: true,
  })
    .addRetry(throttledRetry)
    .addRetry(deliveryRetry)
    .addCatch(failureNotQueued, { errors: [sfn.Errors.ALL], resultPath: '$.notQueued' });
  const sendFailedBatch = new tasks.SqsSendMessage(scope, STATE.sendFailedBatch, {
    queue: parts.failedBatches,
    messageBody: sfn.TaskInput.fromJsonPathAt('$'),
    resultPath: sfn.JsonPath.DISCARD,
  })
    .addRetry(deliveryRetry)
    .addCatch(failureNotQueued, { errors: [sfn.Errors.ALL], resultPath: '$.notQueued' });

  const copyRange = new tasks.LambdaInvoke(scope, STATE.copyRange, {
    lambdaFunction: parts.copyRange,
    payloadResponseOnly: true,
    taskTimeout: sfn.Timeout.duration(RANGE_TIMEOUT),
    resultPath: '$.copied',
  })
    .addRetry(transientRetry)
    .addRetry(timeoutRetry)
    .addRetry(throttledRetry)
    .addCatch(describeFailure.next(sendFailedBatch), { errors: [sfn.Errors.ALL], resultPath: '$.error' });

  // The whole range, as planned, again: a continuation moved `range.lo`, and VerifyRange proves
  // (and a failed verification sends back) the range from its start.
  const plannedRange = new sfn.Pass(scope, STATE.plannedRange, { inputPath: '$.planned', resultPath: '$.range' });

  // The result goes beside the Map item, which a failed batch needs whole.
  const verifyRange = new tasks.LambdaInvoke(scope, STATE.verifyRange, {
    lambdaFunction: parts.verifyRange,
    payloadResponseOnly: true,
    taskTimeout: sfn.Timeout.duration(RANGE_TIMEOUT),
    resultPath: '$.verified',
  })
    .addRetry(transientRetry)
    .addRetry(timeoutRetry)
    .addRetry(throttledRetry)
    .addCatch(describeFailure, { errors: [sfn.Errors.ALL], resultPath: '$.error' });

  // Verifying is the default: only an explicit `verify: false` skips it.
  const verifyEnabled = new sfn.Choice(scope, STATE.verifyEnabled)
    .when(
      sfn.Condition.and(
        sfn.Condition.isPresent('$.verify'),
        // Otherwise it says how to verify: `checksum` or `rows`.
        sfn.Condition.isBoolean('$.verify'),
        sfn.Condition.booleanEquals('$.verify', false),
      ),
      new sfn.Succeed(scope, STATE.verificationSkipped),
    )
    .otherwise(plannedRange.next(verifyRange));

  // CopyRange stops before its time runs out and says where the rest of the range starts.
  const resumeRange = new sfn.Pass(scope, STATE.resumeRange, {
    parameters: {
      runId: sfn.JsonPath.stringAt('$.runId'),
      execution: sfn.JsonPath.stringAt('$.execution'),
      table: sfn.JsonPath.stringAt('$.table'),
      range: {
        index: sfn.JsonPath.numberAt('$.range.index'),
        lo: sfn.JsonPath.stringAt('$.copied.next'),
        hi: sfn.JsonPath.stringAt('$.range.hi'),
      },
      changes: sfn.JsonPath.objectAt('$.changes'),
      policies: sfn.JsonPath.objectAt('$.policies'),
      verify: sfn.JsonPath.stringAt('$.verify'),
      planned: sfn.JsonPath.objectAt('$.planned'),
    },
  });
  const rangeFinished = new sfn.Choice(scope, STATE.rangeFinished)
    .when(sfn.Condition.isPresent('$.copied.next'), resumeRange.next(copyRange))
    .otherwise(verifyEnabled);

  const copyRanges = new sfn.DistributedMap(scope, STATE.copyRanges, {
    itemsPath: PAGE_ITEMS,
    maxConcurrencyPath: '$.concurrency',
    // Each item is a range of one of the run's tables (functions/core/plan.ts, PlannedRange).
    itemSelector: {
      runId: sfn.JsonPath.stringAt('$.runId'),
      execution: sfn.JsonPath.stringAt('$.execution'),
      table: sfn.JsonPath.stringAt('$$.Map.Item.Value.table'),
      changes: sfn.JsonPath.objectAt('$$.Map.Item.Value.changes'),
      range: ITEM_RANGE,
      planned: ITEM_RANGE,
      policies: sfn.JsonPath.objectAt('$.policies'),
      verify: sfn.JsonPath.stringAt('$.verify'),
    },
    // Results live in the ledger; the Map's output would grow with the range count.
    resultPath: sfn.JsonPath.DISCARD,
    mapExecutionType: sfn.StateMachineType.STANDARD,
    // Summarize judges the run from the ledger: a failed range (or a child execution that failed
    // outright) must not stop the other ranges, nor keep the run from ending and freeing its table.
    toleratedFailurePercentage: 100,
  }).itemProcessor(copyRange.next(rangeFinished));

  const summarize = new tasks.LambdaInvoke(scope, STATE.summarize, {
    lambdaFunction: parts.summarize,
    payloadResponseOnly: true,
    payload: sfn.TaskInput.fromObject({ runId: sfn.JsonPath.stringAt('$.runId') }),
  })
    .addRetry(transientRetry)
    .addRetry(timeoutRetry);
  // Whatever stops the Map itself, the run still ends in Summarize, which releases the table's lease.
  copyRanges.addCatch(summarize, { errors: [sfn.Errors.ALL], resultPath: '$.mapError' });

  // After the data, while the run still holds its tables; it reads the ledger and builds nothing
  // when a range (or a binlog run's changes) failed. Summarize reports a Finish that failed.
  const finish = new tasks.LambdaInvoke(scope, STATE.finish, {
    lambdaFunction: parts.finish,
    payloadResponseOnly: true,
    payload: sfn.TaskInput.fromObject({
      runId: sfn.JsonPath.stringAt('$.runId'),
      tables: sfn.JsonPath.listAt('$.tables'),
    }),
    resultPath: '$.finished',
  })
    .addRetry(transientRetry)
    // A retry goes on where the timed-out attempt stopped: what it built is there.
    .addRetry(timeoutRetry)
    .addCatch(summarize, { errors: [sfn.Errors.ALL], resultPath: '$.error' })
    .next(summarize);

  // A binlog run or a cut-over applies the binary log instead of copying ranges.
  const changesOrRanges = new sfn.Choice(scope, STATE.changesOrRanges)
    .when(
      sfn.Condition.or(...CHANGES_MODES.map((mode) => sfn.Condition.stringEquals('$.mode', mode))),
      changesBranch(scope, parts, finish, summarize),
    )
    .otherwise(
      overPages(
        scope,
        parts,
        copyRanges,
        finish,
        { first: STATE.firstItems, read: STATE.readItems, more: STATE.moreItems },
        summarize,
      ),
    );

  return plan.next(changesOrRanges);
}

/**
 * ApplyChanges (the binary log since the tables' checkpoints); at cut-over then FinalVerification,
 * a Map of VerifyRange over the ranges Plan cut; then Finish and Summarize, which fails the execution when the
 * changes did not land (a failed ApplyChanges goes there too, so the run ends and frees its table).
 */
function changesBranch(
  scope: Construct,
  parts: WorkflowParts,
  finish: sfn.IChainable,
  summarize: sfn.IChainable,
): sfn.IChainable {
  const applyChanges = new tasks.LambdaInvoke(scope, STATE.applyChanges, {
    lambdaFunction: parts.applyChanges,
    payloadResponseOnly: true,
    taskTimeout: sfn.Timeout.duration(RANGE_TIMEOUT),
    payload: sfn.TaskInput.fromObject({
      runId: sfn.JsonPath.stringAt('$.runId'),
      tables: sfn.JsonPath.listAt('$.tables'),
      mode: sfn.JsonPath.stringAt('$.mode'),
      policies: sfn.JsonPath.objectAt('$.policies'),
      quietSeconds: sfn.JsonPath.numberAt('$.quietSeconds'),
    }),
    resultPath: '$.applied',
  })
    .addRetry(transientRetry)
    .addRetry(timeoutRetry)
    .addCatch(summarize, { errors: [sfn.Errors.ALL], resultPath: '$.error' });

  // A range that differs is in the ledger (VerifyRange records it); Summarize fails the run for it.
  const verifyFinalRange = new tasks.LambdaInvoke(scope, STATE.verifyFinalRange, {
    lambdaFunction: parts.verifyRange,
    payloadResponseOnly: true,
    taskTimeout: sfn.Timeout.duration(RANGE_TIMEOUT),
    resultPath: '$.verified',
  })
    .addRetry(transientRetry)
    .addRetry(timeoutRetry)
    .addRetry(throttledRetry)
    .addCatch(new sfn.Pass(scope, STATE.finalRangeFailed), { errors: [sfn.Errors.ALL], resultPath: '$.error' });
  const finalVerification = new sfn.DistributedMap(scope, STATE.finalVerification, {
    itemsPath: PAGE_ITEMS,
    maxConcurrencyPath: '$.concurrency',
    itemSelector: {
      runId: sfn.JsonPath.stringAt('$.runId'),
      table: sfn.JsonPath.stringAt('$$.Map.Item.Value.table'),
      range: ITEM_RANGE,
      policies: sfn.JsonPath.objectAt('$.policies'),
      verify: sfn.JsonPath.stringAt('$.verify'),
    },
    resultPath: sfn.JsonPath.DISCARD,
    mapExecutionType: sfn.StateMachineType.STANDARD,
    toleratedFailurePercentage: 100,
  }).itemProcessor(verifyFinalRange);
  finalVerification.addCatch(summarize, { errors: [sfn.Errors.ALL], resultPath: '$.mapError' });

  const cutoverCheck = new sfn.Choice(scope, STATE.cutoverCheck)
    .when(
      sfn.Condition.stringEquals('$.mode', 'cutover'),
      overPages(
        scope,
        parts,
        finalVerification,
        finish,
        { first: STATE.firstFinalItems, read: STATE.readFinalItems, more: STATE.moreFinalItems },
        summarize,
      ),
    )
    .otherwise(finish);
  return applyChanges.next(cutoverCheck);
}
