import type middy from '@middy/core';
import { rangeFailureError } from '../core/range-failure.js';

/**
 * Hands a failed range's details to the workflow: an error keeps its name, which Retry and
 * Catch match, and its message becomes the JSON the workflow's DescribeFailure step reads (the
 * failing key, the attempts, a message without row values). Use it first, so it sees the error last.
 *
 * @example
 * export const handler = middy(copyRangeHandler).use(rangeFailureReport()).use(connectionPair());
 */
export const rangeFailureReport = (): middy.MiddlewareObj => {
  const rangeFailureReportMiddlewareOnError: middy.MiddlewareFn = async (request) => {
    if (request.error) request.error = rangeFailureError(request.error);
  };
  return { onError: rangeFailureReportMiddlewareOnError };
};
