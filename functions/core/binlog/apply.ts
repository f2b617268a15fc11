import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import type { ConnectionPair } from '../connections.js';
import { CopyTextEncoder, type SourceValue } from '../copy-encoder.js';
import { classifyDatabaseError } from '../errors.js';
import { quotePg } from '../identifiers.js';
import { type Policies, type PolicyCounts, zeroPolicyCounts } from '../policies.js';
import { sourceRangeBytes, targetTable } from '../range-rows.js';
import type { ColumnPlan } from '../schema.js';
import { type KeyedTable, type KeyValues, keyId, keyIndexes, keysCondition } from './keys.js';

/** The changed keys of one table. */
export interface TableChanges {
  table: KeyedTable;
  keys: KeyValues[];
}

export interface AppliedRows {
  /** Target rows removed because their key changed (each comes back below if the source still has it). */
  deleted: number;
  /** Rows written, as the source holds them now. */
  written: number;
  policyCounts: PolicyCounts;
}

/** Keys per source query: an IN list the server plans as index lookups, and a statement of modest size. */
export const KEYS_PER_READ = 1_000;

const EVERY_KEY = { lo: null, hi: null } as const;

/**
 * Brings the rows of the changed keys to what the source holds: deletes them in the target, then
 * reads them again from the source and writes them with COPY, through the same row reading and
 * encoding as a copied range (so every value meets the same policies). A key the source no longer
 * has stays deleted. Runs in the caller's target transaction; the source rows are read on the
 * pair's source connection, in whatever snapshot it holds.
 */
export async function applyChangedKeys(
  { source, target }: ConnectionPair,
  changes: TableChanges[],
  policies: Policies,
): Promise<AppliedRows> {
  const applied: AppliedRows = { deleted: 0, written: 0, policyCounts: zeroPolicyCounts() };
  for (const [index, { table, keys }] of changes.entries()) {
    if (keys.length === 0) continue;
    const { description, key } = table;
    // Numbered, not named after the table: a long table name would be cut short, two into one.
    const stage = quotePg(`changed_keys_${index}`);
    const keyNames = key.map((column) => quotePg(column.name));
    try {
      await target.query(
        `CREATE TEMPORARY TABLE ${stage} ON COMMIT DROP AS SELECT ${keyNames.join(', ')} FROM ${targetTable(description)} WITH NO DATA`,
      );
      await copyInto(
        target,
        stage,
        description.table,
        key,
        Readable.from([keys]),
        policies,
        key.map((_, index) => index),
      );
      const { rowCount } = await target.query(
        `DELETE FROM ${targetTable(description)} AS t USING ${stage} AS k WHERE ${keyNames.map((k) => `t.${k} = k.${k}`).join(' AND ')}`,
      );
      applied.deleted += rowCount ?? 0;
    } catch (error) {
      throw classifyDatabaseError(error, 'target');
    }
    const written = await copyInto(
      target,
      targetTable(description),
      description.table,
      description.columns,
      Readable.from(sourceRowsOfKeys({ source, target }, table, keys)),
      policies,
      keyIndexes(table),
    );
    applied.written += written.rows;
    for (const [name, count] of Object.entries(written.policyCounts))
      applied.policyCounts[name as keyof PolicyCounts] += count;
  }
  return applied;
}

/**
 * The source's rows of these keys, in batches, some thousand keys per query, each row once. Under a
 * case- or pad-insensitive collation two keys of the log ('abc' before an update, 'ABC' after)
 * select the same row: a row already given is left out, by its exact key.
 */
async function* sourceRowsOfKeys(
  { source }: ConnectionPair,
  table: KeyedTable,
  keys: KeyValues[],
): AsyncGenerator<SourceValue[][]> {
  const indexes = keyIndexes(table);
  const given = new Set<string>();
  for (let i = 0; i < keys.length; i += KEYS_PER_READ) {
    const rows = sourceRangeBytes(
      source,
      table.description,
      EVERY_KEY,
      keysCondition(table.key, keys.slice(i, i + KEYS_PER_READ)),
    );
    // mysql2 reports a connection lost under a streamed query on the connection, not on the query.
    const onConnectionError = (error: Error) => rows.destroy(error);
    source.once('error', onConnectionError);
    try {
      for await (const batch of rows as AsyncIterable<SourceValue[][]>) {
        yield batch.filter((row) => {
          const id = keyId(indexes.map((index) => row[index]!));
          if (given.has(id)) return false;
          given.add(id);
          return true;
        });
      }
    } catch (error) {
      throw classifyDatabaseError(error, 'source');
    } finally {
      source.off('error', onConnectionError);
    }
  }
}

/** COPYs batches of rows into `into`; returns how many rows and what the policies did. */
async function copyInto(
  target: ConnectionPair['target'],
  into: string,
  table: string,
  columns: ColumnPlan[],
  batches: Readable,
  policies: Policies,
  keyIndexes: number[],
): Promise<{ rows: number; policyCounts: PolicyCounts }> {
  const encoder = new CopyTextEncoder(table, columns, keyIndexes, policies);
  const copy = target.query(
    copyFrom(`COPY ${into} (${columns.map((column) => quotePg(column.name)).join(', ')}) FROM STDIN`),
  );
  try {
    await pipeline(batches, encoder, copy);
  } catch (error) {
    throw classifyDatabaseError(error, 'target');
  }
  return { rows: encoder.rows, policyCounts: encoder.policyCounts };
}
