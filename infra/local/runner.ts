import './polyfills.js';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import { ExecutionAbortedError, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { STATE } from '../cdk/states.js';
import { ROOT } from '../root.js';
import type { StateDefinition } from './definition.js';
import { lambdaContext } from './lambda-context.js';
import type { LocalQueue } from './queue.js';
import { loadWorkflow } from './workflow-cache.js';

const SQS_SEND_MESSAGE = 'arn:aws:states:::sqs:sendMessage';

export interface LocalRunOptions {
  /** mysql://... of the source, postgres://... of the target. */
  sourceUrl: string;
  targetUrl: string;
  /** The execution input, exactly as it would be given in the console. */
  input: Record<string, unknown>;
  /**
   * The SQS endpoint and queue that stand in for the deployed failed-batches queue, asked for
   * when a range first fails (most runs never need it, and starting it takes a while).
   */
  failedBatches: () => Promise<Pick<LocalQueue, 'sqs' | 'queueUrl'>>;
  /** CDK context for the synthesized stack. */
  context?: Record<string, unknown>;
  /** Each workflow event, as it happens (for progress). */
  onEvent?: (event: WorkflowEvent) => void;
  /** Milliseconds to wait between retries instead of the definition's backoff (tests). */
  retryIntervalMs?: number;
  /** Each invocation's time limit as its context reports it; Lambda's 15 minutes unless a test wants less. */
  lambdaTimeoutMs?: number;
  /**
   * Stops the run (Ctrl-C): the execution is aborted and the run ends in Summarize, as the
   * workflow ends a run whose ranges stopped, so its tables are given back at once rather than
   * held until their leases expire.
   */
  signal?: AbortSignal;
}

export interface LocalRunResult {
  runId: string;
  execution: string;
  status: 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  output?: unknown;
  error?: { name: string; message: string };
}

/** One event of the execution's history, as aws-local-stepfunctions reports it. */
export type WorkflowEvent = Awaited<ReturnType<ReturnType<StateMachine['run']>['eventLogs']['next']>>['value'] & {
  type: string;
};

type TaskHandlers = NonNullable<
  NonNullable<Parameters<StateMachine['run']>[1]>['overrides']
>['taskResourceLocalHandlers'];

type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;

/**
 * Runs the stack's state machine in-process with aws-local-stepfunctions: each Lambda task
 * calls its real handler, the SQS task sends to a real SQS API endpoint.
 */
export async function runLocal(options: LocalRunOptions): Promise<LocalRunResult> {
  // The handlers find their databases here, as they find their secrets in Lambda.
  process.env.SOURCE_URL = options.sourceUrl;
  process.env.TARGET_URL = options.targetUrl;
  delete process.env.SOURCE_SECRET_ID;
  delete process.env.TARGET_SECRET_ID;
  // The functions' JSON logs and metrics are for CloudWatch; locally they would bury the progress
  // and the report. Set POWERTOOLS_LOG_LEVEL=INFO to see the logs anyway.
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

  const workflow = await loadWorkflow(options.context);
  const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
  for (const [name, state] of taskStates(workflow.definition)) {
    handlers[name] = await bindTask(name, state, workflow.handlerEntries, options);
  }

  const runId = `run-${new Date()
    .toISOString()
    .replace(/[-:.TZ]/g, '')
    .slice(0, 14)}-${randomUUID().slice(0, 8)}`;
  const execution = `arn:aws:states:local-1:000000000000:execution:Migration:${runId}`;
  // loadWorkflow hands out validated definitions only.
  const machine = new StateMachine(workflow.definition as unknown as StateMachineDefinition, {
    validationOptions: { noValidate: true },
  });
  const retryOverrides =
    options.retryIntervalMs === undefined
      ? undefined
      : Object.fromEntries(Object.keys(handlers).map((name) => [name, options.retryIntervalMs!]));
  const run = machine.run(options.input as Parameters<StateMachine['run']>[0], {
    overrides: {
      taskResourceLocalHandlers: handlers as TaskHandlers,
      ...(retryOverrides ? { retryIntervalOverrides: retryOverrides } : {}),
    },
    context: { Execution: { Id: execution, Name: runId, StartTime: new Date().toISOString() } },
  });
  const events = (async () => {
    for await (const event of run.eventLogs) options.onEvent?.(event as WorkflowEvent);
  })();
  const abort = () => run.abort();
  options.signal?.addEventListener('abort', abort, { once: true });
  try {
    const output = await run.result;
    await events;
    return { runId, execution, status: 'SUCCEEDED', output };
  } catch (error) {
    await events.catch(() => {});
    if (error instanceof ExecutionAbortedError) {
      // Ranges still in flight find their table's lease gone and write nothing.
      await handlers[STATE.summarize]!({ runId }).catch(() => {});
      return { runId, execution, status: 'ABORTED', error: { name: 'Interrupted', message: 'the run was stopped' } };
    }
    const cause = (error as { cause?: unknown }).cause ?? error;
    const { name, message } = cause instanceof Error ? cause : new Error(String(cause));
    return { runId, execution, status: 'FAILED', error: { name, message: functionErrorMessage(message) } };
  } finally {
    options.signal?.removeEventListener('abort', abort);
  }
}

/**
 * The error a Lambda task reports, as the Lambda runtime makes it: the same name (which Retry
 * and Catch match) and, as Cause, the runtime's JSON of the error, so the workflow reads the
 * same Cause here as in AWS.
 */
function functionError(error: unknown): Error {
  const thrown = error instanceof Error ? error : new Error(String(error));
  const reported = new Error(
    JSON.stringify({ errorType: thrown.name, errorMessage: thrown.message, trace: (thrown.stack ?? '').split('\n') }),
  );
  reported.name = thrown.name;
  return reported;
}

/** The function's own message inside a Cause made by {@link functionError}; any other text as it is. */
export function functionErrorMessage(cause: string): string {
  try {
    const { errorMessage } = JSON.parse(cause) as { errorMessage?: unknown };
    return typeof errorMessage === 'string' ? errorMessage : cause;
  } catch {
    return cause;
  }
}

async function bindTask(
  name: string,
  state: StateDefinition,
  handlerEntries: Map<string, string>,
  options: LocalRunOptions,
): Promise<(input: unknown) => Promise<unknown>> {
  const entry = state.Resource && handlerEntries.get(state.Resource);
  if (entry) {
    const { handler } = (await import(pathToFileURL(path.join(ROOT, entry)).href)) as { handler: LambdaHandler };
    return (input) =>
      handler(input, lambdaContext(name, options.lambdaTimeoutMs)).catch((error: unknown) =>
        Promise.reject(functionError(error)),
      );
  }
  if (state.Resource === SQS_SEND_MESSAGE) {
    return async (input) => {
      const { MessageBody } = input as { QueueUrl: string; MessageBody: unknown };
      // Step Functions serializes an object body; the deployed queue's URL means the local queue here.
      const body = typeof MessageBody === 'string' ? MessageBody : JSON.stringify(MessageBody);
      const [{ sqs, queueUrl }, { SendMessageCommand }] = await Promise.all([
        options.failedBatches(),
        import('@aws-sdk/client-sqs'),
      ]);
      const sent = await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
      return { MessageId: sent.MessageId, MD5OfMessageBody: sent.MD5OfMessageBody };
    };
  }
  throw new Error(`Task state ${name} calls ${state.Resource}, which the local runner cannot bind`);
}

/** Every Task state, with nested Map processors, as [name, definition] pairs. */
function taskStates(definition: { States: Record<string, StateDefinition> }): [string, StateDefinition][] {
  return Object.entries(definition.States).flatMap(([name, state]) => [
    ...(state.Type === 'Task' ? [[name, state] as [string, StateDefinition]] : []),
    ...(state.ItemProcessor ? taskStates(state.ItemProcessor) : []),
  ]);
}
