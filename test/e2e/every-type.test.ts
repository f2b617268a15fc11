import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ConnectionPair } from '../../functions/core/connections.js';
import { failedBatchMessageSchema } from '../../functions/core/failed-batch.js';
import { migrateLocally } from '../../infra/local/local-migration.js';
import { closePair, dropTables, openPair, SOURCE_URL, TARGET_URL } from '../support/databases.js';
import { createEveryTypeSource, EVERY_TYPE, stepOf } from '../support/every-type.js';
import { assertTargetExact, compareTable } from '../support/exactness.js';

const TABLE = 'typed_e2e_every_type';
// One row per range, so each range holds the one value its row has changed.
const ROW_PER_RANGE = { table: TABLE, chunkRows: 1, concurrency: 4 };

describe('every mapped type through the workflow, against the smallest change', () => {
  let pair: ConnectionPair;
  let rows: number;
  const runIds: string[] = [];

  const migrate = async (input: Record<string, unknown>) => {
    const outcome = await migrateLocally({ sourceUrl: SOURCE_URL, targetUrl: TARGET_URL, input });
    runIds.push(outcome.run.runId);
    return outcome;
  };

  before(async () => {
    pair = await openPair();
    rows = await createEveryTypeSource(pair, TABLE);
  });
  after(async () => {
    await pair.target.query('DELETE FROM migration.runs WHERE run_id = ANY($1)', [runIds]);
    await dropTables(pair, TABLE);
    await pair.target.query('DROP FUNCTION IF EXISTS public.typed_e2e_step() CASCADE');
    await closePair(pair);
  });

  test('a run copies a value of every type exactly', async () => {
    const outcome = await migrate({ table: TABLE });
    assert.equal(outcome.run.status, 'SUCCEEDED', JSON.stringify(outcome.run.error));
    assert.deepEqual(
      { ranges: outcome.summary?.ranges, rows: outcome.summary?.rows, verifiedRows: outcome.summary?.verifiedRows },
      { ranges: 1, rows, verifiedRows: rows },
    );
    const exact = await assertTargetExact(pair, TABLE);
    assert.equal(exact.rows.target, rows);
  });

  test('the smallest change of each type fails its range at VerifyRange, naming the column', async () => {
    // A trigger stands in for a copy path that changes one value by one step: row k's k-th column.
    const steps = EVERY_TYPE.map(
      (column, k) => `IF NEW.id = ${k + 1} THEN NEW.${column.name} := ${stepOf(column, `NEW.${column.name}`)}; END IF;`,
    );
    await pair.target.query(`CREATE OR REPLACE FUNCTION public.typed_e2e_step() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN ${steps.join('\n')} RETURN NEW; END $$`);
    await pair.target.query(
      `CREATE TRIGGER typed_e2e_step BEFORE INSERT ON public.${TABLE} FOR EACH ROW EXECUTE FUNCTION public.typed_e2e_step()`,
    );
    const outcome = await migrate(ROW_PER_RANGE);
    assert.equal(outcome.run.status, 'FAILED');
    assert.equal(outcome.run.error?.name, 'RangesFailedError');
    assert.deepEqual(
      { failed: outcome.summary?.failed, mismatched: outcome.summary?.mismatchedRanges },
      { failed: EVERY_TYPE.length, mismatched: EVERY_TYPE.length },
    );
    const messages = outcome.failedBatches
      .map((body) => failedBatchMessageSchema.parse(body))
      .sort((a, b) => a.range.index - b.range.index);
    assert.deepEqual(
      messages.map((m) => `${m.error.name}: ${m.error.message.replace(/^.*changed; /, '')} (key ${m.key})`),
      EVERY_TYPE.map(
        (column, k) => `VerificationMismatchError: column ${column.name} at key ${k + 1} differs (key ${k + 1})`,
      ),
    );
    // The copies committed before VerifyRange failed them: the tests' own check sees the same columns.
    assert.deepEqual(
      (await compareTable(pair, TABLE)).columns,
      EVERY_TYPE.map((column) => column.name),
    );
  });
});
