import { DataRejectedError, MigrationError, ValueConversionError, VerificationMismatchError } from './errors.js';

/**
 * What a failed CopyRange or VerifyRange invocation tells the workflow, as its error message (the
 * only part of an error that reaches a Catch): a message that names no value of any row, the
 * failing row's key when one row is to blame, and the attempts the ledger counted. Free of zod,
 * so it adds nothing to the CopyRange bundle; failed-batch.ts reads it back with a schema.
 */
export interface RangeFailure {
  message: string;
  key: string | null;
  attempts: number | null;
}

/** The message of an error without any value a row held: what may leave the Lambda. */
export function messageWithoutValues(error: Error): string {
  if (error instanceof ValueConversionError) {
    return `${error.table}.${error.column} at key ${error.key}: the value cannot be represented in PostgreSQL (the ledger has the reason)`;
  }
  if (error instanceof VerificationMismatchError) return error.withoutValues;
  if (error instanceof DataRejectedError) {
    if (!error.refusal) return 'a database refused a row';
    const { side, code, constraint, column } = error.refusal;
    return `the ${side} refused a row (SQLSTATE ${code}${constraint ? `, constraint ${constraint}` : ''}${column ? `, column ${column}` : ''})`;
  }
  return error.message;
}

/** The error a failed CopyRange leaves the Lambda with: same name (Retry and Catch match it), a {@link RangeFailure} as message. */
export function rangeFailureError(error: Error): Error {
  const failure: RangeFailure = {
    message: messageWithoutValues(error),
    key: error instanceof MigrationError ? error.failingKey : null,
    attempts: error instanceof MigrationError ? error.attempts : null,
  };
  const reported = new Error(JSON.stringify(failure));
  reported.name = error.name;
  return reported;
}
