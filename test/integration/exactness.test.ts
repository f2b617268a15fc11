import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ConnectionPair } from '../../functions/core/connections.js';
import { quotePg } from '../../functions/core/identifiers.js';
import { closePair, dropTables, openPair } from '../support/databases.js';
import { createEveryTypeSource, createEveryTypeTarget, EVERY_TYPE, stepOf } from '../support/every-type.js';
import { assertTargetExact, compareTable, readBothSides } from '../support/exactness.js';

const TABLE = 'exactness_every_type';
const TARGET = `public.${quotePg(TABLE)}`;

// The end-to-end tests' proof of an exact target must itself see every smallest difference: here
// the target is written by hand, so nothing of the product is involved.
describe("the tests' own check that a target is exact", () => {
  let pair: ConnectionPair;

  before(async () => {
    pair = await openPair();
    await createEveryTypeSource(pair, TABLE);
    await createEveryTypeTarget(pair, TABLE);
  });
  after(async () => {
    await dropTables(pair, TABLE);
    await closePair(pair);
  });

  /** Runs `change` on the target inside a transaction that is rolled back, comparing before the rollback. */
  const whileChanged = async (change: string) => {
    await pair.target.query('BEGIN');
    try {
      await pair.target.query(change);
      return await compareTable(pair, TABLE);
    } finally {
      await pair.target.query('ROLLBACK');
    }
  };

  test('finds a faithful copy of every type exact, NULLs included', async () => {
    await assertTargetExact(pair, TABLE);
    const { source, target } = await readBothSides(pair, TABLE);
    assert.equal(source.length, EVERY_TYPE.length + 1);
    assert.deepEqual(target, source);
    // Each value is read as what it means, not as either server prints it.
    // The key, then every column: id first.
    const row = Object.fromEntries(EVERY_TYPE.map((c, i) => [c.name, source[0]![i + 2]]));
    assert.deepEqual(
      {
        zf: row.zf,
        num: row.num,
        flag: row.flag,
        b1: row.b1,
        d0: row.d0,
        ts: row.ts,
        t: row.t,
        c: row.c,
        bin: row.bin,
        fl: row.fl,
        j: row.j,
      },
      {
        zf: '42',
        num: '-1234.5',
        flag: '1',
        b1: '1',
        d0: '0000-03-01',
        ts: '2147483646000000',
        t: '-3020398000000',
        c: 'ab',
        bin: '61620000',
        fl: '3fb99999a0000000',
        j: '{"sn":["n1e0","n25e-1"],"ss":"sa"}',
      },
    );
    assert.ok(
      source
        .at(-1)!
        .slice(2)
        .every((value) => value === null),
    );
  });

  for (const [k, column] of EVERY_TYPE.entries()) {
    test(`sees the smallest change of ${column.mysql} (${column.step.replaceAll('$x', column.name)}) in ${column.name}`, async () => {
      const key = k + 1;
      const changed = await whileChanged(
        `UPDATE ${TARGET} SET ${column.name} = ${stepOf(column, column.name)} WHERE id = ${key}`,
      );
      assert.deepEqual(changed.columns, [column.name]);
      assert.equal(changed.differences.length, 1);
      assert.match(changed.differences[0]!, new RegExp(`^${column.name} at key ${key}: `));
    });
  }

  test('sees a NULL where a value belongs, and a value where NULL belongs', async () => {
    const nulled = await whileChanged(`UPDATE ${TARGET} SET txt = NULL WHERE id = 1`);
    assert.deepEqual(nulled.columns, ['txt']);
    const filled = await whileChanged(`UPDATE ${TARGET} SET txt = '' WHERE id = ${EVERY_TYPE.length + 1}`);
    assert.deepEqual(filled.columns, ['txt']);
  });

  test('sees values swapped between two rows, though each column holds the same values', async () => {
    await pair.target.query('BEGIN');
    try {
      await pair.target.query(`UPDATE ${TARGET} SET vc = 'other' WHERE id = 1`);
      await pair.source.promise().query(`UPDATE ${TABLE} SET vc = 'other' WHERE id = 2`);
      const swapped = await compareTable(pair, TABLE);
      assert.deepEqual(swapped.columns, ['vc']);
      assert.deepEqual(
        swapped.differences.map((d) => d.split(':')[0]),
        ['vc at key 1', 'vc at key 2'],
      );
    } finally {
      await pair.target.query('ROLLBACK');
      await pair.source.promise().query(`UPDATE ${TABLE} SET vc = 'Zoë 🚀' WHERE id = 2`);
    }
  });

  test('sees a missing row and a row the source does not have', async () => {
    const missing = await whileChanged(`DELETE FROM ${TARGET} WHERE id = 3`);
    assert.deepEqual(missing.rows, { source: EVERY_TYPE.length + 1, target: EVERY_TYPE.length });
    assert.deepEqual(missing.differences, ['key 3 is missing from the target']);
    const extra = await whileChanged(`INSERT INTO ${TARGET} (id) VALUES (1000)`);
    assert.deepEqual(extra.differences, ['key 1000 is in the target only']);
  });

  test('tells JSON numbers apart beyond double precision', async () => {
    await pair.source.promise().query(`UPDATE ${TABLE} SET j = '{"big": 9007199254740993}' WHERE id = 1`);
    try {
      const changed = await whileChanged(`UPDATE ${TARGET} SET j = '{"big": 9007199254740992}' WHERE id = 1`);
      assert.deepEqual(changed.columns, ['j']);
      const same = await whileChanged(`UPDATE ${TARGET} SET j = '{"big": 9007199254740993.0}' WHERE id = 1`);
      assert.deepEqual(same.columns, []);
    } finally {
      await pair.source.promise().query(`UPDATE ${TABLE} SET j = '{"s": "a", "n": [1, 2.5]}' WHERE id = 1`);
    }
  });

  test('compares only the rows a condition selects, when asked', async () => {
    const changed = await whileChanged(`UPDATE ${TARGET} SET ti = 0 WHERE id = 1`);
    assert.deepEqual(changed.columns, ['ti']);
    await pair.target.query('BEGIN');
    try {
      await pair.target.query(`UPDATE ${TARGET} SET ti = 0 WHERE id = 1`);
      await assertTargetExact(pair, TABLE, { where: 'id > 1' });
      await assert.rejects(assertTargetExact(pair, TABLE), /ti at key 1: source "-128", target "0"/);
    } finally {
      await pair.target.query('ROLLBACK');
    }
  });
});
