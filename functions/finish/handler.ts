import { MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import { type FinishEvent, type FinishResult, finish } from '../core/finish/finish.js';
import { type ConnectionPairContext, connectionPair } from '../middleware/connection-pair.js';
import { DATABASES } from '../middleware/databases.js';
import { METRIC } from '../middleware/metric-names.js';
import { observability } from '../middleware/observability.js';

export const handler = middy<FinishEvent, FinishResult, Error, ConnectionPairContext>()
  .use(
    observability<FinishEvent, FinishResult>({
      step: 'Finish',
      measure: (result, metrics) => metrics.addMetric(METRIC.constraintsNotValid, MetricUnit.Count, result.notValid),
    }),
  )
  .use(connectionPair({ sides: DATABASES.finish }))
  .handler((event, context) => finish(event, context.connections));
