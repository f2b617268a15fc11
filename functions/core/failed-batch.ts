import { z } from 'zod';
import { NAME, NAME_RULE } from './identifiers.js';
import { policiesSchema } from './policies.js';
import type { RangeFailure } from './range-failure.js';
import { BOUNDARY, BOUNDARY_RULE } from './ranges.js';

/**
 * The row a failure is about, as errors name it: its integer key, its tuple key's values,
 * `(3, "Émile")`, or its place in a table without a key, `(no key; row 12)`. Bounded, so no
 * more of a row than its key can ride along.
 */
const ROW_KEY = z.string().min(1).max(1024);

/** The schema of a {@link RangeFailure}, which DescribeFailure reads back. */
export const rangeFailureSchema = z.strictObject({
  message: z.string(),
  key: ROW_KEY.nullable(),
  attempts: z.number().int().positive().nullable(),
}) satisfies z.ZodType<RangeFailure>;

/**
 * The failed-batches queue message, version 1: one per range that failed after its retries.
 * Strict, so nothing else (credentials, row values) can ride along; docs/FAILURES.md shows it.
 */
export const failedBatchMessageSchema = z.strictObject({
  version: z.literal(1),
  execution: z.string().min(1),
  runId: z.string().min(1),
  table: z.string().regex(NAME, NAME_RULE),
  range: z.strictObject({
    index: z.number().int().nonnegative(),
    lo: z.string().regex(BOUNDARY, BOUNDARY_RULE).nullable(),
    hi: z.string().regex(BOUNDARY, BOUNDARY_RULE).nullable(),
  }),
  /** The run's value policies: a redrive copies the range again under the same ones. */
  policies: policiesSchema,
  error: z.strictObject({
    /** The error's name, as Retry and Catch match it (see the classification table). */
    name: z.string().min(1),
    message: z.string(),
  }),
  /** The key of the row that made the range fail, when one row did. */
  key: ROW_KEY.nullable(),
  /** How many times the range was tried in its run, when the target could be reached to count. */
  attempts: z.number().int().positive().nullable(),
  /** When the failure was described, ISO 8601. */
  time: z.iso.datetime(),
});

export type FailedBatchMessage = z.infer<typeof failedBatchMessageSchema>;

/** The Catch output of a failed CopyRange, with the Map item it was copying. */
export const caughtRangeSchema = z.object({
  execution: z.string(),
  runId: z.string(),
  table: z.string(),
  range: failedBatchMessageSchema.shape.range,
  policies: policiesSchema,
  error: z.object({ Error: z.string(), Cause: z.string().nullish() }),
});

export type CaughtRange = z.infer<typeof caughtRangeSchema>;

// The Lambda runtime reports a function's error to Step Functions as this JSON, in `Cause`.
const lambdaErrorSchema = z.object({ errorType: z.string(), errorMessage: z.string() });

/**
 * Builds the queue message for a range whose CopyRange failed. `Cause` is the Lambda runtime's
 * error JSON around a {@link RangeFailure} when CopyRange's own code failed; for failures outside
 * it (a Lambda timeout, throttling, a service error) it is whatever Step Functions reports, and
 * the key and attempts are unknown.
 */
export function describeFailedBatch(caught: CaughtRange, now: Date): FailedBatchMessage {
  const { execution, runId, table, range, policies, error } = caughtRangeSchema.parse(caught);
  const lambdaError = parseJson(lambdaErrorSchema, error.Cause);
  const failure = lambdaError && parseJson(rangeFailureSchema, lambdaError.errorMessage);
  return failedBatchMessageSchema.parse({
    version: 1,
    execution,
    runId,
    table,
    range,
    policies,
    error: {
      name: error.Error,
      message: failure?.message ?? lambdaError?.errorMessage ?? error.Cause ?? 'no cause was reported',
    },
    key: failure?.key ?? null,
    attempts: failure?.attempts ?? null,
    time: now.toISOString(),
  });
}

function parseJson<T>(schema: z.ZodType<T>, text: string | null | undefined): T | null {
  if (!text) return null;
  try {
    const parsed = schema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
