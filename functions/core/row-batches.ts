import { Readable } from 'node:stream';
import type mysql from 'mysql2';
import { silenceError, silenceLimitMs } from './connections.js';

/** How many batches wait in the stream before the connection is paused. */
const BUFFERED_BATCHES = 2;

/**
 * A query's rows as a stream of batches: each batch holds the rows mysql2 parsed from one read of
 * the socket, so the stream machinery runs once per batch rather than once per row, and a batch
 * is never larger than what arrived at once. When the reader falls behind, the connection is
 * paused (the server then waits on TCP), and resumed when it reads again.
 *
 * The stream fails (and the connection is destroyed) when the connection is lost, which mysql2
 * reports on the connection rather than on a streamed query, and when the reader has waited
 * {@link silenceLimitMs} for a batch that neither came nor ended the stream.
 */
export function rowBatches<Row>(query: mysql.Query, connection: mysql.Connection): Readable {
  let batch: Row[] = [];
  const stallMs = silenceLimitMs();
  let stall: NodeJS.Timeout | undefined;
  const stopWatching = () => clearTimeout(stall);
  const stream = new Readable({
    objectMode: true,
    highWaterMark: BUFFERED_BATCHES,
    read: () => {
      // The reader waits from here: rows or the end must come within the limit.
      // Unreferenced: it watches the connection, which keeps the process alive while it is open.
      stall ??= setTimeout(() => failed(silenceError('no row and no end of the rows came', stallMs)), stallMs).unref();
      connection.resume();
    },
    // A reader that stops early: the query's remaining rows still have to be read off the socket.
    destroy: (error, callback) => {
      stopWatching();
      connection.off('error', failed);
      connection.resume();
      callback(error);
    },
  });
  // The connection itself failed: it is dead, or silent, and is not used again.
  const failed = (error: Error) => {
    connection.destroy();
    stream.destroy(error);
  };
  connection.once('error', failed);
  // A connection lost before the query was sent refused it with an error on the connection, emitted
  // before this stream could listen for it.
  const lost = (connection as unknown as { _fatalError: Error | null })._fatalError;
  if (lost) queueMicrotask(() => failed(lost));
  // mysql2 emits every row of a socket read in one synchronous run; the microtask comes after it.
  const pushBatch = () => {
    const rows = batch;
    batch = [];
    stopWatching();
    stall = undefined;
    if (!stream.destroyed && !stream.push(rows)) connection.pause();
  };
  query.on('result', (row) => {
    if (batch.push(row as Row) === 1) queueMicrotask(pushBatch);
  });
  // Queued after any pending batch, so the last rows are pushed before the end. The last batch may
  // have paused the connection; with the query done, it must deliver the next query's results.
  query.on('end', () =>
    queueMicrotask(() => {
      stopWatching();
      connection.off('error', failed);
      connection.resume();
      if (!stream.destroyed) stream.push(null);
    }),
  );
  query.on('error', (error) => stream.destroy(error));
  return stream;
}
