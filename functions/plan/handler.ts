import middy from '@middy/core';
import { defaultsFromEnvironment } from '../core/input.js';
import { type PlanEvent, type PlannedRun, plan, withoutItems } from '../core/plan.js';
import { type ConnectionPairContext, connectionPair } from '../middleware/connection-pair.js';
import { DATABASES } from '../middleware/databases.js';
import { observability } from '../middleware/observability.js';

export const handler = middy<PlanEvent, PlannedRun, Error, ConnectionPairContext>()
  .use(observability<PlanEvent, PlannedRun>({ step: 'Plan', loggedResult: (result) => result }))
  .use(connectionPair({ sides: DATABASES.plan }))
  .handler(async (event, context) => withoutItems(await plan(event, context.connections, defaultsFromEnvironment())));
