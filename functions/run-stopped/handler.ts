import middy from '@middy/core';
import { endStoppedRun, type StoppedRun, type SummarizeEvent } from '../core/summarize.js';
import { type ConnectionPairContext, connectionPair } from '../middleware/connection-pair.js';
import { DATABASES } from '../middleware/databases.js';
import { observability } from '../middleware/observability.js';

/** Invoked by EventBridge when an execution stops without its Summarize: ends its run and frees its tables. */
export const handler = middy<SummarizeEvent, StoppedRun, Error, ConnectionPairContext<'target'>>()
  .use(observability<SummarizeEvent, StoppedRun>({ step: 'RunStopped' }))
  .use(connectionPair({ sides: DATABASES['run-stopped'] }))
  .handler((event, context) => endStoppedRun(event, context.connections.target));
