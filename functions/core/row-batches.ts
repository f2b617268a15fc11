import { Readable } from 'node:stream';
import type mysql from 'mysql2';

/** How many batches wait in the stream before the connection is paused. */
const BUFFERED_BATCHES = 2;

/**
 * A query's rows as a stream of batches: each batch holds the rows mysql2 parsed from one read of
 * the socket, so the stream machinery runs once per batch rather than once per row, and a batch
 * is never larger than what arrived at once. When the reader falls behind, the connection is
 * paused (the server then waits on TCP), and resumed when it reads again.
 */
export function rowBatches<Row>(query: mysql.Query, connection: mysql.Connection): Readable {
  let batch: Row[] = [];
  const stream = new Readable({
    objectMode: true,
    highWaterMark: BUFFERED_BATCHES,
    read: () => connection.resume(),
    // A reader that stops early: the query's remaining rows still have to be read off the socket.
    destroy: (error, callback) => {
      connection.resume();
      callback(error);
    },
  });
  // mysql2 emits every row of a socket read in one synchronous run; the microtask comes after it.
  const pushBatch = () => {
    const rows = batch;
    batch = [];
    if (!stream.destroyed && !stream.push(rows)) connection.pause();
  };
  query.on('result', (row) => {
    if (batch.push(row as Row) === 1) queueMicrotask(pushBatch);
  });
  // Queued after any pending batch, so the last rows are pushed before the end. The last batch may
  // have paused the connection; with the query done, it must deliver the next query's results.
  query.on('end', () =>
    queueMicrotask(() => {
      connection.resume();
      if (!stream.destroyed) stream.push(null);
    }),
  );
  query.on('error', (error) => stream.destroy(error));
  return stream;
}
