import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import { from as copyFrom } from 'pg-copy-streams';
import type { ConnectionPair } from '../../functions/core/connections.js';
import { CopyTextEncoder } from '../../functions/core/copy-encoder.js';
import { copyRange } from '../../functions/core/copy-range.js';
import { quoteMysql, quotePg, TARGET_SCHEMA } from '../../functions/core/identifiers.js';
import { summarizeRun } from '../../functions/core/ledger.js';
import { type PlanResult, plan } from '../../functions/core/plan.js';
import type { Policies } from '../../functions/core/policies.js';
import { sourceRangeBytes, sourceRangeRows } from '../../functions/core/range-rows.js';
import { describeSourceTable, type TableDescription } from '../../functions/core/schema.js';
import { summarize } from '../../functions/core/summarize.js';
import { verifyRange } from '../../functions/core/verify-range.js';
import { closePair, dropTables, openPair } from '../support/databases.js';

/** One value of the corpus: the SQL that stores it, the text MySQL prints for it, the text PostgreSQL prints once copied. */
type Cell = [sql: string, source: string | null, target: string | null];

const NULL: Cell = ['NULL', null, null];
/** A value both servers print alike. */
const same = (sql: string, text: string): Cell => [sql, text, text];
const str = (text: string): Cell => same(quote(text), text);
const num = (text: string): Cell => same(text, text);
const quote = (text: string) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "''").replace(/\0/g, '\\0')}'`;
const hex = (bytes: Buffer): Cell => [
  bytes.length ? `X'${bytes.toString('hex')}'` : "''",
  bytes.toString('hex'),
  `\\x${bytes.toString('hex')}`,
];

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const EMOJI_20 = '😀'.repeat(20);
const DECIMAL_65_30 = `${'9'.repeat(35)}.${'9'.repeat(30)}`;

/**
 * The corpus: each column with its MySQL definition and its value in each row. Row 1 holds each
 * type's minimum, row 2 its maximum, row 3 NULLs, rows 4 to 6 the values migrations get wrong.
 */
const CORPUS: Record<string, { ddl: string; pgType: string; rows: Cell[] }> = {
  ti: { ddl: 'TINYINT', pgType: 'smallint', rows: [num('-128'), num('127'), NULL, num('0'), num('1'), num('-1')] },
  tiu: {
    ddl: 'TINYINT UNSIGNED',
    pgType: 'smallint',
    rows: [num('0'), num('255'), NULL, num('7'), num('1'), num('128')],
  },
  si: { ddl: 'SMALLINT', pgType: 'smallint', rows: [num('-32768'), num('32767'), NULL, num('0'), num('1'), num('-1')] },
  siu: {
    ddl: 'SMALLINT UNSIGNED',
    pgType: 'integer',
    rows: [num('0'), num('65535'), NULL, num('0'), num('1'), num('32768')],
  },
  mi: {
    ddl: 'MEDIUMINT',
    pgType: 'integer',
    rows: [num('-8388608'), num('8388607'), NULL, num('0'), num('1'), num('-1')],
  },
  miu: {
    ddl: 'MEDIUMINT UNSIGNED',
    pgType: 'integer',
    rows: [num('0'), num('16777215'), NULL, num('0'), num('1'), num('2')],
  },
  i: {
    ddl: 'INT',
    pgType: 'integer',
    rows: [num('-2147483648'), num('2147483647'), NULL, num('0'), num('1'), num('-1')],
  },
  iu: {
    ddl: 'INT UNSIGNED',
    pgType: 'bigint',
    rows: [num('0'), num('4294967295'), NULL, num('0'), num('1'), num('2147483648')],
  },
  bi: {
    ddl: 'BIGINT',
    pgType: 'bigint',
    rows: [num('-9223372036854775808'), num('9223372036854775807'), NULL, num('0'), num('1'), num('-1')],
  },
  biu: {
    ddl: 'BIGINT UNSIGNED',
    pgType: 'numeric(20,0)',
    rows: [num('0'), num('18446744073709551615'), NULL, num('0'), num('1'), num('9223372036854775808')],
  },
  // ZEROFILL pads the printed number; the number is the value.
  zf: {
    ddl: 'INT(5) UNSIGNED ZEROFILL',
    pgType: 'bigint',
    rows: [['42', '00042', '42'], num('4294967295'), NULL, ['0', '00000', '0'], ['1', '00001', '1'], num('123456')],
  },
  dec65: {
    ddl: 'DECIMAL(65,30)',
    pgType: 'numeric(65,30)',
    rows: [
      num(`-${DECIMAL_65_30}`),
      num(DECIMAL_65_30),
      NULL,
      num(`0.${'0'.repeat(29)}1`),
      ['0', `0.${'0'.repeat(30)}`, `0.${'0'.repeat(30)}`],
      num(`-0.${'0'.repeat(29)}1`),
    ],
  },
  dec2: {
    ddl: 'DECIMAL(10,2)',
    pgType: 'numeric(10,2)',
    rows: [num('-99999999.99'), num('99999999.99'), NULL, num('0.01'), ['0', '0.00', '0.00'], num('-0.50')],
  },
  // MySQL prints FLOAT rounded to 6 digits; the float itself must arrive.
  fl: {
    ddl: 'FLOAT',
    pgType: 'real',
    rows: [
      ['-3.4028234e38', '-3.40282e38', '-3.4028235e+38'],
      ['3.4028234e38', '3.40282e38', '3.4028235e+38'],
      NULL,
      same('0.1', '0.1'),
      ['123456789', '123457000', '1.2345679e+08'],
      ['1.401298464324817e-45', '1.4013e-45', '1e-45'],
    ],
  },
  db: {
    ddl: 'DOUBLE',
    pgType: 'double precision',
    rows: [
      ['-1.7976931348623157e308', '-1.7976931348623157e308', '-1.7976931348623157e+308'],
      ['1.7976931348623157e308', '1.7976931348623157e308', '1.7976931348623157e+308'],
      NULL,
      same('0.1e0 + 0.2e0', '0.30000000000000004'),
      num('2.2250738585072014e-308'),
      num('5e-324'),
    ],
  },
  flag: {
    ddl: 'TINYINT(1)',
    pgType: 'boolean',
    rows: [['0', '0', 'f'], ['1', '1', 't'], NULL, ['1', '1', 't'], ['0', '0', 'f'], NULL],
  },
  b1: {
    ddl: 'BIT(1)',
    pgType: 'boolean',
    rows: [["b'0'", '00', 'f'], ["b'1'", '01', 't'], NULL, ["b'1'", '01', 't'], ["b'0'", '00', 'f'], NULL],
  },
  b10: {
    ddl: 'BIT(10)',
    pgType: 'bit(10)',
    rows: [
      ["b'0000000001'", '0001', '0000000001'],
      ["b'1111111111'", '03ff', '1111111111'],
      NULL,
      ["b'1000000000'", '0200', '1000000000'],
      ["b'0'", '0000', '0000000000'],
      NULL,
    ],
  },
  b64: {
    ddl: 'BIT(64)',
    pgType: 'bit(64)',
    rows: [
      ['0', '0000000000000000', '0'.repeat(64)],
      [`b'${'1'.repeat(64)}'`, 'ffffffffffffffff', '1'.repeat(64)],
      NULL,
      ["X'8000000000000001'", '8000000000000001', `1${'0'.repeat(62)}1`],
      NULL,
      NULL,
    ],
  },
  d: {
    ddl: 'DATE',
    pgType: 'date',
    rows: [
      str('1000-01-01'),
      str('9999-12-31'),
      NULL,
      // MySQL's year 0 is the proleptic Gregorian year PostgreSQL calls 1 BC.
      ["'0000-01-01'", '0000-01-01', '0001-01-01 BC'],
      ["'0000-00-00'", '0000-00-00', null],
      str('0009-12-04'),
    ],
  },
  dt: {
    ddl: 'DATETIME',
    pgType: 'timestamp(0) without time zone',
    rows: [
      str('1000-01-01 00:00:00'),
      str('9999-12-31 23:59:59'),
      NULL,
      ["'0000-03-01 12:00:00'", '0000-03-01 12:00:00', '0001-03-01 12:00:00 BC'],
      ["'2020-00-15 10:00:00'", '2020-00-15 10:00:00', null],
      str('2024-02-29 23:59:59'),
    ],
  },
  dt6: {
    ddl: 'DATETIME(6)',
    pgType: 'timestamp(6) without time zone',
    rows: [
      ["'1000-01-01 00:00:00'", '1000-01-01 00:00:00.000000', '1000-01-01 00:00:00'],
      str('9999-12-31 23:59:59.999999'),
      NULL,
      str('2020-01-01 00:00:00.000001'),
      ["'2020-05-00 00:00:00'", '2020-05-00 00:00:00.000000', null],
      ["'1969-12-31 23:59:59.5'", '1969-12-31 23:59:59.500000', '1969-12-31 23:59:59.5'],
    ],
  },
  ts: {
    ddl: 'TIMESTAMP NULL DEFAULT NULL',
    pgType: 'timestamp(0) with time zone',
    rows: [
      ["'1970-01-01 00:00:01'", '1970-01-01 00:00:01', '1970-01-01 00:00:01+00'],
      ["'2038-01-19 03:14:07'", '2038-01-19 03:14:07', '2038-01-19 03:14:07+00'],
      NULL,
      // A wall-clock hour that does not exist in US time zones; in UTC it is an ordinary instant.
      ["'2020-03-08 02:30:00'", '2020-03-08 02:30:00', '2020-03-08 02:30:00+00'],
      ["'0000-00-00 00:00:00'", '0000-00-00 00:00:00', null],
      ["'2000-02-29 00:00:00'", '2000-02-29 00:00:00', '2000-02-29 00:00:00+00'],
    ],
  },
  ts6: {
    ddl: 'TIMESTAMP(6) NULL DEFAULT NULL',
    pgType: 'timestamp(6) with time zone',
    rows: [
      ["'1970-01-01 00:00:01'", '1970-01-01 00:00:01.000000', '1970-01-01 00:00:01+00'],
      ["'2038-01-19 03:14:07.999999'", '2038-01-19 03:14:07.999999', '2038-01-19 03:14:07.999999+00'],
      NULL,
      ["'2020-01-01 00:00:00.123456'", '2020-01-01 00:00:00.123456', '2020-01-01 00:00:00.123456+00'],
      NULL,
      NULL,
    ],
  },
  t: {
    ddl: 'TIME',
    pgType: 'interval(0)',
    rows: [str('-838:59:59'), str('838:59:59'), NULL, str('00:00:00'), str('-00:00:01'), str('24:00:00')],
  },
  t6: {
    ddl: 'TIME(6)',
    pgType: 'interval(6)',
    rows: [
      ["'-838:59:59'", '-838:59:59.000000', '-838:59:59'],
      ["'838:59:59'", '838:59:59.000000', '838:59:59'],
      NULL,
      str('-00:00:00.000001'),
      ["'12:34:56.5'", '12:34:56.500000', '12:34:56.5'],
      NULL,
    ],
  },
  y: {
    ddl: 'YEAR',
    pgType: 'smallint',
    rows: [num('1901'), num('2155'), NULL, num('2000'), ['0', '0000', null], num('1999')],
  },
  // MySQL drops CHAR's trailing spaces when it reads the value.
  c: {
    ddl: 'CHAR(5)',
    pgType: 'character varying(5)',
    rows: [str(''), str('abcde'), NULL, ["'ab  '", 'ab', 'ab'], str('😀'), str('é')],
  },
  vc: {
    ddl: 'VARCHAR(20)',
    pgType: 'character varying(20)',
    rows: [str(''), str(EMOJI_20), NULL, str(' sp '), str('x'), str('\\N')],
  },
  txt: {
    ddl: 'TEXT',
    pgType: 'text',
    rows: [str(''), str('tab\there\nnew\\line\\N\rcr'), NULL, str('\\N'), str('NULL'), str('𝄞 🚀 中文 עברית')],
  },
  lat: {
    ddl: 'VARCHAR(40) CHARACTER SET latin1',
    pgType: 'character varying(40)',
    rows: [str(''), str('café ñ ü ß ÿ ¤ µ € Æ'), NULL, str('Ærø'), str('x'), NULL],
  },
  mb3: {
    ddl: 'VARCHAR(20) CHARACTER SET utf8mb3',
    pgType: 'character varying(20)',
    rows: [str(''), str('Ωmega ✓ ☃'), NULL, str('ü'), str('x'), NULL],
  },
  // BINARY(n) pads with zero bytes, and they are part of the value.
  bin: {
    ddl: 'BINARY(4)',
    pgType: 'bytea',
    rows: [
      hex(Buffer.alloc(4)),
      ["'ab'", '61620000', '\\x61620000'],
      NULL,
      hex(Buffer.from('ff000000', 'hex')),
      hex(Buffer.from('00000001', 'hex')),
      NULL,
    ],
  },
  vbin: {
    ddl: 'VARBINARY(300)',
    pgType: 'bytea',
    rows: [hex(Buffer.alloc(0)), hex(ALL_BYTES), NULL, hex(Buffer.alloc(2)), hex(Buffer.from('\\N')), NULL],
  },
  blb: {
    ddl: 'BLOB',
    pgType: 'bytea',
    rows: [
      hex(Buffer.alloc(0)),
      hex(Buffer.concat([ALL_BYTES, Buffer.alloc(3)])),
      NULL,
      hex(Buffer.from('00ff0000', 'hex')),
      NULL,
      NULL,
    ],
  },
  // Non-strict MySQL stores '' for a label the ENUM does not have (row 4); kept by default, and counted.
  e: {
    ddl: "ENUM('a','b','c')",
    pgType: 'text',
    rows: [str('a'), str('c'), NULL, ["'zzz'", '', ''], str('b'), str('a')],
  },
  st: {
    ddl: "SET('x','y','z')",
    pgType: 'text',
    rows: [str(''), str('x,y,z'), NULL, str('y'), ["'z,x'", 'x,z', 'x,z'], str('')],
  },
  j: {
    ddl: 'JSON',
    pgType: 'jsonb',
    rows: [
      str('{}'),
      [
        quote('{"k": "tab\\tq\\"", "n": 1.5e3, "e": "😀", "esc": "\\\\u0000"}'),
        '{"k": "tab\\tq\\"", "n": 1.5e3, "e": "😀", "esc": "\\\\u0000"}',
        '{"e": "😀", "k": "tab\\tq\\"", "n": 1500, "esc": "\\\\u0000"}',
      ],
      NULL,
      [quote('[1,"two",null,true,{"a":[]}]'), '[1,"two",null,true,{"a":[]}]', '[1, "two", null, true, {"a": []}]'],
      str('"just a string"'),
      [quote('0.1'), '0.1', '0.1'],
    ],
  },
};

/** Generated columns: MySQL computes them, the target receives their values. */
const GENERATED: Record<string, { ddl: string; pgType: string; rows: (string | null)[] }> = {
  gen: { ddl: 'INT AS (ti * 2) VIRTUAL', pgType: 'integer', rows: ['-256', '254', null, '0', '2', '-2'] },
  gens: {
    ddl: "VARCHAR(30) AS (CONCAT(vc, '!')) STORED",
    pgType: 'character varying(30)',
    rows: ['!', `${EMOJI_20}!`, null, ' sp !', 'x!', '\\N!'],
  },
};

const TABLE = 'typed_values';
const ROWS = 6;
const COLUMNS = Object.keys(CORPUS);
const ALL_COLUMNS = [...COLUMNS, ...Object.keys(GENERATED)];
const DEFAULTS = { tables: [TABLE], chunkRows: 100, concurrency: 1 };

// Binary and BIT columns are read as bytes and shown in hex, as no text form shows them faithfully.
const BYTES = new Set(['b1', 'b10', 'b64', 'bin', 'vbin', 'blb']);

/** The expected text of a column in a row: 1 as MySQL prints it, 2 as PostgreSQL prints it once copied. */
const expected = (name: string, row: number, side: 1 | 2) =>
  name in CORPUS ? CORPUS[name]!.rows[row]![side] : GENERATED[name]!.rows[row];

async function sourceRows(pair: ConnectionPair, table: string, columns: string[]): Promise<(string | null)[][]> {
  const [rows] = await pair.source.promise().query({
    sql: `SELECT ${columns.map(quoteMysql).join(', ')} FROM ${quoteMysql(table)} ORDER BY id`,
    rowsAsArray: true,
    typeCast: (field, next) => {
      if (BYTES.has(field.name)) return field.buffer()?.toString('hex') ?? null;
      return field.type === 'NULL' ? next() : field.string('utf8');
    },
  });
  return rows as (string | null)[][];
}

async function targetRows(pair: ConnectionPair, table: string, columns: string[]): Promise<(string | null)[][]> {
  const { rows } = await pair.target.query({
    text: `SELECT ${columns.map(quotePg).join(', ')} FROM public.${quotePg(table)} ORDER BY id`,
    rowMode: 'array',
    types: { getTypeParser: () => (value: string) => value },
  });
  return rows as (string | null)[][];
}

async function targetColumnTypes(pair: ConnectionPair, table: string) {
  const { rows } = await pair.target.query<{ name: string; type: string; notnull: boolean; default: string | null }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS notnull, pg_get_expr(d.adbin, d.adrelid) AS default
       FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [`public.${table}`],
  );
  return rows;
}

async function ledgerRange(pair: ConnectionPair, runId: string, index: number) {
  const { rows } = await pair.target.query<{
    status: string;
    error: string | null;
    policy_counts: Record<string, number> | null;
  }>('SELECT status, error, policy_counts FROM migration.ranges WHERE run_id = $1 AND range_index = $2', [
    runId,
    index,
  ]);
  return rows[0]!;
}

/** Runs `work` with the source session in non-strict mode, where MySQL stores zero dates and invalid ENUM labels. */
async function nonStrict<T>(pair: ConnectionPair, work: () => Promise<T>, mode = ''): Promise<T> {
  await pair.source.promise().query('SET SESSION sql_mode = ?', [mode]);
  try {
    return await work();
  } finally {
    await pair.source.promise().query('SET SESSION sql_mode = DEFAULT');
  }
}

let runs = 0;
const runId = (name: string) => `typed-${name}-${process.pid}-${++runs}`;

async function planRun(
  pair: ConnectionPair,
  table: string,
  input: { chunkRows?: number; policies?: Partial<Policies> } = {},
): Promise<PlanResult> {
  const id = runId(table);
  return plan({ input: { table, ...input }, runId: id, execution: `local:${id}` }, pair, DEFAULTS);
}

/** Ends a run as the workflow's Summarize does, giving the table back; a run with a failed range ends failed. */
async function endRun(pair: ConnectionPair, runId: string): Promise<void> {
  await summarize({ runId }, pair.target).catch((error: Error) => {
    if (error.name !== 'RangesFailedError') throw error;
  });
}

/** The COPY text a range's rows make, as the source delivered them, and what the policies did. */
async function copyText(description: TableDescription, policies: Policies, rows: Readable) {
  const encoder = new CopyTextEncoder(TABLE, description.columns, [0], policies);
  const pieces: Buffer[] = [];
  encoder.on('data', (piece: Buffer) => pieces.push(piece));
  await pipeline(rows, encoder);
  return { text: Buffer.concat(pieces).toString('utf8'), policyCounts: encoder.policyCounts };
}

describe('every MySQL type arrives in PostgreSQL with the same meaning', () => {
  let pair: ConnectionPair;
  let planned: PlanResult;

  before(async () => {
    pair = await openPair();
    await dropTables(pair, TABLE);
    const ddl = [
      'id BIGINT UNSIGNED NOT NULL PRIMARY KEY',
      ...Object.entries(CORPUS).map(([name, column]) => `${quoteMysql(name)} ${column.ddl}`),
      ...Object.entries(GENERATED).map(([name, column]) => `${quoteMysql(name)} ${column.ddl}`),
    ];
    await pair.source.promise().query(`CREATE TABLE ${TABLE} (${ddl.join(', ')}) DEFAULT CHARSET=utf8mb4`);
    const values = Array.from(
      { length: ROWS },
      (_, row) => `(${[row + 1, ...COLUMNS.map((name) => CORPUS[name]!.rows[row]![0])].join(', ')})`,
    );
    await nonStrict(pair, () =>
      pair.source.promise().query(`INSERT INTO ${TABLE} (id, ${COLUMNS.join(', ')}) VALUES ${values.join(', ')}`),
    );
    planned = await planRun(pair, TABLE);
  });
  after(async () => {
    await endRun(pair, planned.runId);
    await dropTables(pair, TABLE);
    await closePair(pair);
  });

  test('the source holds the corpus as intended (each value as MySQL prints it)', async () => {
    const rows = await sourceRows(pair, TABLE, ALL_COLUMNS);
    for (let row = 0; row < ROWS; row++) {
      for (const [i, name] of ALL_COLUMNS.entries()) {
        assert.equal(rows[row]![i], expected(name, row, 1), `source row ${row + 1}, column ${name}`);
      }
    }
  });

  test('Plan creates the target with the mapped type of every column', async () => {
    const columns = await targetColumnTypes(pair, TABLE);
    const expected = [
      { name: 'id', type: 'numeric(20,0)' },
      ...Object.entries({ ...CORPUS, ...GENERATED }).map(([name, column]) => ({ name, type: column.pgType })),
    ];
    assert.deepEqual(
      columns.map(({ name, type }) => ({ name, type })),
      expected,
    );
    // What creating the table left out of the source's definition is in the run's ledger row.
    assert.deepEqual((await summarizeRun(pair.target, planned.runId)).schemaNotes, [
      'gen: generated column (`ti` * 2); its values are copied, its expression is not',
      "gens: generated column (concat(`vc`,'!')); its values are copied, its expression is not",
    ]);
  });

  test('CopyRange writes each value as PostgreSQL text that means the same, and counts what the policies did', async () => {
    const result = await copyRange(
      { runId: planned.runId, table: TABLE, range: planned.ranges[0]!, policies: planned.policies },
      pair,
    );
    assert.equal(result.rows, ROWS);
    const rows = await targetRows(pair, TABLE, ALL_COLUMNS);
    for (let row = 0; row < ROWS; row++) {
      for (const [i, name] of ALL_COLUMNS.entries()) {
        assert.equal(rows[row]![i], expected(name, row, 2), `target row ${row + 1}, column ${name}`);
      }
    }
    // Row 5's zero dates (d, dt, dt6, ts and YEAR 0000) became NULL; row 4's empty ENUM was kept.
    const counts = { zeroDates: 5, nulBytes: 0, tinyint1: 0, emptyEnum: 1, spatial: 0 };
    assert.deepEqual(result.policyCounts, counts);
    assert.deepEqual((await ledgerRange(pair, planned.runId, 0)).policy_counts, counts);
  });

  test('values written through as the bytes MySQL sent mean in PostgreSQL what their encoders make of them', async () => {
    const description = await describeSourceTable(pair.source, TABLE, pair.target);
    const whole = { lo: null, hi: null };
    const asText = await copyText(description, planned.policies, sourceRangeRows(pair.source, description, whole));
    const asBytes = await copyText(description, planned.policies, sourceRangeBytes(pair.source, description, whole));
    assert.deepEqual(asBytes.policyCounts, asText.policyCounts);
    // Booleans go through as MySQL's 1 and 0 rather than their encoder's t and f: the bytes were written through.
    assert.notEqual(asBytes.text, asText.text);
    const target = `${quotePg(TARGET_SCHEMA)}.${quotePg(TABLE)}`;
    for (const [name, { text }] of Object.entries({ by_text: asText, by_bytes: asBytes })) {
      await pair.target.query(`CREATE TEMPORARY TABLE ${name} (LIKE ${target})`);
      const copy = pair.target.query(copyFrom(`COPY ${name} FROM STDIN`));
      copy.end(text);
      await new Promise((resolve, reject) => copy.on('finish', resolve).on('error', reject));
    }
    const { rows } = await pair.target.query<{ rows: string; differing: string }>(
      `SELECT (SELECT count(*) FROM by_bytes) AS rows,
              (SELECT count(*) FROM (SELECT * FROM by_bytes EXCEPT ALL SELECT * FROM by_text) AS d)
            + (SELECT count(*) FROM (SELECT * FROM by_text EXCEPT ALL SELECT * FROM by_bytes) AS d) AS differing`,
    );
    assert.deepEqual(rows[0], { rows: String(ROWS), differing: '0' });
  });

  test("VerifyRange finds every value the same on both sides, the policies' NULLs included", async () => {
    const result = await verifyRange(
      { runId: planned.runId, table: TABLE, range: planned.ranges[0]!, policies: planned.policies },
      pair,
    );
    assert.equal(result.rows, ROWS);
  });
});

describe('a value PostgreSQL cannot hold fails its range with the table, column, key and reason, unless a policy says otherwise', () => {
  const table = 'typed_refused';
  let pair: ConnectionPair;

  /** One problem per row, so each range (one row each) fails for one reason. */
  const ROWS_SQL = [
    "(1, CONCAT('a', CHAR(0), 'b'), NULL, NULL, NULL, DEFAULT, NULL)",
    `(2, NULL, '{"a": "\\\\u0000b"}', NULL, NULL, DEFAULT, NULL)`,
    '(3, NULL, NULL, 2, NULL, DEFAULT, NULL)',
    "(4, NULL, NULL, NULL, '2021-02-31', DEFAULT, NULL)",
    "(5, NULL, NULL, NULL, NULL, '0000-00-00 00:00:00', NULL)",
    // MariaDB's json_valid() takes a number PostgreSQL's numeric cannot hold: PostgreSQL itself refuses it.
    "(6, NULL, '[1e999999]', NULL, NULL, DEFAULT, NULL)",
    "(7, NULL, NULL, NULL, NULL, DEFAULT, 'zzz')",
    `(8, NULL, '{"a": 1, "b": {"a": 2}, "a": 3}', NULL, NULL, DEFAULT, NULL)`,
  ];

  before(async () => {
    pair = await openPair();
    await dropTables(pair, table);
    await pair.source.promise().query(`CREATE TABLE ${table} (
      id INT PRIMARY KEY, txt TEXT NULL, j JSON NULL, flag TINYINT(1) NULL, d DATE NULL,
      dnn DATETIME NOT NULL DEFAULT '2000-01-01 00:00:00', e ENUM('a','b') NULL)`);
    await nonStrict(
      pair,
      () => pair.source.promise().query(`INSERT INTO ${table} VALUES ${ROWS_SQL.join(', ')}`),
      'ALLOW_INVALID_DATES',
    );
  });
  after(async () => {
    await dropTables(pair, table);
    await closePair(pair);
  });

  /** Copies each one-row range of a new run with these policies; returns each range's outcome. */
  async function copyEachRow(policies: Partial<Policies>) {
    const planned = await planRun(pair, table, { chunkRows: 1, policies });
    assert.equal(planned.ranges.length, ROWS_SQL.length);
    const outcomes: (string | Record<string, number>)[] = [];
    for (const range of planned.ranges) {
      const item = { runId: planned.runId, table, range, policies: planned.policies };
      const outcome = await copyRange(item, pair).then(
        (result) => result.policyCounts,
        (error: Error) => `${error.name}: ${error.message}`,
      );
      outcomes.push(outcome);
      const ledger = await ledgerRange(pair, planned.runId, range.index);
      if (typeof outcome === 'string')
        assert.deepEqual({ status: ledger.status, error: ledger.error }, { status: 'failed', error: outcome });
      else
        assert.deepEqual(
          { status: ledger.status, counts: ledger.policy_counts },
          { status: 'copied', counts: outcome },
        );
      // What a policy did to a value is what VerifyRange expects of it.
      if (typeof outcome !== 'string') await verifyRange(item, pair);
    }
    await endRun(pair, planned.runId);
    return { planned, outcomes };
  }

  const counts = (changed: Partial<Record<string, number>> = {}) => ({
    zeroDates: 0,
    nulBytes: 0,
    tinyint1: 0,
    emptyEnum: 0,
    spatial: 0,
    ...changed,
  });

  test('with the default policies, each unrepresentable value fails its range and names table, column, key and reason', async () => {
    const { outcomes } = await copyEachRow({});
    assert.deepEqual(outcomes.slice(0, 6), [
      'ValueConversionError: typed_refused.txt at key 1: text contains a NUL byte, which PostgreSQL text cannot hold (nulBytes: fail)',
      'ValueConversionError: typed_refused.j at key 2: JSON holds \\u0000 in a string, which jsonb cannot hold (nulBytes: fail)',
      'ValueConversionError: typed_refused.flag at key 3: tinyint(1) holds 2, which is neither 0 nor 1 and would not survive as a boolean (tinyint1: fail)',
      'ValueConversionError: typed_refused.d at key 4: 2021-02-31 is not a calendar date (stored under ALLOW_INVALID_DATES)',
      'ValueConversionError: typed_refused.dnn at key 5: zero date 0000-00-00 00:00:00 becomes NULL (zeroDates: null), but the target column is NOT NULL: ' +
        'allow NULL in the target column, or fix the source value',
      'ValueConversionError: typed_refused.j at key 6: PostgreSQL refused it: value overflows numeric format',
    ]);
    // The empty ENUM value is kept by default, and counted.
    assert.deepEqual(outcomes[6], counts({ emptyEnum: 1 }));
    assert.equal(
      outcomes[7],
      'ValueConversionError: typed_refused.j at key 8: JSON object has the key "a" twice: MariaDB reads the first, jsonb would keep only the last',
    );
    assert.deepEqual(await targetRows(pair, table, ['id', 'e']), [['7', '']]);
  });

  test('chosen policies strip NUL bytes and read tinyint(1) 2 as true, counting each; the run summary totals them', async () => {
    const { planned, outcomes } = await copyEachRow({
      nulBytes: 'strip',
      tinyint1: 'nonzero-true',
      zeroDates: 'fail',
      emptyEnum: 'fail',
    });
    assert.deepEqual(outcomes.slice(0, 3), [counts({ nulBytes: 1 }), counts({ nulBytes: 1 }), counts({ tinyint1: 1 })]);
    assert.match(
      String(outcomes[4]),
      /typed_refused\.dnn at key 5: zero date 0000-00-00 00:00:00 has no PostgreSQL equivalent \(zeroDates: fail\)/,
    );
    assert.match(String(outcomes[6]), /typed_refused\.e at key 7: the empty ENUM value .* \(emptyEnum: fail\)/);
    assert.deepEqual(await targetRows(pair, table, ['id', 'txt', 'j', 'flag']), [
      ['1', 'ab', null, null],
      ['2', null, '{"a": "b"}', null],
      ['3', null, null, 't'],
      // The first run's copy: this run's range 6 failed and wrote nothing.
      ['7', null, null, null],
    ]);
    const summary = await summarizeRun(pair.target, planned.runId);
    assert.deepEqual(summary.policies, {
      zeroDates: 'fail',
      nulBytes: 'strip',
      tinyint1: 'nonzero-true',
      emptyEnum: 'fail',
      spatial: 'bytea',
    });
    assert.deepEqual(summary.policyCounts, counts({ nulBytes: 2, tinyint1: 1 }));
    assert.equal(summary.failed, 5);
  });
});

describe('Plan creates the target from the source, or checks an existing one before any copy', () => {
  let pair: ConnectionPair;
  const tables = ['typed_defaults', 'typed_existing', 'typed_mariadb'];

  before(async () => {
    pair = await openPair();
    for (const table of tables) await dropTables(pair, table);
  });
  after(async () => {
    for (const table of tables) await dropTables(pair, table);
    await closePair(pair);
  });

  test('defaults that mean the same in PostgreSQL are kept, and the rest are dropped and reported', async () => {
    const table = 'typed_defaults';
    await nonStrict(pair, () =>
      pair.source.promise().query(`CREATE TABLE ${table} (
        id INT NOT NULL PRIMARY KEY AUTO_INCREMENT,
        qty INT NOT NULL DEFAULT 0,
        price DECIMAL(8,2) DEFAULT '9.99',
        ratio DOUBLE DEFAULT 0.5,
        active TINYINT(1) NOT NULL DEFAULT 1,
        flag BIT(1) DEFAULT b'1',
        mask BIT(4) DEFAULT b'0101',
        label VARCHAR(20) DEFAULT 'it''s \\\\ "x"',
        word VARCHAR(10) DEFAULT 'NULL',
        status ENUM('new','old') NOT NULL DEFAULT 'new',
        day DATE DEFAULT '2020-01-01',
        today DATE DEFAULT curdate(),
        created DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
        updated TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
        zero DATETIME NOT NULL DEFAULT '0000-00-00 00:00:00',
        dur TIME DEFAULT '-01:30:00',
        yr YEAR DEFAULT 2000,
        doc JSON DEFAULT '{}',
        token VARCHAR(36) DEFAULT uuid(),
        raw VARBINARY(4) DEFAULT 'ab',
        twice INT AS (qty * 2) VIRTUAL)`),
    );
    const planned = await planRun(pair, table);
    assert.deepEqual((await summarizeRun(pair.target, planned.runId)).schemaNotes, [
      "zero: default '0000-00-00 00:00:00' dropped: zero date 0000-00-00 00:00:00 has no PostgreSQL equivalent (zeroDates: fail)",
      'zero: NOT NULL dropped, so rows holding the zero-date default can arrive as NULL (zeroDates: null)',
      'token: default uuid() has no PostgreSQL equivalent; dropped',
      'raw: binary default dropped (information_schema does not give its bytes exactly)',
      'twice: generated column (`qty` * 2); its values are copied, its expression is not',
    ]);
    assert.deepEqual(
      (await targetColumnTypes(pair, table)).map(
        (c) => `${c.name} ${c.type}${c.notnull ? ' NOT NULL' : ''}${c.default ? ` DEFAULT ${c.default}` : ''}`,
      ),
      [
        'id integer NOT NULL',
        'qty integer NOT NULL DEFAULT 0',
        'price numeric(8,2) DEFAULT 9.99',
        `ratio double precision DEFAULT '0.5'::double precision`,
        'active boolean NOT NULL DEFAULT true',
        'flag boolean DEFAULT true',
        `mask bit(4) DEFAULT '0101'::"bit"`,
        `label character varying(20) DEFAULT 'it''s \\ "x"'::character varying`,
        `word character varying(10) DEFAULT 'NULL'::character varying`,
        `status text NOT NULL DEFAULT 'new'::text`,
        `day date DEFAULT '2020-01-01'::date`,
        'today date DEFAULT CURRENT_DATE',
        'created timestamp(3) without time zone NOT NULL DEFAULT LOCALTIMESTAMP',
        'updated timestamp(0) with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP',
        'zero timestamp(0) without time zone',
        `dur interval(0) DEFAULT '-01:30:00'::interval(0)`,
        `yr smallint DEFAULT '2000'::smallint`,
        `doc jsonb DEFAULT '{}'::jsonb`,
        'token character varying(36)',
        'raw bytea',
        'twice integer',
      ],
    );
    // A row that takes every default in MySQL and one that takes every default in PostgreSQL hold the same constants.
    const constants = [
      'qty',
      'price',
      'ratio',
      'active',
      'flag',
      'mask',
      'label',
      'word',
      'status',
      'day',
      'dur',
      'yr',
      'doc',
    ];
    await pair.source.promise().query(`INSERT INTO ${table} () VALUES ()`);
    await copyRange({ runId: planned.runId, table, range: planned.ranges[0]!, policies: planned.policies }, pair);
    await pair.target.query(`INSERT INTO public.${table} (id, created, updated) VALUES (2, now(), now())`);
    await endRun(pair, planned.runId);
    const [copied, defaulted] = await targetRows(pair, table, constants);
    assert.deepEqual(defaulted, copied);
  });

  test('an existing target that cannot hold the source is refused column by column before anything is written', async () => {
    const table = 'typed_existing';
    await pair.source
      .promise()
      .query(
        `CREATE TABLE ${table} (id INT PRIMARY KEY, amount DECIMAL(12,2) NOT NULL, name VARCHAR(50), born DATETIME(3) NOT NULL, n INT UNSIGNED)`,
      );
    await pair.target.query(
      `CREATE TABLE public.${table} (id integer PRIMARY KEY, amount numeric(10,2), name varchar(20) NOT NULL, n integer, extra text NOT NULL)`,
    );
    const runId = 'typed-existing-refused';
    await assert.rejects(plan({ input: { table }, runId, execution: 'x' }, pair, DEFAULTS), {
      name: 'SchemaError',
      message: [
        `Target table public.${table} exists but cannot hold the source's data:`,
        "  amount: numeric(10,2) cannot hold the source's decimal(12,2) (numeric(12,2))",
        "  name: character varying(20) cannot hold the source's varchar(50) (character varying(50))",
        '  name: NOT NULL, but the source allows NULL',
        '  born: missing; the source has datetime(3) (timestamp(3) without time zone)',
        "  n: integer cannot hold the source's int(10) unsigned (bigint)",
        '  extra: NOT NULL without a default, and the source has no such column',
        'Alter these columns, or drop the table so it is created from the source.',
      ].join('\n'),
    });
    const { rows } = await pair.target.query('SELECT 1 FROM migration.runs WHERE run_id = $1', [runId]);
    assert.equal(rows.length, 0);
  });

  test('an existing target with wider columns is accepted, and its nullable column takes a zero date as NULL', async () => {
    const table = 'typed_existing';
    await dropTables(pair, table);
    await pair.source
      .promise()
      .query(
        `CREATE TABLE ${table} (id INT PRIMARY KEY, amount DECIMAL(12,2) NOT NULL, name VARCHAR(50), born DATETIME(3) NOT NULL)`,
      );
    await nonStrict(pair, () =>
      pair.source
        .promise()
        .query(
          `INSERT INTO ${table} VALUES (1, 12.5, 'Zoë', '0000-00-00 00:00:00'), (2, -1, NULL, '2001-02-03 04:05:06.789')`,
        ),
    );
    await pair.target.query(
      `CREATE TABLE public.${table} (id bigint PRIMARY KEY, amount numeric, name text, born timestamp(6), note text)`,
    );
    const planned = await planRun(pair, table);
    assert.deepEqual((await summarizeRun(pair.target, planned.runId)).schemaNotes, []);
    const result = await copyRange(
      { runId: planned.runId, table, range: planned.ranges[0]!, policies: planned.policies },
      pair,
    );
    await endRun(pair, planned.runId);
    assert.equal(result.policyCounts.zeroDates, 1);
    assert.deepEqual(await targetRows(pair, table, ['id', 'amount', 'name', 'born', 'note']), [
      ['1', '12.50', 'Zoë', null, null],
      ['2', '-1.00', null, '2001-02-03 04:05:06.789', null],
    ]);
  });

  test("MariaDB's UUID, INET4 and INET6 arrive as uuid and inet", async (t) => {
    const [[{ version }]] = (await pair.source.promise().query('SELECT VERSION() AS version')) as unknown as [
      [{ version: string }],
    ];
    if (!/mariadb/i.test(version)) return t.skip('the source is not MariaDB');
    const table = 'typed_mariadb';
    await pair.source.promise().query(`CREATE TABLE ${table} (id INT PRIMARY KEY, u UUID, ip4 INET4, ip6 INET6)`);
    await pair.source
      .promise()
      .query(
        `INSERT INTO ${table} VALUES (1, '123e4567-e89b-12d3-a456-426614174000', '192.168.0.1', '::ffff:1.2.3.4'), (2, NULL, '0.0.0.0', '2001:db8::1')`,
      );
    const planned = await planRun(pair, table);
    const item = { runId: planned.runId, table, range: planned.ranges[0]!, policies: planned.policies };
    await copyRange(item, pair);
    assert.equal((await verifyRange(item, pair)).rows, 2);
    await endRun(pair, planned.runId);
    assert.deepEqual(
      (await targetColumnTypes(pair, table)).map((c) => c.type),
      ['integer', 'uuid', 'inet', 'inet'],
    );
    assert.deepEqual(await targetRows(pair, table, ['u', 'ip4', 'ip6']), [
      ['123e4567-e89b-12d3-a456-426614174000', '192.168.0.1', '::ffff:1.2.3.4'],
      [null, '0.0.0.0', '2001:db8::1'],
    ]);
  });
});
