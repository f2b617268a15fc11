import middy from '@middy/core';
import { defaultsFromEnvironment } from '../core/input.js';
import { type PlanEvent, type PlanResult, plan } from '../core/plan.js';
import { type ConnectionPairContext, connectionPair } from '../middleware/connection-pair.js';
import { DATABASES } from '../middleware/databases.js';
import { observability } from '../middleware/observability.js';

export const handler = middy<PlanEvent, PlanResult, Error, ConnectionPairContext>()
  .use(
    observability<PlanEvent, PlanResult>({
      step: 'Plan',
      // The range list can be long; the ledger has it.
      loggedResult: ({ ranges, ...rest }) => ({ ...rest, ranges: ranges.length }),
    }),
  )
  .use(connectionPair({ sides: DATABASES.plan }))
  .handler((event, context) => plan(event, context.connections, defaultsFromEnvironment()));
