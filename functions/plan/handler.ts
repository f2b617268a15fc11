import middy from '@middy/core';
import { defaultsFromEnvironment } from '../core/input.js';
import { plan, type PlanEvent } from '../core/plan.js';
import { connectionPair, type ConnectionPairContext } from '../middleware/connection-pair.js';

export const handler = middy<PlanEvent, unknown, Error, ConnectionPairContext>()
  .use(connectionPair())
  .handler((event, context) => plan(event, context.connections, defaultsFromEnvironment()));
