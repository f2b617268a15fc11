import { MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import {
  type ApplyChangesEvent,
  type ApplyChangesResult,
  applyChanges,
  changesLimits,
} from '../core/binlog/apply-changes.js';
import { timeBudget } from '../core/copy-range.js';
import { type ConnectionPairContext, connectionPair } from '../middleware/connection-pair.js';
import { DATABASES } from '../middleware/databases.js';
import { METRIC } from '../middleware/metric-names.js';
import { observability } from '../middleware/observability.js';

export const handler = middy<ApplyChangesEvent, ApplyChangesResult, Error, ConnectionPairContext>()
  .use(
    observability<ApplyChangesEvent, ApplyChangesResult>({
      step: 'ApplyChanges',
      measure: (result, metrics) => {
        metrics.addMetric(METRIC.changedRowsWritten, MetricUnit.Count, result.rowsWritten);
        if (result.lagSeconds !== null) metrics.addMetric(METRIC.binlogLag, MetricUnit.Seconds, result.lagSeconds);
      },
    }),
  )
  .use(connectionPair({ sides: DATABASES['apply-changes'] }))
  .handler((event, context) =>
    applyChanges(
      event,
      context.connections,
      timeBudget(() => context.getRemainingTimeInMillis()),
      changesLimits(),
    ),
  );
