import type middy from '@middy/core';
import type { Context } from 'aws-lambda';
import {
  type ConnectionPair,
  closeSource,
  closeTarget,
  type Endpoints,
  endpointsFromEnvironment,
  openSource,
  openTarget,
} from '../core/connections.js';

export interface ConnectionPairContext extends Context {
  connections: ConnectionPair;
}

export interface ConnectionPairOptions {
  /** Where the databases are; by default from the environment (Secrets Manager in AWS, URLs locally). */
  endpoints?: () => Promise<Endpoints>;
}

const defaults: Required<ConnectionPairOptions> = {
  endpoints: () => endpointsFromEnvironment(),
};

/**
 * Opens a fresh mysql2 connection and a fresh pg client before the handler and closes both after
 * it, on success and on error. Nothing is pooled between invocations, so a Map's concurrency
 * bounds the connections held on each database.
 *
 * @example
 * export const handler = middy(copyRangeHandler).use(connectionPair());
 */
export const connectionPair = (
  opts: ConnectionPairOptions = {},
): middy.MiddlewareObj<unknown, unknown, Error, ConnectionPairContext> => {
  const options = { ...defaults, ...opts };
  const opened = new WeakMap<object, Partial<ConnectionPair>>();

  const connectionPairMiddlewareBefore: middy.MiddlewareFn<unknown, unknown, Error, ConnectionPairContext> = async (
    request,
  ) => {
    const endpoints = await options.endpoints();
    const pair: Partial<ConnectionPair> = {};
    opened.set(request, pair);
    // Both attempts finish before either failure is thrown, so the side that did open is closed
    // by onError instead of opening after the cleanup and leaking.
    const [source, target] = await Promise.allSettled([openSource(endpoints.source), openTarget(endpoints.target)]);
    if (source.status === 'fulfilled') pair.source = source.value;
    if (target.status === 'fulfilled') pair.target = target.value;
    if (source.status === 'rejected') throw source.reason;
    if (target.status === 'rejected') throw target.reason;
    request.context.connections = pair as ConnectionPair;
  };

  const connectionPairMiddlewareClose: middy.MiddlewareFn<unknown, unknown, Error, ConnectionPairContext> = async (
    request,
  ) => {
    const pair = opened.get(request);
    if (!pair) return;
    opened.delete(request);
    await Promise.all([pair.source && closeSource(pair.source), pair.target && closeTarget(pair.target)]);
  };

  return {
    before: connectionPairMiddlewareBefore,
    after: connectionPairMiddlewareClose,
    onError: connectionPairMiddlewareClose,
  };
};
