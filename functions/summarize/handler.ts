import { MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import { RangesFailedError } from '../core/errors.js';
import type { RunSummary } from '../core/ledger.js';
import { type SummarizeEvent, summarize } from '../core/summarize.js';
import { type ConnectionPairContext, connectionPair } from '../middleware/connection-pair.js';
import { DATABASES } from '../middleware/databases.js';
import { METRIC } from '../middleware/metric-names.js';
import { observability } from '../middleware/observability.js';

export const handler = middy<SummarizeEvent, RunSummary, Error, ConnectionPairContext<'target'>>()
  .use(
    observability<SummarizeEvent, RunSummary>({
      step: 'Summarize',
      measure: (summary, metrics) => metrics.addMetric(METRIC.rangesFailed, MetricUnit.Count, summary.failed),
      measureError: (error, metrics) => {
        if (error instanceof RangesFailedError) metrics.addMetric(METRIC.rangesFailed, MetricUnit.Count, error.failed);
      },
      loggedResult: ({ rangeResults, ...totals }) => totals,
    }),
  )
  .use(connectionPair({ sides: DATABASES.summarize }))
  .handler((event, context) => summarize(event, context.connections.target));
