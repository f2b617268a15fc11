import middy from '@middy/core';
import { copyRange, type CopyRangeEvent } from '../core/copy-range.js';
import { connectionPair, type ConnectionPairContext } from '../middleware/connection-pair.js';

export const handler = middy<CopyRangeEvent, unknown, Error, ConnectionPairContext>()
  .use(connectionPair())
  .handler((event, context) => copyRange(event, context.connections));
