import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ConnectionPair } from '../../functions/core/connections.js';
import { migrateLocally } from '../../infra/local/local-migration.js';
import { closePair, dropTables, openPair, SOURCE_URL, TARGET_URL } from '../support/databases.js';
import { within } from '../support/deadline.js';
import { assertTargetExact } from '../support/exactness.js';

const TABLE = 'wide_blob_rows';
// 24 rows of 4 MiB (96 MiB): the full-size case, 300 such rows, is run by hand (BENCHMARKS.md).
const ROWS = 24;
const BLOB = 4 * 1024 * 1024;
// A budget of four such rows a range (four and a half: the server's statistics, which Plan also
// reads, count some page overhead), so the table is cut by bytes into six ranges, not by rows into one.
const CHUNK_BYTES = 18 * 1024 * 1024;
/**
 * A bound, not a measurement: the growth of the process's peak memory over a run, which holds
 * the workflow and every function in-process. Holding the table's rows, or a range's, on both
 * sides (as verification once did) would pass it; the streams' bounded batches stay far below.
 */
const PEAK_GROWTH_BOUND = 1024 * 1024 * 1024;

// The peak resident memory of this process so far, in bytes (maxRSS is in KiB).
const peakBytes = () => process.resourceUsage().maxRSS * 1024;

describe('rows of 4 MB blobs: ranges cut by bytes, memory bounded', () => {
  let pair: ConnectionPair;
  const runIds: string[] = [];

  before(async () => {
    pair = await openPair();
    await dropTables(pair, TABLE);
    await pair.source
      .promise()
      .query(`CREATE TABLE ${TABLE} (id INT PRIMARY KEY, note VARCHAR(40) NOT NULL, payload LONGBLOB)`);
    // Built by the server: no blob passes through this process before the run. A row of 4 MiB
    // also shows the source's max_allowed_packet and the streaming read take such values.
    for (let id = 1; id <= ROWS; id += 8) {
      await pair.source.promise().query(
        `INSERT INTO ${TABLE} SELECT seq, CONCAT('row ', seq), REPEAT(RANDOM_BYTES(1024), ${BLOB / 1024})
           FROM seq_${id}_to_${id + 7}`,
      );
    }
  });
  after(async () => {
    await pair.target.query('DELETE FROM migration.runs WHERE run_id = ANY($1)', [runIds]);
    await dropTables(pair, TABLE);
    await closePair(pair);
  });

  for (const verify of ['checksum', 'rows'] as const) {
    test(`verified by ${verify}: six ranges of four rows, exact, the peak memory bounded`, async (t) => {
      const peakBefore = peakBytes();
      const outcome = await within(
        120_000,
        `the ${verify}-verified run of ${TABLE}`,
        migrateLocally({
          sourceUrl: SOURCE_URL,
          targetUrl: TARGET_URL,
          input: { table: TABLE, chunkBytes: CHUNK_BYTES, concurrency: 2, verify },
        }),
      );
      const growth = peakBytes() - peakBefore;
      t.diagnostic(
        `peak memory ${Math.round(peakBefore / 2 ** 20)} MiB before the run, ${Math.round(peakBytes() / 2 ** 20)} MiB after`,
      );
      runIds.push(outcome.run.runId);
      assert.equal(outcome.run.status, 'SUCCEEDED', JSON.stringify(outcome.run.output));
      const [table] = outcome.summary!.tables;
      assert.deepEqual(
        [table!.rows, table!.ranges, table!.verifiedRanges, table!.verifiedRows, table!.mismatchedRanges],
        [ROWS, ROWS / 4, ROWS / 4, ROWS, 0],
      );
      const { rows } = await pair.target.query<{ rows: number }>(
        'SELECT rows::int AS rows FROM migration.ranges WHERE run_id = $1 ORDER BY range_index',
        [outcome.run.runId],
      );
      assert.deepEqual(
        rows.map((r) => r.rows),
        Array(ROWS / 4).fill(4),
      );
      assert.ok(
        growth < PEAK_GROWTH_BOUND,
        `the run raised the peak memory by ${Math.round(growth / 2 ** 20)} MiB, past the bound`,
      );
      await within(120_000, `the comparison of ${TABLE} on both sides`, assertTargetExact(pair, TABLE));
    });
  }
});
