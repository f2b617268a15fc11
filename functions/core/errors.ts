/**
 * Named errors. The workflow's Retry and Catch match on `name`, so every error that leaves a
 * handler is one of these, and database errors are classified in exactly one place:
 * {@link classifyDatabaseError}.
 */

abstract class MigrationError extends Error {
  abstract override readonly name: string;
}

/** The execution input (or a CLI flag) is invalid; nothing was read or written. */
export class InputValidationError extends MigrationError {
  override readonly name = 'InputValidationError';
}

/** The source or target table cannot be migrated as it is (no integer key, missing table...). */
export class SchemaError extends MigrationError {
  override readonly name = 'SchemaError';
}

/** A value that cannot be represented in the target; the range wrote nothing. */
export class ValueConversionError extends MigrationError {
  override readonly name = 'ValueConversionError';
  constructor(
    readonly table: string,
    readonly column: string,
    readonly key: string,
    readonly reason: string,
  ) {
    super(`${table}.${column} at key ${key}: ${reason}`);
  }
}

/** A fault that may pass: lost connection, too many connections, deadlock, lock timeout. Retried. */
export class TransientDatabaseError extends MigrationError {
  override readonly name = 'TransientDatabaseError';
}

/** The database refused the data (constraint, invalid value). Not retried. */
export class DataRejectedError extends MigrationError {
  override readonly name = 'DataRejectedError';
}

/** Any other database failure (syntax, permissions, missing objects). Not retried. */
export class DatabaseError extends MigrationError {
  override readonly name = 'DatabaseError';
}

/** At least one range of the run did not land; raised by Summarize to fail the execution. */
export class RangesFailedError extends MigrationError {
  override readonly name = 'RangesFailedError';
}

/**
 * Another run of the same table holds its lease, so this run did nothing. The workflow ends such
 * an execution in its `AlreadyRunning` state: a skipped scheduled run is not a failure.
 */
export class RunInProgressError extends MigrationError {
  override readonly name = 'RunInProgressError';
}

/** The run's lease on its table was released or taken over by another run; the range wrote nothing. */
export class LeaseLostError extends MigrationError {
  override readonly name = 'LeaseLostError';
}

/** Error names the workflow retries with backoff. */
export const RETRYABLE_ERRORS = [TransientDatabaseError.name] as const;

type Side = 'source' | 'target';

// Node socket errors: the peer went away or never answered.
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

// mysql2 `code` values (MySQL and MariaDB server errors and client protocol states).
const MYSQL_TRANSIENT = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_TOO_MANY_USER_CONNECTIONS',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_LOCK_DEADLOCK',
  'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED',
  'ER_QUERY_INTERRUPTED',
  'ER_CLIENT_INTERACTION_TIMEOUT',
]);
const MYSQL_DATA = new Set([
  'ER_TRUNCATED_WRONG_VALUE',
  'ER_WARN_DATA_OUT_OF_RANGE',
  'ER_DATA_TOO_LONG',
  'ER_DUP_ENTRY',
]);

// PostgreSQL SQLSTATE: classes 08 (connection) and these codes may pass; 22 and 23 are the data's fault.
const PG_TRANSIENT = new Set(['40001', '40P01', '53300', '55P03', '57P01', '57P02', '57P03', '57014']);

/** Turns a driver error into one of the named errors above, keeping its message. */
export function classifyDatabaseError(error: unknown, side: Side): Error {
  if (error instanceof MigrationError) return error;
  const { code, message } = describe(error);
  const text = `${side}: ${message}${code ? ` (${code})` : ''}`;
  if (code && NETWORK_CODES.has(code)) return new TransientDatabaseError(text);
  if (side === 'source') {
    if (code && MYSQL_TRANSIENT.has(code)) return new TransientDatabaseError(text);
    if (code && MYSQL_DATA.has(code)) return new DataRejectedError(text);
  } else {
    if (code && (code.startsWith('08') || PG_TRANSIENT.has(code))) return new TransientDatabaseError(text);
    if (code && (code.startsWith('22') || code.startsWith('23'))) return new DataRejectedError(text);
    // node-postgres reports a socket closed under it with no code, only this message.
    if (!code && /^Connection terminated/.test(message)) return new TransientDatabaseError(text);
  }
  return new DatabaseError(text);
}

function describe(error: unknown): { code?: string; message: string } {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { code: typeof code === 'string' ? code : undefined, message: error.message };
  }
  return { message: String(error) };
}
