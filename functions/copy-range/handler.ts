import middy from '@middy/core';
import { copyRange, timeBudget, type CopyRangeEvent } from '../core/copy-range.js';
import { connectionPair, type ConnectionPairContext } from '../middleware/connection-pair.js';
import { rangeFailure } from '../middleware/range-failure.js';

export const handler = middy<CopyRangeEvent, unknown, Error, ConnectionPairContext>()
  .use(rangeFailure())
  .use(connectionPair())
  .handler((event, context) => copyRange(event, context.connections, timeBudget(() => context.getRemainingTimeInMillis())));
