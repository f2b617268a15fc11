import { MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import { VerificationMismatchError } from '../core/errors.js';
import { type VerifyRangeEvent, type VerifyRangeResult, verifyRange } from '../core/verify-range.js';
import { type ConnectionPairContext, connectionPair } from '../middleware/connection-pair.js';
import { DATABASES } from '../middleware/databases.js';
import { METRIC } from '../middleware/metric-names.js';
import { observability } from '../middleware/observability.js';
import { rangeFailureReport } from '../middleware/range-failure-report.js';

export const handler = middy<VerifyRangeEvent, VerifyRangeResult, Error, ConnectionPairContext>()
  // Outermost, so the logs get the error as it leaves the Lambda: where the range differs, not the values.
  .use(
    observability<VerifyRangeEvent, VerifyRangeResult>({
      step: 'VerifyRange',
      measure: (result, metrics) => metrics.addMetric(METRIC.rowsVerified, MetricUnit.Count, result.rows),
      measureError: (error, metrics) => {
        metrics.addMetric(METRIC.rangeErrors, MetricUnit.Count, 1);
        if (error.name === VerificationMismatchError.name)
          metrics.addMetric(METRIC.verificationMismatches, MetricUnit.Count, 1);
      },
    }),
  )
  .use(rangeFailureReport())
  .use(connectionPair({ sides: DATABASES['verify-range'] }))
  .handler((event, context) => verifyRange(event, context.connections, context.reopenTarget));
