import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import {
  classifyDatabaseError,
  DatabaseError,
  DataRejectedError,
  ERROR_CLASSES,
  RangesFailedError,
  RETRYABLE_ERRORS,
  SchemaError,
  TransientDatabaseError,
  ValueConversionError,
} from '../../functions/core/errors.js';

type Side = 'source' | 'target';
type Named = typeof TransientDatabaseError | typeof DataRejectedError | typeof DatabaseError;

/** A driver error as mysql2 and pg deliver them: an Error with a string `code`. */
const driverError = (message: string, code?: string): Error =>
  Object.assign(new Error(message), code === undefined ? {} : { code });

/**
 * Every code docs/FAILURES.md's table names, written out by hand with the named error it must
 * become; the table in errors.ts, and the docs, must agree with this list, not with each other.
 */
const CLASSIFIED: [side: Side | 'either', code: string, expected: Named][] = [
  ['either', 'ECONNRESET', TransientDatabaseError],
  ['either', 'EPIPE', TransientDatabaseError],
  ['either', 'ECONNREFUSED', TransientDatabaseError],
  ['either', 'EHOSTUNREACH', TransientDatabaseError],
  ['either', 'ENETUNREACH', TransientDatabaseError],
  ['either', 'EAI_AGAIN', TransientDatabaseError],
  ['either', 'ETIMEDOUT', TransientDatabaseError],
  ['either', 'ECONNABORTED', TransientDatabaseError],
  ['either', 'ERR_STREAM_PREMATURE_CLOSE', TransientDatabaseError],
  ['either', 'ERR_STREAM_DESTROYED', TransientDatabaseError],
  ['source', 'PROTOCOL_CONNECTION_LOST', TransientDatabaseError],
  ['source', 'ER_CONNECTION_KILLED', TransientDatabaseError],
  ['source', 'ER_SERVER_SHUTDOWN', TransientDatabaseError],
  ['source', 'ER_CON_COUNT_ERROR', TransientDatabaseError],
  ['source', 'ER_TOO_MANY_USER_CONNECTIONS', TransientDatabaseError],
  ['source', 'ER_LOCK_WAIT_TIMEOUT', TransientDatabaseError],
  ['source', 'ER_LOCK_DEADLOCK', TransientDatabaseError],
  ['source', 'PROTOCOL_SEQUENCE_TIMEOUT', TransientDatabaseError],
  ['source', 'ER_CLIENT_INTERACTION_TIMEOUT', TransientDatabaseError],
  ['source', 'ER_QUERY_INTERRUPTED', TransientDatabaseError],
  ['target', '08', TransientDatabaseError],
  ['target', '57P01', TransientDatabaseError],
  ['target', '57P02', TransientDatabaseError],
  ['target', '57P03', TransientDatabaseError],
  ['target', '53300', TransientDatabaseError],
  ['target', '40001', TransientDatabaseError],
  ['target', '40P01', TransientDatabaseError],
  ['target', '55P03', TransientDatabaseError],
  ['target', '57014', TransientDatabaseError],
  ['source', 'ER_TRUNCATED_WRONG_VALUE', DataRejectedError],
  ['source', 'ER_WARN_DATA_OUT_OF_RANGE', DataRejectedError],
  ['source', 'ER_DATA_TOO_LONG', DataRejectedError],
  ['source', 'ER_DUP_ENTRY', DataRejectedError],
  ['target', '22', DataRejectedError],
  ['target', '23', DataRejectedError],
];

const CASES: [side: Side, code: string | undefined, message: string, expected: Named][] = [
  // mysql2 (source): client protocol states and server error names.
  ['source', 'PROTOCOL_CONNECTION_LOST', 'Connection lost: The server closed the connection.', TransientDatabaseError],
  ['source', 'ER_LOCK_DEADLOCK', 'Deadlock found when trying to get lock', TransientDatabaseError],
  ['source', 'ER_CON_COUNT_ERROR', 'Too many connections', TransientDatabaseError],
  ['source', 'ER_LOCK_WAIT_TIMEOUT', 'Lock wait timeout exceeded', TransientDatabaseError],
  ['source', 'ER_DUP_ENTRY', "Duplicate entry '1' for key 'PRIMARY'", DataRejectedError],
  ['source', 'ER_PARSE_ERROR', 'You have an error in your SQL syntax', DatabaseError],
  ['source', 'ER_NO_SUCH_TABLE', "Table 'app.nope' doesn't exist", DatabaseError],
  // pg (target): SQLSTATE codes.
  ['target', '08006', 'connection failure', TransientDatabaseError],
  ['target', '08001', 'could not establish connection', TransientDatabaseError],
  ['target', '40001', 'could not serialize access due to concurrent update', TransientDatabaseError],
  ['target', '40P01', 'deadlock detected', TransientDatabaseError],
  ['target', '57P01', 'terminating connection due to administrator command', TransientDatabaseError],
  ['target', '53300', 'sorry, too many clients already', TransientDatabaseError],
  ['target', '22P02', 'invalid input syntax for type integer: "x"', DataRejectedError],
  ['target', '22021', 'invalid byte sequence for encoding "UTF8": 0x00', DataRejectedError],
  ['target', '23505', 'duplicate key value violates unique constraint "users_pkey"', DataRejectedError],
  ['target', '42601', 'syntax error at or near "SELEC"', DatabaseError],
  ['target', '42P01', 'relation "public.nope" does not exist', DatabaseError],
  // Node sockets, either side.
  ['source', 'ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:3306', TransientDatabaseError],
  ['target', 'ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432', TransientDatabaseError],
  ['source', 'ETIMEDOUT', 'connect ETIMEDOUT', TransientDatabaseError],
  ['target', 'ECONNRESET', 'read ECONNRESET', TransientDatabaseError],
  // node-postgres reports a socket closed under it with no code at all.
  ['target', undefined, 'Connection terminated unexpectedly', TransientDatabaseError],
  ['target', undefined, 'Connection terminated due to connection timeout', TransientDatabaseError],
  ['target', undefined, 'Client has encountered a connection error and is not queryable', TransientDatabaseError],
  ['target', undefined, 'Client was closed and is not queryable', TransientDatabaseError],
  // mysql2 refuses a query on a connection it lost, with no code.
  ['source', undefined, "Can't add new command when connection is in closed state", TransientDatabaseError],
  ['source', undefined, "Can't write in closed state", TransientDatabaseError],
  // The same words mean nothing from the other driver.
  ['source', undefined, 'Connection terminated unexpectedly', DatabaseError],
  ['target', undefined, "Can't add new command when connection is in closed state", DatabaseError],
  ['target', undefined, 'permission denied for schema public', DatabaseError],
];

describe('classifyDatabaseError', () => {
  for (const [side, code, message, expected] of CASES) {
    test(`${side} ${code ?? 'error without a code'} (${message}) becomes ${expected.name}`, () => {
      const classified = classifyDatabaseError(driverError(message, code), side);
      assert.ok(classified instanceof expected, `got ${classified.name}`);
      assert.equal(classified.name, expected.name);
      // The message keeps the side, the driver's message and its code, for the ledger and the queue.
      assert.equal(classified.message, `${side}: ${message}${code ? ` (${code})` : ''}`);
    });
  }

  test('an error that is already named passes through unchanged (same object)', () => {
    for (const named of [
      new TransientDatabaseError('source: lost'),
      new DataRejectedError('target: bad'),
      new SchemaError('no primary key'),
      new ValueConversionError('users', 'born', '7', 'zero date'),
      new RangesFailedError('2 ranges failed', 2),
    ]) {
      assert.equal(classifyDatabaseError(named, 'target'), named);
      assert.equal(classifyDatabaseError(named, 'source'), named);
    }
  });

  test('a thrown non-Error value becomes a DatabaseError carrying its text', () => {
    const classified = classifyDatabaseError('socket hang up', 'source');
    assert.ok(classified instanceof DatabaseError);
    assert.equal(classified.message, 'source: socket hang up');
  });

  test('a non-string code (a numeric errno) is ignored rather than matched', () => {
    const classified = classifyDatabaseError(Object.assign(new Error('odd driver error'), { code: 1213 }), 'source');
    assert.ok(classified instanceof DatabaseError);
    assert.equal(classified.message, 'source: odd driver error');
  });
});

describe('the classification table (docs/FAILURES.md)', () => {
  const more: [side: Side, code: string, expected: Named][] = [
    ['target', '23514', DataRejectedError],
    ['target', '28P01', DatabaseError],
    ['source', 'ER_ACCESS_DENIED_ERROR', DatabaseError],
    // A PostgreSQL code means nothing from MySQL, and the other way round.
    ['source', '57P01', DatabaseError],
    ['target', 'ER_LOCK_DEADLOCK', DatabaseError],
  ];
  for (const [side, code, expected] of more) {
    test(`${side} ${code} becomes ${expected.name}`, () => {
      assert.equal(classifyDatabaseError(driverError('driver says no', code), side).name, expected.name);
    });
  }

  test('only transient faults are retried', () => {
    assert.deepEqual([...RETRYABLE_ERRORS], ['TransientDatabaseError']);
  });

  test('the table in errors.ts names exactly the codes written out here', () => {
    assert.deepEqual(
      ERROR_CLASSES.flatMap((rule) => rule.codes.map((code) => `${rule.side} ${code}`)).sort(),
      CLASSIFIED.map(([side, code]) => `${side} ${code}`).sort(),
    );
  });

  for (const [side, code, expected] of CLASSIFIED) {
    const sides: Side[] = side === 'either' ? ['source', 'target'] : [side];
    // A two-character SQLSTATE names a whole class: any code of it is classified alike.
    const codes = code.length === 2 ? [code, `${code}000`, `${code}P99`] : [code];
    test(`${side} ${code} becomes ${expected.name}`, () => {
      for (const on of sides)
        for (const reported of codes)
          assert.equal(classifyDatabaseError(driverError('driver says no', reported), on).name, expected.name);
    });
  }

  test('a refused row keeps where it was refused, never the value', () => {
    const refused = classifyDatabaseError(
      Object.assign(driverError('invalid input syntax for type integer: "secret"', '22P02'), {
        where: 'COPY users, line 42, column age: "secret"',
      }),
      'target',
    );
    assert.deepEqual((refused as DataRejectedError).refusal, { side: 'target', code: '22P02', column: 'age' });
    const check = classifyDatabaseError(
      Object.assign(driverError('violates check constraint', '23514'), { constraint: 'users_age_check' }),
      'target',
    );
    assert.deepEqual((check as DataRejectedError).refusal, {
      side: 'target',
      code: '23514',
      constraint: 'users_age_check',
    });
  });

  test("docs/FAILURES.md's table holds exactly these codes, each in its class and database", () => {
    const docs = readFileSync(new URL('../../docs/FAILURES.md', import.meta.url), 'utf8');
    const DATABASE: Record<string, Side | 'either'> = { either: 'either', MySQL: 'source', PostgreSQL: 'target' };
    const documented = [...docs.matchAll(/^\| (transient|data) \| (either|MySQL|PostgreSQL) \| ([^|]+) \|/gm)].flatMap(
      ([, errorClass, database, codes]) =>
        [...codes!.matchAll(/`([A-Z0-9_]+)`/g)].map(([, code]) => `${errorClass} ${DATABASE[database!]} ${code}`),
    );
    const CLASS = { TransientDatabaseError: 'transient', DataRejectedError: 'data' } as Record<string, string>;
    assert.deepEqual(
      documented.sort(),
      CLASSIFIED.map(([side, code, expected]) => `${CLASS[expected.name]} ${side} ${code}`).sort(),
    );
  });
});
