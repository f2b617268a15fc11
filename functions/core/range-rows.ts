import type { Readable } from 'node:stream';
import type mysql from 'mysql2';
import type pg from 'pg';
import Cursor from 'pg-cursor';
import { abandonPair, silenceError, silenceLimitMs } from './connections.js';
import { quoteMysql, quotePg, TARGET_SCHEMA } from './identifiers.js';
import { type KeyRange, keyOrderBy, type RangeKey, type RowCondition, rangeCondition } from './ranges.js';
import { rowBatches } from './row-batches.js';
import type { ColumnPlan, TableDescription } from './schema.js';

type Bounds = Pick<KeyRange, 'lo' | 'hi'>;

/** The target table, schema-qualified and quoted. */
export function targetTable(description: TableDescription): string {
  return `${quotePg(TARGET_SCHEMA)}.${quotePg(description.table)}`;
}

/** The range key on one side; null when the table has none (it is one range, whole). */
export function quoted(side: 'source' | 'target', description: TableDescription): RangeKey | null {
  const quote = side === 'source' ? quoteMysql : quotePg;
  if (description.primaryKey !== null) return quote(description.primaryKey);
  if (description.keyset === null) return null;
  return {
    columns: description.keyset.map(({ name, codec }) => ({
      sql: side === 'source' ? codec.key!.source(quote(name)) : codec.key!.target(quote(name)),
      literal: side === 'source' ? codec.key!.sourceLiteral : codec.key!.targetLiteral,
    })),
  };
}

// A copy reads rows in key order where the key is one integer column (to resume from a key);
// otherwise in no order (it needs none, and sorting in byte order would cost MySQL a sort).
const keyOrder = (key: RangeKey | null) => (typeof key === 'string' ? ` ORDER BY ${key}` : '');

// A comparison by key reads rows in the order of any key, a tuple's in the order both sides agree on.
const inKeyOrder = (key: RangeKey | null) => (key === null ? '' : ` ORDER BY ${keyOrderBy(key)}`);

/** The range key, for what only a table with one can do (look rows up by key, upsert). */
export function requireRangeKey(description: TableDescription): string {
  if (description.primaryKey === null) throw new Error(`${description.table} has no key to look rows up by`);
  return description.primaryKey;
}

/** The MySQL condition selecting a range's rows, and only those meeting `condition` when one is given. */
export function rowsOfRange(
  description: TableDescription,
  range: Bounds,
  condition: RowCondition | null = null,
): RowCondition {
  return {
    sql: [rangeCondition(quoted('source', description), range), ...(condition ? [condition.sql] : [])].join(' AND '),
    values: condition?.values ?? [],
  };
}

/** The SELECT of a range's source rows in an `order` of the key, each column read by its plan's expression. */
function rangeSelect(
  description: TableDescription,
  range: Bounds,
  condition: RowCondition | null,
  order: (key: RangeKey | null) => string,
) {
  const where = rowsOfRange(description, range, condition);
  return {
    sql:
      `SELECT ${description.columns.map((column) => column.read).join(', ')} FROM ${quoteMysql(description.table)}` +
      ` WHERE ${where.sql}${order(quoted('source', description))}`,
    values: where.values,
  };
}

/**
 * The source's rows of a range in key order (only those meeting `condition` when one is given),
 * a tuple key's in the order both sides agree on (see KeySql), so that a comparison can merge
 * them with the target's by key; streamed in batches (arrays of rows, see {@link rowBatches}):
 * each row an array in column order, each value as the server printed it (exact for numbers and
 * dates; each column read by its plan's expression), bytes for binary columns, or null.
 */
export function sourceRangeRows(
  source: mysql.Connection,
  description: TableDescription,
  range: Bounds,
  condition: RowCondition | null = null,
): Readable {
  // The columns whose codec reads them other than as the server prints them: bytes, or UTF-8.
  const reads = new Map(
    description.columns.flatMap(({ name, codec: { read } }) =>
      read.arrives === 'text' ? [] : [[name, read.arrives] as const],
    ),
  );
  const query = source.query({
    ...rangeSelect(description, range, condition, inKeyOrder),
    rowsAsArray: true,
    typeCast: (field, next) => {
      // Runs for every value: the lookup only for tables that have such columns.
      const read = reads.size === 0 ? undefined : reads.get(field.name);
      if (read === 'bytes') return field.buffer();
      if (read === 'utf8') return field.string('utf8');
      return field.type === 'NULL' ? next() : field.string();
    },
  });
  return rowBatches(query, source);
}

/**
 * The same rows, in key order only where the key is one integer column, with every value as the
 * bytes the server sent (or null), decoded by no one: what the COPY encoder writes through where
 * a codec takes values as they arrive. The session's character set is utf8mb4, so text arrives
 * as UTF-8 and every other printed value as ASCII.
 */
export function sourceRangeBytes(
  source: mysql.Connection,
  description: TableDescription,
  range: Bounds,
  condition: RowCondition | null = null,
): Readable {
  const query = source.query({
    ...rangeSelect(description, range, condition, keyOrder),
    rowsAsArray: true,
    typeCast: false,
  });
  return rowBatches(query, source);
}

// Every value as PostgreSQL prints it: no parsing into JavaScript types on the way.
const AS_TEXT = { getTypeParser: () => (value: string) => value };

// Rows fetched per round trip of the target's cursor, at most.
const TARGET_BATCH_ROWS = 2_000;

/** Characters of text a round trip of the target's cursor fetches, about: rows of large values come fewer at a time. */
export const TARGET_BATCH_CHARS = 8 * 1024 * 1024;

/** The characters of one row's text. */
const rowChars = (row: (string | null)[]) => {
  let chars = 0;
  for (const value of row) chars += value === null ? 0 : value.length;
  return chars;
};

/**
 * The target's rows of a range in key order (a tuple key's as {@link sourceRangeRows} reads the
 * source's), read through a cursor in batches (arrays of rows, each an array of text or null).
 * The next batch is asked for before this one is handed on, so PostgreSQL reads it while this
 * one is compared; no more than two batches are ever held. A
 * batch is sized in characters, not rows: the first read takes one row, and each next one as
 * many as {@link TARGET_BATCH_CHARS} holds of the largest row seen so far, so 4 MB values come
 * two at a time where small rows come by the thousand.
 */
export async function* targetRangeRows(
  target: pg.Client,
  description: TableDescription,
  range: Bounds,
): AsyncGenerator<(string | null)[][]> {
  const key = quoted('target', description);
  const cursor = target.query(
    new Cursor<(string | null)[]>(
      `SELECT ${description.columns.map((column) => quotePg(column.name)).join(', ')} FROM ${targetTable(description)}` +
        ` WHERE ${rangeCondition(key, range)}${inKeyOrder(key)}`,
      [],
      { rowMode: 'array', types: AS_TEXT },
    ),
  );
  let largest = 1;
  const read = (count: number) => {
    const rows = cursor.read(count);
    // Handled here so a failure waits, unreported, until the batch is awaited.
    rows.catch(() => {});
    return rows;
  };
  const stallMs = silenceLimitMs();
  let failed = false;
  let next = read(1);
  try {
    for (;;) {
      const rows = await withinSilence(next, stallMs, target);
      if (rows.length === 0) return;
      for (const row of rows) largest = Math.max(largest, rowChars(row));
      next = read(Math.max(1, Math.min(TARGET_BATCH_ROWS, Math.floor(TARGET_BATCH_CHARS / largest))));
      yield rows;
    }
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    // A reader that stops early leaves a read in flight; it settles before the cursor closes. A
    // cursor whose connection failed is not closed (closing waits for a server that is gone), and
    // its read in flight is not waited for: node-postgres may never settle it.
    if (!failed) {
      const settled = await withinSilence(next, stallMs, target).then(
        () => true,
        () => false,
      );
      const cursorState = (cursor as unknown as { state: string }).state;
      if (settled && cursorState !== 'error') await withinSilence(cursor.close(), stallMs, target).catch(() => {});
    }
  }
}

/**
 * Waits for a cursor's reply while its connection lives: a connection that fails or ends fails the
 * wait at once (node-postgres may leave a cursor's read unsettled then), and one that neither
 * answers nor fails within the limit is destroyed, failing the wait with a transient error.
 */
async function withinSilence<T>(reply: Promise<T>, ms: number, target: pg.Client): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let lost: ((error?: Error) => void) | undefined;
  try {
    return await Promise.race([
      reply,
      new Promise<never>((_, reject) => {
        lost = (error) => reject(error ?? new Error('Connection terminated unexpectedly'));
        target.once('error', lost);
        target.once('end', lost);
        timer = setTimeout(() => {
          abandonPair({ target });
          reject(silenceError('the target sent no row and no end of the rows', ms));
        }, ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (lost) {
      target.off('error', lost);
      target.off('end', lost);
    }
  }
}

/**
 * The target's rows with these keys, in key order: arrays of text or null. `keys` holds each key
 * column's values (in the order of the source's key), the n-th key made of every column's n-th value.
 */
export async function targetRowsWithKeys(
  target: pg.Client,
  description: TableDescription,
  keys: string[][],
): Promise<(string | null)[][]> {
  const columns = keyColumns(description);
  // Each array cast to its column's own type, so the key's index serves the lookup.
  const arrays = columns.map((column, i) => `$${i + 1}::${column.codec.pgType}[]`);
  const { rows } = await target.query<(string | null)[]>({
    text:
      `SELECT ${description.columns.map((column) => quotePg(column.name)).join(', ')} FROM ${targetTable(description)}` +
      ` WHERE (${columns.map((column) => quotePg(column.name)).join(', ')}) IN (SELECT * FROM unnest(${arrays.join(', ')}))` +
      inKeyOrder(quoted('target', description)),
    values: keys,
    rowMode: 'array',
    types: AS_TEXT,
  });
  return rows;
}

/** The columns of the range key: the integer key, or a tuple key's columns in the order both sides agree on. */
export function keyColumns(description: TableDescription): ColumnPlan[] {
  if (description.keyset !== null) return description.keyset;
  if (description.primaryKey !== null) return [description.columns[description.primaryKeyIndex]!];
  throw new Error(`${description.table} has no key to look rows up by`);
}
