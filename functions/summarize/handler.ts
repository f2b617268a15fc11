import middy from '@middy/core';
import { summarize, type SummarizeEvent } from '../core/summarize.js';
import { connectionPair, type ConnectionPairContext } from '../middleware/connection-pair.js';

export const handler = middy<SummarizeEvent, unknown, Error, ConnectionPairContext>()
  .use(connectionPair())
  .handler((event, context) => summarize(event, context.connections.target));
