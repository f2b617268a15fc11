import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { describe, test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type mysql from 'mysql2';
import { rowBatches } from '../../functions/core/row-batches.js';
import { within } from '../support/deadline.js';

/** A mysql2 query and its connection as far as rowBatches uses them: row events, pause, resume, errors. */
function fakeQuery() {
  const query = new EventEmitter();
  const connection = Object.assign(new EventEmitter(), {
    paused: false,
    pauses: 0,
    destroyed: false,
    _fatalError: null,
    pause: () => {
      connection.paused = true;
      connection.pauses++;
    },
    resume: () => {
      connection.paused = false;
    },
    destroy: () => {
      connection.destroyed = true;
    },
  });
  /** Delivers rows the way mysql2 does for one socket read: one `result` event each, in one go. */
  const read = (...rows: number[]) => {
    for (const row of rows) query.emit('result', [row]);
  };
  const stream = rowBatches<number[]>(query as unknown as mysql.Query, connection as unknown as mysql.Connection);
  return { query, connection, read, stream };
}

describe('rowBatches', () => {
  test('hands on the rows of each socket read as one batch, and ends after the last', async () => {
    const { query, read, stream } = fakeQuery();
    const batches: number[][][] = [];
    stream.on('data', (batch: number[][]) => batches.push(batch));
    read(1, 2, 3);
    await nextTurn();
    read(4, 5);
    query.emit('end');
    await once(stream, 'end');
    assert.deepEqual(batches, [
      [[1], [2], [3]],
      [[4], [5]],
    ]);
  });

  test('pauses the connection while its reader falls behind and resumes it when the reader reads', async () => {
    const { connection, read, stream } = fakeQuery();
    for (let i = 0; i < 5 && !connection.paused; i++) {
      read(i);
      await nextTurn();
    }
    assert.equal(connection.paused, true, 'nobody reads: the connection stops delivering');
    stream.read();
    assert.equal(connection.paused, false);
    stream.destroy();
  });

  test('leaves the connection running when the query ends, even if its last batch paused it', async () => {
    const { query, connection, read, stream } = fakeQuery();
    for (let i = 0; i < 5 && !connection.paused; i++) {
      read(i);
      await nextTurn();
    }
    assert.equal(connection.paused, true);
    query.emit('end');
    await nextTurn();
    assert.equal(connection.paused, false, 'the next query on this connection gets its results');
    stream.resume();
    await once(stream, 'end');
  });

  test('a reader that stops early leaves the connection running, so the query drains', async () => {
    const { connection, read, stream } = fakeQuery();
    for (let i = 0; i < 5 && !connection.paused; i++) {
      read(i);
      await nextTurn();
    }
    stream.destroy();
    await once(stream, 'close');
    assert.equal(connection.paused, false);
  });

  test('fails the stream, and drops the connection, when the connection is lost under it', async () => {
    const { connection, stream } = fakeQuery();
    const lost = Object.assign(new Error('Connection lost: The server closed the connection.'), {
      code: 'PROTOCOL_CONNECTION_LOST',
    });
    queueMicrotask(() => connection.emit('error', lost));
    const [error] = await once(stream, 'error');
    assert.equal(error, lost);
    assert.equal(connection.destroyed, true);
  });

  test('fails a stream that is read but gets no rows and no end within the silence limit', async () => {
    process.env.DATABASE_SILENCE_MS = '50';
    try {
      const { connection, stream } = fakeQuery();
      stream.resume();
      // The watchdog's timer does not hold the process open by itself: the deadline's does.
      const [error] = await within(5_000, 'the stalled stream to fail', once(stream, 'error'));
      assert.equal((error as { code?: string }).code, 'ETIMEDOUT');
      assert.match((error as Error).message, /no row and no end of the rows came for 0.05 s/);
      assert.equal(connection.destroyed, true);
    } finally {
      delete process.env.DATABASE_SILENCE_MS;
    }
  });

  test('fails the stream with the query error', async () => {
    const { query, stream } = fakeQuery();
    const failure = new Error('Lost connection to MySQL server during query');
    queueMicrotask(() => query.emit('error', failure));
    const [error] = await once(stream, 'error');
    assert.equal(error, failure);
  });
});
