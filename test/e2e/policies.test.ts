import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ConnectionPair } from '../../functions/core/connections.js';
import { closePair, dropTables, openPair } from '../support/databases.js';
import { jsonSummary, runMigrate } from '../support/migrate-cli.js';

const TABLE = 'typed_cli_policies';
const ROWS = 30;

describe('policies chosen on the command line', () => {
  let pair: ConnectionPair;

  before(async () => {
    pair = await openPair();
    await dropTables(pair, TABLE);
    await pair.source.promise().query(`CREATE TABLE ${TABLE} (id INT PRIMARY KEY, born DATE NULL, note TEXT NULL)`);
    // Every 10th row a zero date, every 15th a NUL byte in its note: spread over the ranges.
    const rows = Array.from({ length: ROWS }, (_, i) => [
      i + 1,
      i % 10 === 0 ? '0000-00-00' : '2001-02-03',
      i % 15 === 0 ? `a\0b ${i}` : `note ${i}`,
    ]);
    await pair.source.promise().query("SET SESSION sql_mode = ''");
    await pair.source.promise().query(`INSERT INTO ${TABLE} VALUES ?`, [rows]);
    await pair.source.promise().query('SET SESSION sql_mode = DEFAULT');
  });
  after(async () => {
    await dropTables(pair, TABLE);
    await closePair(pair);
  });

  test('reach every range through the workflow, and the summary shows how many values each policy handled', async () => {
    const { stdout, stderr } = await runMigrate([
      '--table',
      TABLE,
      '--chunk-rows',
      '10',
      '--nul-bytes',
      'strip',
      '--json',
    ]);
    const summary = jsonSummary(stdout);
    assert.equal(summary.status, 'succeeded');
    assert.equal(summary.ranges, 3);
    assert.deepEqual(summary.policies, {
      zeroDates: 'null',
      nulBytes: 'strip',
      tinyint1: 'fail',
      emptyEnum: 'keep',
      spatial: 'bytea',
    });
    assert.deepEqual(summary.policyCounts, { zeroDates: 3, nulBytes: 2, tinyint1: 0, emptyEnum: 0, spatial: 0 });
    assert.match(stderr, /^zeroDates: null +3$/m);
    assert.match(stderr, /^nulBytes: strip +2$/m);
    const { rows } = await pair.target.query(
      `SELECT id, born::text, note FROM public.${TABLE} WHERE id IN (1, 16) ORDER BY id`,
    );
    assert.deepEqual(rows, [
      { id: 1, born: null, note: 'ab 0' },
      { id: 16, born: '2001-02-03', note: 'ab 15' },
    ]);
  });
});
