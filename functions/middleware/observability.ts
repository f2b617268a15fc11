import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type middy from '@middy/core';
import { METRICS_NAMESPACE, SERVICE } from './metric-names.js';

// Levels and silencing come from the environment (POWERTOOLS_LOG_LEVEL, POWERTOOLS_METRICS_DISABLED).
export const logger = new Logger({ serviceName: SERVICE });
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE, logger });

export interface ObservabilityOptions<Result> {
  /** The workflow state the handler serves, which starts its log messages. */
  step: string;
  /** Adds the metrics a result stands for. */
  measure?: (result: Result, metrics: Metrics) => void;
  /** Adds the metrics a failure stands for. */
  measureError?: (error: Error, metrics: Metrics) => void;
  /** What of the result to log; all of it by default. */
  loggedResult?: (result: Result) => unknown;
  logger?: Logger;
  metrics?: Metrics;
}

/**
 * Structured JSON logs and CloudWatch metrics for a handler, through Powertools' own middy
 * middlewares: every line carries the Lambda context and the event's run id, table (or tables) and range;
 * the outcome is logged once, and the metrics it stands for are flushed after it.
 *
 * @example
 * export const handler = middy(copyRange).use(observability({ step: 'CopyRange', measure: ... })).use(connectionPair());
 */
export const observability = <Event, Result>(
  opts: ObservabilityOptions<Result>,
): middy.MiddlewareObj<Event, Result>[] => {
  const options = { logger, metrics, loggedResult: (result: Result): unknown => result, ...opts };

  const observabilityMiddlewareBefore: middy.MiddlewareFn<Event, Result> = (request) => {
    options.logger.appendKeys(logKeys(request.event));
  };

  const observabilityMiddlewareAfter: middy.MiddlewareFn<Event, Result> = (request) => {
    options.measure?.(request.response as Result, options.metrics);
    options.logger.info(`${options.step} finished`, { result: options.loggedResult(request.response as Result) });
  };

  const observabilityMiddlewareOnError: middy.MiddlewareFn<Event, Result> = (request) => {
    const error = request.error ?? new Error('unknown failure');
    options.measureError?.(error, options.metrics);
    options.logger.error(`${options.step} failed`, { error });
  };

  const measured = options.measure !== undefined || options.measureError !== undefined;
  return [
    injectLambdaContext(options.logger, { resetKeys: true }) as middy.MiddlewareObj<Event, Result>,
    // Only where something is measured: an empty flush would log a warning on every invocation.
    ...(measured ? [logMetrics(options.metrics) as middy.MiddlewareObj<Event, Result>] : []),
    {
      before: observabilityMiddlewareBefore,
      after: observabilityMiddlewareAfter,
      onError: observabilityMiddlewareOnError,
    },
  ];
};

/** The run id, table (or a binlog run's tables) and range of an event, whichever it has. */
function logKeys(event: unknown): Record<string, unknown> {
  const { runId, table, tables, range, input } = (event ?? {}) as {
    runId?: unknown;
    table?: unknown;
    tables?: unknown;
    range?: unknown;
    input?: { table?: unknown };
  };
  const keys: Record<string, unknown> = {};
  if (typeof runId === 'string') keys.runId = runId;
  const named = typeof table === 'string' ? table : input?.table;
  if (typeof named === 'string') keys.table = named;
  if (Array.isArray(tables) && tables.every((name) => typeof name === 'string')) keys.tables = tables;
  if (range && typeof range === 'object') keys.range = range;
  return keys;
}
