import type middy from '@middy/core';
import type { Context } from 'aws-lambda';
import {
  type ConnectionPair,
  closeSource,
  closeTarget,
  type Endpoint,
  endpointFromEnvironment,
  openSource,
  openTarget,
} from '../core/connections.js';
import { classifyEitherSide } from '../core/errors.js';

/** A database of the pair: the MySQL source or the PostgreSQL target. */
export type Side = keyof ConnectionPair;

export interface ConnectionPairContext<S extends Side = Side> extends Context {
  connections: Pick<ConnectionPair, S>;
  /**
   * Opens a fresh target connection, for the one write a failure must still make when the pair's
   * own may be dead (the caller closes it).
   */
  reopenTarget: () => Promise<ConnectionPair['target']>;
}

export interface ConnectionPairOptions<S extends Side = Side> {
  /**
   * The databases to open; a handler that needs one side only names it, so it neither reads the
   * other side's secret nor holds a connection to it.
   */
  sides?: readonly S[];
  /** Where a database is; by default from the environment (Secrets Manager in AWS, URLs locally). */
  endpoint?: (side: Side) => Promise<Endpoint>;
}

const defaults: Required<ConnectionPairOptions> = {
  sides: ['source', 'target'],
  endpoint: (side) => endpointFromEnvironment(side),
};

const open = { source: openSource, target: openTarget } as const;

/**
 * Opens a fresh mysql2 connection and a fresh pg client (or only the `sides` given) before the
 * handler and closes them after it, on success and on error. Nothing is pooled between
 * invocations, so a Map's concurrency bounds the connections held on each database.
 *
 * @example
 * export const handler = middy(copyRangeHandler).use(connectionPair());
 * export const handler = middy(summarizeHandler).use(connectionPair({ sides: ['target'] }));
 */
export const connectionPair = <S extends Side = Side>(
  opts: ConnectionPairOptions<S> = {},
): middy.MiddlewareObj<unknown, unknown, Error, ConnectionPairContext<S>> => {
  const options = { ...defaults, ...opts };
  const opened = new WeakMap<object, Partial<ConnectionPair>>();

  const connectionPairMiddlewareBefore: middy.MiddlewareFn<unknown, unknown, Error, ConnectionPairContext<S>> = async (
    request,
  ) => {
    const pair: Partial<ConnectionPair> = {};
    opened.set(request, pair);
    // Every side's attempt finishes before any failure is thrown, so a side that did open is closed
    // by onError instead of opening after the cleanup and leaking.
    const attempts = await Promise.allSettled(
      options.sides.map(async (side) => {
        const endpoint = await options.endpoint(side);
        const connection = await open[side](endpoint);
        Object.assign(pair, { [side]: connection });
      }),
    );
    for (const attempt of attempts) if (attempt.status === 'rejected') throw attempt.reason;
    request.context.connections = pair as Pick<ConnectionPair, S>;
    request.context.reopenTarget = async () => openTarget(await options.endpoint('target'));
  };

  const connectionPairMiddlewareClose: middy.MiddlewareFn<unknown, unknown, Error, ConnectionPairContext<S>> = async (
    request,
  ) => {
    const pair = opened.get(request);
    if (!pair) return;
    opened.delete(request);
    await Promise.all([pair.source && closeSource(pair.source), pair.target && closeTarget(pair.target)]);
  };

  // Whatever a database said leaves the handler as a named error, which the workflow's Retry and Catch match.
  const connectionPairMiddlewareOnError: middy.MiddlewareFn<unknown, unknown, Error, ConnectionPairContext<S>> = async (
    request,
  ) => {
    if (request.error) request.error = classifyEitherSide(request.error);
    await connectionPairMiddlewareClose(request);
  };

  return {
    before: connectionPairMiddlewareBefore,
    after: connectionPairMiddlewareClose,
    onError: connectionPairMiddlewareOnError,
  };
};
