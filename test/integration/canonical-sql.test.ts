import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { expectedSql } from '../../functions/core/codecs/codec.js';
import type { ConnectionPair } from '../../functions/core/connections.js';
import { quoteMysql, quotePg } from '../../functions/core/identifiers.js';
import { DEFAULT_POLICIES, type Policies } from '../../functions/core/policies.js';
import { rowHash, sourceSums, targetSums } from '../../functions/core/range-checksum.js';
import { describeSourceTable, mapColumn, type TableDescription } from '../../functions/core/schema.js';
import { closePair, dropTables, openPair } from '../support/databases.js';
import { createEveryTypeSource, createEveryTypeTarget, EVERY_TYPE, stepOf } from '../support/every-type.js';
import { columnOfType } from '../support/source-columns.js';

const TABLE = 'canonical_sql_every_type';
const TARGET = `public.${quotePg(TABLE)}`;
const WHOLE = { lo: null, hi: null };

// Each codec's canonical SQL, run on the two databases over a faithful copy written by hand.
describe('canonical SQL: each database prints a value of every type alike', () => {
  let pair: ConnectionPair;
  let description: TableDescription;

  before(async () => {
    pair = await openPair();
    await createEveryTypeSource(pair, TABLE);
    await createEveryTypeTarget(pair, TABLE);
    description = await describeSourceTable(pair.source, TABLE, pair.target);
  });
  after(async () => {
    await dropTables(pair, TABLE);
    await closePair(pair);
  });

  /** Each row's key and the column's canonical text on one side, in key order. */
  const texts = async (name: string, policies: Policies = DEFAULT_POLICIES) => {
    const sql = description.columns.find((c) => c.name === name)!.codec.canonicalSql!(expectedSql(policies));
    const [source] = await pair.source.promise().query({
      sql: `SELECT id, ${sql.source(quoteMysql(name))} FROM ${quoteMysql(TABLE)} ORDER BY id`,
      rowsAsArray: true,
    });
    const { rows: target } = await pair.target.query({
      text: `SELECT id, ${sql.target(quotePg(name))} FROM ${TARGET} ORDER BY id`,
      rowMode: 'array',
    });
    // mysql2 hands a numeric expression over as a number; its text is what is hashed.
    const asText = (rows: unknown[][]) => rows.map((row) => row.map((v) => (v === null ? null : String(v))));
    return { source: asText(source as unknown[][]), target: asText(target) };
  };

  test('every column has canonical SQL but floats and JSON, which are compared row by row', () => {
    const uncovered = description.columns.filter((c) => !c.codec.canonicalSql).map((c) => c.name);
    assert.deepEqual(uncovered, ['fl', 'db', 'j']);
    assert.deepEqual(
      rowHash(description, DEFAULT_POLICIES).uncovered.map((c) => c.name),
      uncovered,
    );
  });

  for (const [k, column] of EVERY_TYPE.entries()) {
    if (['fl', 'db', 'j'].includes(column.name)) continue;
    test(`${column.mysql} (${column.name}): equal text on both sides, NULL as NULL, and its smallest change seen`, async () => {
      const same = await texts(column.name);
      assert.deepEqual(same.target, same.source);
      assert.equal(same.source.length, EVERY_TYPE.length + 1);
      assert.ok(same.source.slice(0, -1).every((row) => row[1] !== null && row[1] !== ''));
      assert.equal(same.source.at(-1)![1], null);
      await pair.target.query('BEGIN');
      try {
        await pair.target.query(
          `UPDATE ${TARGET} SET ${column.name} = ${stepOf(column, column.name)} WHERE id = ${k + 1}`,
        );
        const changed = await texts(column.name);
        const differing = changed.source.filter((row, i) => row[1] !== changed.target[i]![1]).map((row) => row[0]);
        assert.deepEqual(differing, [String(k + 1)]);
      } finally {
        await pair.target.query('ROLLBACK');
      }
    });
  }

  test("the servers' sums over every column agree, and any smallest change or a moved NULL changes the target's", async () => {
    const hash = rowHash(description, DEFAULT_POLICIES);
    const [source] = await sourceSums(pair.source, description, hash, WHOLE);
    assert.deepEqual(await targetSums(pair.target, description, hash, WHOLE), [source]);
    assert.equal(source!.rows, String(EVERY_TYPE.length + 1));
    // Cut into parts, each side sums each part in one pass; the parts' counts add up to the whole.
    const parts = await sourceSums(pair.source, description, hash, WHOLE, ['10', '20']);
    assert.deepEqual(await targetSums(pair.target, description, hash, WHOLE, ['10', '20']), parts);
    assert.deepEqual(
      parts.map((part) => part.rows),
      ['9', '10', String(EVERY_TYPE.length + 1 - 19)],
    );
    assert.deepEqual(await sourceSums(pair.source, description, hash, { lo: '1000', hi: null }, ['2000']), [
      { rows: '0', sum: '0' },
      { rows: '0', sum: '0' },
    ]);
    const changes = [
      ...EVERY_TYPE.map(
        (column, k) => `UPDATE ${TARGET} SET ${column.name} = ${stepOf(column, column.name)} WHERE id = ${k + 1}`,
      ),
      `UPDATE ${TARGET} SET txt = '' WHERE id = ${EVERY_TYPE.length + 1}`,
      `UPDATE ${TARGET} SET txt = NULL WHERE id = 1`,
      // Text that would pass for a column boundary without its length.
      `UPDATE ${TARGET} SET tt = 'tiny|4:text' , txt = NULL WHERE id = 1`,
    ];
    for (const change of changes) {
      if (/SET (fl|db|j) =/.test(change)) continue;
      await pair.target.query('BEGIN');
      try {
        await pair.target.query(change);
        assert.notDeepEqual(await targetSums(pair.target, description, hash, WHOLE), [source], change);
      } finally {
        await pair.target.query('ROLLBACK');
      }
    }
  });
});

describe('canonical SQL expects what the policies make of a value', () => {
  const POLICY_TABLE = 'canonical_sql_policies';
  let pair: ConnectionPair;
  let description: TableDescription;

  before(async () => {
    pair = await openPair();
    await dropTables(pair, POLICY_TABLE);
    await pair.source.promise().query("SET SESSION sql_mode = 'ALLOW_INVALID_DATES'");
    await pair.source
      .promise()
      .query(
        `CREATE TABLE ${POLICY_TABLE} (id INT PRIMARY KEY, d DATE, dt DATETIME(3), ts TIMESTAMP NULL, y YEAR, ` +
          "s VARCHAR(10), flag TINYINT(1), e ENUM('a','b')) DEFAULT CHARSET=utf8mb4",
      );
    await pair.source
      .promise()
      .query(
        `INSERT INTO ${POLICY_TABLE} VALUES (1, '0000-00-00', '2020-00-15 01:02:03', '0000-00-00 00:00:00', 0, 'a\\0b', 2, '')`,
      );
    await pair.source.promise().query('SET SESSION sql_mode = DEFAULT');
    description = await describeSourceTable(pair.source, POLICY_TABLE, pair.target);
  });
  after(async () => {
    await dropTables(pair, POLICY_TABLE);
    await closePair(pair);
  });

  const sourceTexts = async (policies: Policies) => {
    const expect = expectedSql(policies);
    const columns = description.columns.slice(1);
    const [rows] = await pair.source.promise().query({
      sql: `SELECT ${columns.map((c) => c.codec.canonicalSql!(expect).source(quoteMysql(c.name))).join(', ')} FROM ${POLICY_TABLE}`,
      rowsAsArray: true,
    });
    const [row] = rows as unknown[][];
    return Object.fromEntries(columns.map((c, i) => [c.name, row![i] === null ? null : String(row![i])]));
  };

  test('zero dates as NULL, NULs stripped, a tinyint(1) of 2 as true, the empty ENUM value as NULL', async () => {
    assert.deepEqual(
      await sourceTexts({
        ...DEFAULT_POLICIES,
        zeroDates: 'null',
        nulBytes: 'strip',
        tinyint1: 'nonzero-true',
        emptyEnum: 'null',
      }),
      { d: null, dt: null, ts: null, y: null, s: 'ab', flag: 'true', e: null },
    );
  });

  test('values a policy refuses, or keeps, are expected as themselves and so never match a changed copy', async () => {
    const texts = await sourceTexts({
      ...DEFAULT_POLICIES,
      zeroDates: 'fail',
      nulBytes: 'fail',
      tinyint1: 'fail',
      emptyEnum: 'keep',
    });
    assert.deepEqual(
      { ...texts, s: texts.s!.length },
      { d: '0000-00-00', dt: '2020-00-15 01:02:03.000', ts: '0000-00-00 00:00:00', y: '0', s: 3, flag: '2', e: '' },
    );
  });
});

describe('the sums of a table without a key are of its rows as a multiset', () => {
  const KEYLESS = 'canonical_sql_keyless';
  let pair: ConnectionPair;
  // No key to split on: the whole table is one range.
  const description: TableDescription = {
    table: KEYLESS,
    columns: [columnOfType('n', 'int'), columnOfType('s', 'varchar(10)')].map((column) => mapColumn(column)),
    primaryKey: null,
    primaryKeyIndex: -1,
    key: null,
    keyset: null,
    whole: 'no primary key and no unique NOT NULL key',
  };
  const hash = rowHash(description, DEFAULT_POLICIES);

  before(async () => {
    pair = await openPair();
    await dropTables(pair, KEYLESS);
    await pair.source.promise().query(`CREATE TABLE ${KEYLESS} (n INT, s VARCHAR(10)) DEFAULT CHARSET=utf8mb4`);
    await pair.source.promise().query(`INSERT INTO ${KEYLESS} VALUES (1, 'a'), (1, 'a'), (2, 'b'), (NULL, '')`);
    await pair.target.query(`CREATE TABLE public.${KEYLESS} (n integer, s varchar(10))`);
  });
  after(async () => {
    await dropTables(pair, KEYLESS);
    await closePair(pair);
  });

  const targetHolding = async (values: string) => {
    await pair.target.query(`TRUNCATE public.${KEYLESS}`);
    await pair.target.query(`INSERT INTO public.${KEYLESS} VALUES ${values}`);
    return (await targetSums(pair.target, description, hash, WHOLE))[0];
  };

  test('the same rows in any order agree; a duplicate lost, added or swapped for another row does not', async () => {
    const [source] = await sourceSums(pair.source, description, hash, WHOLE);
    assert.equal(source!.rows, '4');
    assert.deepEqual(await targetHolding("(NULL, ''), (2, 'b'), (1, 'a'), (1, 'a')"), source);
    assert.notDeepEqual(await targetHolding("(1, 'a'), (2, 'b'), (NULL, '')"), source);
    assert.notDeepEqual(await targetHolding("(1, 'a'), (1, 'a'), (1, 'a'), (2, 'b'), (NULL, '')"), source);
    // Same count, and each row alone could be the source's: the sum still tells.
    assert.notDeepEqual(await targetHolding("(1, 'a'), (2, 'b'), (2, 'b'), (NULL, '')"), source);
    assert.notDeepEqual(await targetHolding("(1, 'a'), (1, 'a'), (2, 'b'), (NULL, NULL)"), source);
  });
});
