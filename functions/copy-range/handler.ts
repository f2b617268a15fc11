import { MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import { type CopyRangeEvent, type CopyRangeResult, copyRange, timeBudget } from '../core/copy-range.js';
import { type ConnectionPairContext, connectionPair } from '../middleware/connection-pair.js';
import { DATABASES } from '../middleware/databases.js';
import { METRIC } from '../middleware/metric-names.js';
import { observability } from '../middleware/observability.js';
import { rangeFailureReport } from '../middleware/range-failure-report.js';

export const handler = middy<CopyRangeEvent, CopyRangeResult, Error, ConnectionPairContext>()
  // Outermost, so the logs get the error as it leaves the Lambda: no value of any row in it.
  .use(
    observability<CopyRangeEvent, CopyRangeResult>({
      step: 'CopyRange',
      measure: (result, metrics) =>
        metrics
          .addMetric(METRIC.rowsCopied, MetricUnit.Count, result.rows)
          .addMetric(METRIC.rangeSeconds, MetricUnit.Seconds, result.seconds),
      measureError: (_error, metrics) => metrics.addMetric(METRIC.rangeErrors, MetricUnit.Count, 1),
    }),
  )
  .use(rangeFailureReport())
  .use(connectionPair({ sides: DATABASES['copy-range'] }))
  .handler((event, context) =>
    copyRange(
      event,
      context.connections,
      timeBudget(() => context.getRemainingTimeInMillis()),
      context.reopenTarget,
    ),
  );
