import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { describe, test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type mysql from 'mysql2';
import { rowBatches } from '../../functions/core/row-batches.js';

/** A mysql2 query and its connection as far as rowBatches uses them: row events, pause and resume. */
function fakeQuery() {
  const query = new EventEmitter();
  const connection = {
    paused: false,
    pauses: 0,
    pause: () => {
      connection.paused = true;
      connection.pauses++;
    },
    resume: () => {
      connection.paused = false;
    },
  };
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

  test('fails the stream with the query error', async () => {
    const { query, stream } = fakeQuery();
    const failure = new Error('Lost connection to MySQL server during query');
    queueMicrotask(() => query.emit('error', failure));
    const [error] = await once(stream, 'error');
    assert.equal(error, failure);
  });
});
