/**
 * Named errors. The workflow's Retry and Catch match on `name`, so every error that leaves a
 * handler is one of these, and database errors are classified in exactly one place:
 * {@link classifyDatabaseError}.
 */

export abstract class MigrationError extends Error {
  abstract override readonly name: string;
  /** The key of the row that made a range fail, when one row did. */
  failingKey: string | null = null;
  /** How many times the ledger counted the range tried when this error ended the attempt. */
  attempts: number | null = null;
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
    this.failingKey = key;
  }
}

/** A fault that may pass: lost connection, too many connections, deadlock, lock timeout. Retried. */
export class TransientDatabaseError extends MigrationError {
  override readonly name = 'TransientDatabaseError';
}

/** Where a database's refusal points, without the refused value. */
export interface Refusal {
  side: Side;
  code: string;
  constraint?: string;
  column?: string;
}

/** The database refused the data (constraint, invalid value). Not retried. */
export class DataRejectedError extends MigrationError {
  override readonly name = 'DataRejectedError';
  constructor(
    message: string,
    readonly refusal?: Refusal,
  ) {
    super(message);
  }
}

/** Any other database failure (syntax, permissions, missing objects). Not retried. */
export class DatabaseError extends MigrationError {
  override readonly name = 'DatabaseError';
}

/**
 * The target's rows of a range differ from the source's. The message says where and shows both
 * values (for the ledger); `withoutValues` says where only, for what leaves the Lambda. Not retried.
 */
export class VerificationMismatchError extends MigrationError {
  override readonly name = 'VerificationMismatchError';
  constructor(
    message: string,
    readonly withoutValues: string,
    /** The first key that differs. */
    firstKey: string | null,
  ) {
    super(message);
    this.failingKey = firstKey;
  }
}

/** At least one range of the run did not land; raised by Summarize to fail the execution. */
export class RangesFailedError extends MigrationError {
  override readonly name = 'RangesFailedError';
  constructor(
    message: string,
    /** How many ranges failed. */
    readonly failed: number,
  ) {
    super(message);
  }
}

/**
 * Another run of the same table holds its lease, so this run did nothing. The workflow ends such
 * an execution in its `AlreadyRunning` state: a skipped scheduled run is not a failure.
 */
export class RunInProgressError extends MigrationError {
  override readonly name = 'RunInProgressError';
}

/**
 * A run of given ranges (a redrive, a retry) found its table held by another run. Unlike a skipped
 * scheduled run its ranges must still be copied, so the workflow waits and tries Plan again.
 */
export class TableBusyError extends MigrationError {
  override readonly name = 'TableBusyError';
}

/** The run's lease on its table was released or taken over by another run; the range wrote nothing. */
export class LeaseLostError extends MigrationError {
  override readonly name = 'LeaseLostError';
}

/**
 * The source's binary log cannot serve a binlog run: it is off, not `ROW`/`FULL`, or the server
 * lacks what the run needs to read it exactly. The message names the setting to change. Not retried.
 */
export class BinlogSettingsError extends MigrationError {
  override readonly name = 'BinlogSettingsError';
}

/**
 * The binary log cannot bring the target up to date from its checkpoint (DDL or TRUNCATE on a
 * migrated table, the log purged past the checkpoint, no checkpoint yet): a full run is needed.
 */
export class FullRunNeededError extends MigrationError {
  override readonly name = 'FullRunNeededError';
}

/** At cut-over, the source still took writes to the run's tables while it should have been quiet. */
export class WritesContinueError extends MigrationError {
  override readonly name = 'WritesContinueError';
}

/** A binlog run's changes did not land (its ApplyChanges failed); raised by Summarize to fail the execution. */
export class ChangesFailedError extends MigrationError {
  override readonly name = 'ChangesFailedError';
}

/** The finishing step (indexes, keys, sequences...) failed or never reported back; raised by Summarize to fail the execution. */
export class FinishFailedError extends MigrationError {
  override readonly name = 'FinishFailedError';
}

/** Error names the workflow retries with backoff. */
export const RETRYABLE_ERRORS = [TransientDatabaseError.name] as const;

type Side = 'source' | 'target';

/** What a database error means for the range: retry it, or stop and report it. */
export type ErrorClass = 'transient' | 'data' | 'other';

interface ClassRule {
  class: Exclude<ErrorClass, 'other'>;
  /** Which database reports it; `either` for Node socket errors. */
  side: Side | 'either';
  /** mysql2 `code`, Node socket `code`, or PostgreSQL SQLSTATE (a two-character class covers the class). */
  codes: readonly string[];
  /** How the message of a driver error without a code starts, when that is all that says what it is. */
  messages?: readonly string[];
  why: string;
}

/**
 * The classification table: every database error that is not `other` is in one row here, and
 * docs/FAILURES.md shows the same rows. Transient faults are retried with backoff; data faults
 * fail the range at once (retrying cannot change the data); anything else (permissions, a
 * missing table, SQL the server rejects) is not retried either.
 */
export const ERROR_CLASSES: readonly ClassRule[] = [
  { class: 'transient', side: 'either', codes: ['ECONNRESET', 'EPIPE'], why: 'connection reset or broken' },
  {
    class: 'transient',
    side: 'either',
    codes: ['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'],
    why: 'database unreachable or not accepting connections',
  },
  {
    class: 'transient',
    side: 'either',
    codes: ['ETIMEDOUT'],
    why: 'connect or socket timeout, or a silent connection',
  },
  {
    class: 'transient',
    side: 'either',
    codes: ['ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED'],
    why: 'a stream cut off with its connection',
  },
  {
    class: 'transient',
    side: 'source',
    codes: ['PROTOCOL_CONNECTION_LOST', 'ER_CONNECTION_KILLED', 'ER_SERVER_SHUTDOWN'],
    why: 'connection lost or killed, server shutting down',
  },
  {
    class: 'transient',
    side: 'source',
    codes: [],
    messages: ["Can't add new command when connection is in closed state", "Can't write in closed state"],
    why: 'a query on a connection that was lost',
  },
  {
    class: 'transient',
    side: 'source',
    codes: ['ER_CON_COUNT_ERROR', 'ER_TOO_MANY_USER_CONNECTIONS'],
    why: 'too many connections',
  },
  {
    class: 'transient',
    side: 'source',
    codes: ['ER_LOCK_WAIT_TIMEOUT', 'ER_LOCK_DEADLOCK'],
    why: 'lock wait timeout, deadlock',
  },
  {
    class: 'transient',
    side: 'source',
    codes: ['PROTOCOL_SEQUENCE_TIMEOUT', 'ER_CLIENT_INTERACTION_TIMEOUT', 'ER_QUERY_INTERRUPTED'],
    why: 'timeout, query interrupted',
  },
  { class: 'transient', side: 'target', codes: ['08'], why: 'connection exception (class 08)' },
  {
    class: 'transient',
    side: 'target',
    codes: [],
    messages: [
      'Connection terminated',
      'Client has encountered a connection error and is not queryable',
      'Client was closed and is not queryable',
    ],
    why: 'the socket closed under the client, or a query on a client whose connection is gone',
  },
  {
    class: 'transient',
    side: 'target',
    codes: ['57P01', '57P02', '57P03'],
    why: 'admin or crash shutdown, cannot connect now',
  },
  { class: 'transient', side: 'target', codes: ['53300'], why: 'too many connections' },
  {
    class: 'transient',
    side: 'target',
    codes: ['40001', '40P01', '55P03'],
    why: 'serialization failure, deadlock, lock not available',
  },
  { class: 'transient', side: 'target', codes: ['57014'], why: 'statement timeout or query cancelled' },
  {
    class: 'data',
    side: 'source',
    codes: ['ER_TRUNCATED_WRONG_VALUE', 'ER_WARN_DATA_OUT_OF_RANGE', 'ER_DATA_TOO_LONG', 'ER_DUP_ENTRY'],
    why: 'the source refused a value',
  },
  { class: 'data', side: 'target', codes: ['22'], why: 'data exception (class 22): a value the column cannot hold' },
  {
    class: 'data',
    side: 'target',
    codes: ['23'],
    why: 'integrity constraint violation (class 23): unique, check, not null, foreign key',
  },
];

/**
 * The class of a driver error on one side, by its code or, for an error without one, by how its
 * message starts; `other` when no row of {@link ERROR_CLASSES} names it.
 */
export function classOf(code: string | undefined, side: Side, message = ''): ErrorClass {
  const rule = ERROR_CLASSES.find(
    (r) =>
      (r.side === side || r.side === 'either') &&
      (code
        ? r.codes.some((c) => c === code || (c.length === 2 && side === 'target' && code.startsWith(c)))
        : r.messages?.some((start) => message.startsWith(start))),
  );
  return rule?.class ?? 'other';
}

/** Turns a driver error into one of the named errors above, keeping its message. */
export function classifyDatabaseError(error: unknown, side: Side): MigrationError {
  if (error instanceof MigrationError) return error;
  const { code, message, constraint, column, where } = describe(error);
  const text = `${side}: ${message}${code ? ` (${code})` : ''}`;
  const errorClass = classOf(code, side, message);
  if (errorClass === 'transient') return new TransientDatabaseError(text);
  if (errorClass === 'data') {
    // PostgreSQL's context reads `COPY t, line 42, column c: "value"`: keep the column, never the value.
    const copyColumn = where && /^COPY [^,]+, line \d+, column ([^:]+)/.exec(where)?.[1];
    const refusal: Refusal = { side, code: code! };
    if (constraint) refusal.constraint = constraint;
    if (column ?? copyColumn) refusal.column = column ?? copyColumn;
    return new DataRejectedError(text, refusal);
  }
  return new DatabaseError(text);
}

/**
 * {@link classifyDatabaseError} for code that holds both connections and cannot tell which one an
 * error came from: the error says. A PostgreSQL server error carries a `severity`, and the codes
 * and messages node-postgres uses are the target's; mysql2 marks a connection it lost `fatal`, and
 * its codes are the source's. A Node socket error of neither driver is put on the target.
 */
export function classifyEitherSide(error: unknown): MigrationError {
  if (error instanceof MigrationError) return error;
  const { code, message } = describe(error);
  const fields = (error ?? {}) as { severity?: unknown; fatal?: unknown; sqlState?: unknown };
  const fromSource =
    fields.severity === undefined &&
    (fields.fatal === true || fields.sqlState !== undefined || classOf(code, 'source', message) !== 'other');
  return classifyDatabaseError(error, fromSource ? 'source' : 'target');
}

function describe(error: unknown): {
  code?: string;
  message: string;
  constraint?: string;
  column?: string;
  where?: string;
} {
  if (!(error instanceof Error)) return { message: String(error) };
  const fields = error as { code?: unknown; constraint?: unknown; column?: unknown; where?: unknown };
  const text = (value: unknown) => (typeof value === 'string' && value ? value : undefined);
  return {
    message: error.message,
    code: text(fields.code),
    constraint: text(fields.constraint),
    column: text(fields.column),
    where: text(fields.where),
  };
}
