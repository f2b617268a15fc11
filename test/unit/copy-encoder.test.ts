import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { text as collect } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { describe, test } from 'node:test';
import { encodeStrictly } from '../../functions/core/codecs/codec.js';
import { duplicateJsonKey } from '../../functions/core/codecs/json.js';
import {
  COPY_CHUNK_BYTES,
  CopyTextEncoder,
  escapeCopyText,
  type SourceValue,
} from '../../functions/core/copy-encoder.js';
import { ValueConversionError } from '../../functions/core/errors.js';
import { DEFAULT_POLICIES, type Policies, type PolicyCounts, zeroPolicyCounts } from '../../functions/core/policies.js';
import { type ColumnPlan, mapColumn, type SourceColumn } from '../../functions/core/schema.js';
import { columnOfType, sourceColumn } from '../support/source-columns.js';

/** A column of this MySQL type, planned by the type table. */
const column = (name: string, columnType: string): ColumnPlan => mapColumn(columnOfType(name, columnType));

const ID = column('id', 'bigint');

interface Encoded {
  text: string;
  chunks: number;
  rows: number;
}

/** Streams `rows` (as one batch) through a CopyTextEncoder for table `users` (key in column 0) and collects its output. */
async function encode(
  columns: ColumnPlan[],
  rows: SourceValue[][],
  chunkSize?: number,
  policies: Policies = DEFAULT_POLICIES,
): Promise<Encoded> {
  const encoder = new CopyTextEncoder('users', columns, [0], policies, chunkSize);
  const chunks: Buffer[] = [];
  // A Writable sees each pushed chunk on its own (an async iterator would merge buffered ones).
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  await pipeline(Readable.from([rows]), encoder, sink);
  return { text: Buffer.concat(chunks).toString('utf8'), chunks: chunks.length, rows: encoder.rows };
}

/** The COPY text of one value of a column of this type in a `[id, value]` row with key 1. */
async function encodeOne(columnType: string, value: SourceValue): Promise<string> {
  const { text } = await encode([ID, column('value', columnType)], [['1', value]]);
  assert.ok(text.startsWith('1\t') && text.endsWith('\n'), `one row, key first: ${JSON.stringify(text)}`);
  return text.slice(2, -1);
}

/** Asserts that encoding the row fails with a ValueConversionError naming table, column and key. */
async function assertConversionFails(
  columnType: string,
  value: SourceValue,
  reason: RegExp,
  policies: Partial<Policies> = {},
): Promise<void> {
  await assert.rejects(
    encode([ID, column('payload', columnType)], [['77', value]], undefined, { ...DEFAULT_POLICIES, ...policies }),
    (error: unknown) => {
      assert.ok(error instanceof ValueConversionError, `expected ValueConversionError, got ${String(error)}`);
      assert.equal(error.name, 'ValueConversionError');
      assert.equal(error.table, 'users');
      assert.equal(error.column, 'payload');
      assert.equal(error.key, '77');
      assert.match(error.message, /^users\.payload at key 77: /);
      assert.match(error.reason, reason);
      return true;
    },
  );
}

describe('CopyTextEncoder: NULL and text', () => {
  test('NULL becomes \\N and an empty string stays empty, so the two stay distinct', async () => {
    const { text } = await encode(
      [ID, column('a', 'text'), column('b', 'text')],
      [
        ['1', null, ''],
        ['2', '', null],
      ],
    );
    assert.equal(text, '1\t\\N\t\n2\t\t\\N\n');
  });

  test('the literal text \\N is escaped to \\\\N so it does not read back as NULL', async () => {
    assert.equal(await encodeOne('text', '\\N'), '\\\\N');
  });

  test('tab, newline, carriage return and backslash are escaped', async () => {
    assert.equal(await encodeOne('text', 'a\tb\nc\rd\\e'), 'a\\tb\\nc\\rd\\\\e');
  });

  test('4-byte UTF-8 (emoji) and other non-ASCII text pass through intact', async () => {
    const { text } = await encode([ID, column('name', 'text')], [['1', 'Zoë 😀 日本']]);
    assert.equal(text, '1\tZoë 😀 日本\n');
    assert.equal(Buffer.byteLength(text), Buffer.from('1\tZoë 😀 日本\n', 'utf8').length);
  });

  test('text delivered as bytes is decoded as UTF-8 and escaped', async () => {
    assert.equal(await encodeOne('text', Buffer.from('x\ty', 'utf8')), 'x\\ty');
  });

  test('text with a NUL byte is refused, naming table, column and key', async () => {
    await assertConversionFails('text', 'before\0after', /NUL/);
  });

  test('escapeCopyText leaves text without special characters untouched', () => {
    assert.equal(
      escapeCopyText('plain text, with "quotes" and \'apostrophes\''),
      'plain text, with "quotes" and \'apostrophes\'',
    );
  });
});

describe('CopyTextEncoder: typed values', () => {
  test('numbers, including BIGINT UNSIGNED maximum and DECIMAL(65,30), are written digit for digit', async () => {
    const { text } = await encode(
      [ID, column('big', 'bigint unsigned'), column('dec', 'decimal(65,30)'), column('f', 'double')],
      [
        [
          '18446744073709551615',
          '18446744073709551615',
          '12345678901234567890123456789012345.123456789012345678901234567890',
          '-1.7976931348623157e308',
        ],
      ],
    );
    assert.equal(
      text,
      '18446744073709551615\t18446744073709551615\t12345678901234567890123456789012345.123456789012345678901234567890\t-1.7976931348623157e308\n',
    );
  });

  test("tinyint(1) '1' and '0' become booleans t and f", async () => {
    const { text } = await encode(
      [ID, column('active', 'tinyint(1)')],
      [
        ['1', '1'],
        ['2', '0'],
        ['3', null],
      ],
    );
    assert.equal(text, '1\tt\n2\tf\n3\t\\N\n');
  });

  test("tinyint(1) holding '2' is refused rather than silently becoming true", async () => {
    await assertConversionFails('tinyint(1)', '2', /2/);
  });

  test('binary becomes bytea hex with its backslash escaped, keeping trailing zero bytes', async () => {
    assert.equal(await encodeOne('blob', Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x00])), '\\\\xdeadbeef0000');
    assert.equal(await encodeOne('blob', Buffer.alloc(0)), '\\\\x');
  });

  test('timestamp values get the +00 offset (the source session runs in UTC), keeping fractions', async () => {
    assert.equal(await encodeOne('timestamp', '2024-02-29 23:59:59'), '2024-02-29 23:59:59+00');
    assert.equal(await encodeOne('timestamp(6)', '2024-02-29 23:59:59.123456'), '2024-02-29 23:59:59.123456+00');
  });

  test('datetime and date values are written as read, with microseconds intact', async () => {
    assert.equal(await encodeOne('datetime(6)', '1999-12-31 23:59:59.999999'), '1999-12-31 23:59:59.999999');
    assert.equal(await encodeOne('date', '2020-02-15'), '2020-02-15');
  });

  test('under zeroDates fail the zero datetime 0000-00-00 00:00:00 is refused, naming table, column and key', async () => {
    await assertConversionFails('datetime', '0000-00-00 00:00:00', /zero date/, { zeroDates: 'fail' });
  });

  test('under zeroDates fail a date with a zero month (2020-00-15) or zero day (2020-01-00) is refused', async () => {
    await assertConversionFails('date', '2020-00-15', /zero date/, { zeroDates: 'fail' });
    await assertConversionFails('date', '2020-01-00', /zero date/, { zeroDates: 'fail' });
  });

  test('under zeroDates fail a zero date in a TIMESTAMP column is refused too', async () => {
    await assertConversionFails('timestamp', '0000-00-00 00:00:00', /zero date/, { zeroDates: 'fail' });
  });
});

describe('CopyTextEncoder: streaming', () => {
  const rows: SourceValue[][] = Array.from({ length: 50 }, (_, i) => [String(i + 1), `name ${i + 1}`]);
  const expected = rows.map(([id, name]) => `${id}\t${name}\n`).join('');

  test('with a small chunkSize the output comes in several chunks that join to the exact COPY text', async () => {
    const { text, chunks, rows: count } = await encode([ID, column('name', 'text')], rows, 64);
    assert.equal(text, expected);
    assert.ok(chunks > 5, `expected several chunks, got ${chunks}`);
    assert.equal(count, 50);
  });

  test('with the default chunkSize small output is pushed once, not row by row', async () => {
    const { text, chunks, rows: count } = await encode([ID, column('name', 'text')], rows);
    assert.equal(text, expected);
    assert.equal(chunks, 1);
    assert.equal(count, 50);
  });

  test('no rows give no output and a row count of 0', async () => {
    const { text, chunks, rows: count } = await encode([ID, column('name', 'text')], []);
    assert.equal(text, '');
    assert.equal(chunks, 0);
    assert.equal(count, 0);
  });
});

/** Encodes the values of one mapped column as rows keyed 1, 2, ... of table t; returns each row's value text and the policy counts. */
async function encodeValues(
  column: ColumnPlan,
  values: SourceValue[],
  policies: Partial<Policies> = {},
): Promise<{ lines: string[]; counts: PolicyCounts }> {
  const encoder = new CopyTextEncoder('t', [ID, column], [0], { ...DEFAULT_POLICIES, ...policies });
  const copy = await collect(Readable.from([values.map((value, i) => [String(i + 1), value])]).pipe(encoder));
  return {
    lines: copy
      .split('\n')
      .slice(0, -1)
      .map((line) => line.replace(/^\d+\t/, '')),
    counts: encoder.policyCounts,
  };
}

const counted = (changed: Partial<PolicyCounts>) => ({ ...zeroPolicyCounts(), ...changed });

/** Column c as the type table plans a source column of this type. */
const mapped = (dataType: string, columnType = dataType, more: Partial<SourceColumn> = {}) =>
  mapColumn(sourceColumn('c', dataType, columnType, more));

describe('CopyTextEncoder: every encoding, and the value policies', () => {
  test('text: a NUL byte fails the range under nulBytes fail, and is stripped and counted under strip', async () => {
    await assert.rejects(encodeValues(mapped('text'), ['ok', 'a\0b']), {
      name: 'ValueConversionError',
      message: 't.c at key 2: text contains a NUL byte, which PostgreSQL text cannot hold (nulBytes: fail)',
    });
    assert.deepEqual(await encodeValues(mapped('text'), ['a\0b\0', 'ok'], { nulBytes: 'strip' }), {
      lines: ['ab', 'ok'],
      counts: counted({ nulBytes: 1 }),
    });
  });

  test('json: \\u0000 in a string fails or is stripped; an escaped backslash before u0000 is left alone', async () => {
    const json = mapped('json');
    await assert.rejects(
      encodeValues(json, ['{"a":"x\\u0000"}']),
      /t\.c at key 1: JSON holds \\u0000 in a string, which jsonb cannot hold/,
    );
    assert.deepEqual(
      await encodeValues(json, ['{"a":"x\\u0000\\u0000"}', '{"a":"\\\\u0000"}', '{"a":"\\\\\\u0000"}'], {
        nulBytes: 'strip',
      }),
      {
        // COPY doubles each backslash that remains.
        lines: ['{"a":"x"}', '{"a":"\\\\\\\\u0000"}', '{"a":"\\\\\\\\"}'],
        counts: counted({ nulBytes: 2 }),
      },
    );
  });

  test('json: an object with a key twice fails (jsonb would keep the last, MariaDB reads the first); the same key in different objects is fine', async () => {
    assert.equal(duplicateJsonKey('{"a": 1, "b": {"a": 2, "c": [{"a": 3}]}, "\\u0061": 4}'), 'a');
    assert.equal(duplicateJsonKey('{"a": "}\\"{", "b": [{"a": 1}, {"a": 2}], "c": {"a": {"a": 0}}}'), null);
    assert.equal(duplicateJsonKey('["a", "a", {"x": ["x"]}]'), null);
    await assert.rejects(encodeValues(mapped('json'), ['{"a": 1, "a": 2}']), {
      message:
        't.c at key 1: JSON object has the key "a" twice: MariaDB reads the first, jsonb would keep only the last',
    });
  });

  test('enum: the empty value is kept and counted by default, NULL or refused by choice; a declared empty label is a value', async () => {
    const labels = mapped('enum', "enum('a','it''s')");
    assert.deepEqual(await encodeValues(labels, ['a', "it's", '']), {
      lines: ['a', "it's", ''],
      counts: counted({ emptyEnum: 1 }),
    });
    assert.deepEqual(await encodeValues(labels, [''], { emptyEnum: 'null' }), {
      lines: ['\\N'],
      counts: counted({ emptyEnum: 1 }),
    });
    await assert.rejects(
      encodeValues(labels, [''], { emptyEnum: 'fail' }),
      /t\.c at key 1: the empty ENUM value .*\(emptyEnum: fail\)/,
    );
    assert.deepEqual(await encodeValues(mapped('enum', "enum('','a')"), ['']), { lines: [''], counts: counted({}) });
  });

  test('boolean: tinyint(1) 0 and 1 become f and t; any other value fails, or becomes true and is counted under nonzero-true', async () => {
    const flag = mapped('tinyint', 'tinyint(1)');
    assert.deepEqual((await encodeValues(flag, ['0', '1'])).lines, ['f', 't']);
    await assert.rejects(encodeValues(flag, ['2']), /t\.c at key 1: tinyint\(1\) holds 2, which is neither 0 nor 1/);
    assert.deepEqual(await encodeValues(flag, ['2', '-1', '0'], { tinyint1: 'nonzero-true' }), {
      lines: ['t', 't', 'f'],
      counts: counted({ tinyint1: 2 }),
    });
    assert.deepEqual((await encodeValues(mapped('bit', 'bit(1)'), ['0', '1'])).lines, ['f', 't']);
  });

  test('bit: BIT(n), read as an unsigned integer, becomes n binary digits', async () => {
    assert.deepEqual((await encodeValues(mapped('bit', 'bit(10)'), ['0', '1', '1023'])).lines, [
      '0000000000',
      '0000000001',
      '1111111111',
    ]);
    assert.deepEqual((await encodeValues(mapped('bit', 'bit(64)'), ['18446744073709551615'])).lines, ['1'.repeat(64)]);
  });

  test('bytea: every byte value and trailing zero bytes are kept, in hex', async () => {
    const bytes = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.alloc(2)]);
    assert.deepEqual((await encodeValues(mapped('binary', 'binary(258)'), [bytes, Buffer.alloc(0)])).lines, [
      `\\\\x${bytes.toString('hex')}`,
      '\\\\x',
    ]);
  });

  test('date and datetime: zero dates become NULL and are counted by default, fail by choice; other early dates are kept', async () => {
    const datetime = mapped('datetime', 'datetime(6)', { datetimePrecision: 6 });
    assert.deepEqual(
      await encodeValues(datetime, [
        '0000-00-00 00:00:00.000000',
        '2020-00-15 00:00:00.000000',
        '2020-05-00 10:00:00.000000',
        '0009-12-04 00:00:00.000000',
      ]),
      {
        lines: ['\\N', '\\N', '\\N', '0009-12-04 00:00:00.000000'],
        counts: counted({ zeroDates: 3 }),
      },
    );
    await assert.rejects(
      encodeValues(mapped('date'), ['0000-00-00'], { zeroDates: 'fail' }),
      /t\.c at key 1: zero date 0000-00-00 has no PostgreSQL equivalent \(zeroDates: fail\)/,
    );
  });

  test("date: MySQL's year 0 becomes 1 BC; a day beyond its month fails", async () => {
    assert.deepEqual((await encodeValues(mapped('date'), ['0000-03-01', '2024-02-29', '2000-02-29'])).lines, [
      '0001-03-01 BC',
      '2024-02-29',
      '2000-02-29',
    ]);
    await assert.rejects(
      encodeValues(mapped('date'), ['2023-02-29']),
      /t\.c at key 1: 2023-02-29 is not a calendar date/,
    );
    await assert.rejects(encodeValues(mapped('date'), ['2021-04-31']), /2021-04-31 is not a calendar date/);
  });

  test('timestamptz: the UTC instant is said with +00, before the era', async () => {
    const timestamp = mapped('timestamp', 'timestamp(6)', { datetimePrecision: 6 });
    assert.deepEqual(
      (await encodeValues(timestamp, ['2038-01-19 03:14:07.999999', '0000-01-01 00:00:00.000000'])).lines,
      ['2038-01-19 03:14:07.999999+00', '0001-01-01 00:00:00.000000+00 BC'],
    );
  });

  test('time: negative values and values beyond 24 hours pass as interval text', async () => {
    assert.deepEqual(
      (await encodeValues(mapped('time', 'time(6)'), ['-838:59:59.000000', '838:59:59.000000', '-00:00:00.000001']))
        .lines,
      ['-838:59:59.000000', '838:59:59.000000', '-00:00:00.000001'],
    );
  });

  test('year: 0000 is a zero date; YEAR(2) becomes the four-digit year it stands for', async () => {
    assert.deepEqual(await encodeValues(mapped('year', 'year(4)'), ['1901', '0000']), {
      lines: ['1901', '\\N'],
      counts: counted({ zeroDates: 1 }),
    });
    assert.deepEqual((await encodeValues(mapped('year', 'year(2)'), ['69', '70', '00'])).lines, [
      '2069',
      '1970',
      '2000',
    ]);
  });

  test('a policy that would store NULL in a NOT NULL target column fails the range with the reason and the fix', async () => {
    const required = { ...mapped('date'), nullable: false };
    await assert.rejects(encodeValues(required, ['2020-01-01', '0000-00-00']), {
      name: 'ValueConversionError',
      message:
        't.c at key 2: zero date 0000-00-00 becomes NULL (zeroDates: null), but the target column is NOT NULL: allow NULL in the target column, or fix the source value',
    });
  });

  test('encodeStrictly gives PostgreSQL text for a value, or why it has none', () => {
    assert.deepEqual(encodeStrictly(mapped('tinyint', 'tinyint(1)').codec, '1'), { text: 't' });
    assert.deepEqual(encodeStrictly(mapped('text').codec, 'a\tb'), { text: 'a\tb' });
    assert.match(
      (encodeStrictly(mapped('date').codec, '0000-00-00') as { reason: string }).reason,
      /zero date 0000-00-00 has no PostgreSQL equivalent/,
    );
  });
});

/** The values as the bytes a source read that asks for bytes delivers. */
const bytesOf = (values: SourceValue[]): SourceValue[] =>
  values.map((value) => (typeof value === 'string' ? Buffer.from(value, 'utf8') : value));

describe('CopyTextEncoder: values that arrive as bytes', () => {
  test('bytes a codec takes as they arrive are written through, COPY-escaped, an offset said after them', async () => {
    const columns = [
      ID,
      mapped('varchar', 'varchar(40)'),
      mapped('decimal', 'decimal(12,2)'),
      mapped('tinyint', 'tinyint(1)'),
      mapped('timestamp', 'timestamp(3)'),
      mapped('enum', "enum('a','b')"),
    ];
    const row = bytesOf(['7', 'tab\there\nCR\r back\\slash 😀', '-12.50', '1', '2021-02-28 23:59:59.125', 'b']);
    const { text } = await encode(columns, [row]);
    assert.equal(text, '7\ttab\\there\\nCR\\r back\\\\slash 😀\t-12.50\t1\t2021-02-28 23:59:59.125+00\tb\n');
  });

  test('bytes that need their codec go through its encoder: zero dates, year 0, late days, other tinyint(1)s, the empty ENUM', async () => {
    const values = async (column: ColumnPlan, texts: string[], policies: Partial<Policies> = {}) =>
      encodeValues(column, bytesOf(texts), policies);
    assert.deepEqual(
      await values(mapped('datetime', 'datetime'), [
        '0000-00-00 00:00:00',
        '0000-01-01 10:00:00',
        '2024-02-29 00:00:00',
      ]),
      {
        lines: ['\\N', '0001-01-01 10:00:00 BC', '2024-02-29 00:00:00'],
        counts: counted({ zeroDates: 1 }),
      },
    );
    await assert.rejects(values(mapped('date'), ['2023-02-29']), /t\.c at key 1: 2023-02-29 is not a calendar date/);
    assert.deepEqual(await values(mapped('tinyint', 'tinyint(1)'), ['0', '2'], { tinyint1: 'nonzero-true' }), {
      lines: ['0', 't'],
      counts: counted({ tinyint1: 1 }),
    });
    assert.deepEqual(await values(mapped('enum', "enum('a')"), ['', 'a'], { emptyEnum: 'null' }), {
      lines: ['\\N', 'a'],
      counts: counted({ emptyEnum: 1 }),
    });
  });

  test('a row an error is about is named by its key: a tuple of its values, bytes as hex, or its place without a key', async () => {
    const columns = [
      mapped('int', 'int'),
      mapped('varchar', 'varchar(9)'),
      mapped('varbinary', 'varbinary(4)'),
      mapped('date'),
    ];
    const row = bytesOf(['3', 'Émile', null, '2023-02-29']);
    row[2] = Buffer.from([0xca, 0xfe]);
    const named = async (keyIndexes: number[]) => {
      const encoder = new CopyTextEncoder('t', columns, keyIndexes, DEFAULT_POLICIES);
      const error = await collect(Readable.from([[row]]).pipe(encoder)).then(
        () => assert.fail('the invalid date is refused'),
        (error: unknown) => error as ValueConversionError,
      );
      return error.key;
    };
    assert.equal(await named([0]), '3');
    assert.equal(await named([0, 1, 2]), '(3, "Émile", 0xcafe)');
    assert.equal(await named([]), '(no key; row 1)');
  });

  test("text bytes holding a NUL are the nulBytes policy's, counted once, the bytes before them in the row kept", async () => {
    const columns = [ID, mapped('varchar', 'varchar(9)'), mapped('text'), mapped('int', 'int')];
    await assert.rejects(encode(columns, [bytesOf(['1', 'x', 'a\0b', '3'])]), {
      name: 'ValueConversionError',
      message: 'users.c at key 1: text contains a NUL byte, which PostgreSQL text cannot hold (nulBytes: fail)',
    });
    const encoder = new CopyTextEncoder('users', columns, [0], { ...DEFAULT_POLICIES, nulBytes: 'strip' });
    const text = await collect(
      Readable.from([[bytesOf(['1', 'x\ty', 'a\0b\t', '3']), bytesOf(['2', 'z', 'c', '4'])]]).pipe(encoder),
    );
    assert.equal(text, '1\tx\\ty\tab\\t\t3\n2\tz\tc\t4\n');
    assert.deepEqual(encoder.policyCounts, counted({ nulBytes: 1 }));
  });
});

const COLUMNS = [ID, column('name', 'text')];

/** Encodes the batches and returns what the encoder sent downstream, piece by piece. */
async function encodeBatches(batches: SourceValue[][][], arrival: 'text' | 'bytes'): Promise<Buffer[]> {
  const encoder = new CopyTextEncoder('users', COLUMNS, [0], DEFAULT_POLICIES);
  const pieces: Buffer[] = [];
  encoder.on('data', (piece: Buffer) => pieces.push(piece));
  const ended = new Promise((resolve) => encoder.on('end', resolve));
  for (const batch of batches) encoder.write(arrival === 'text' ? batch : batch.map(bytesOf));
  encoder.end();
  await ended;
  return pieces;
}

const rows = (from: number, count: number, name = (i: number) => `user ${i}`): SourceValue[][] =>
  Array.from({ length: count }, (_, k) => [String(from + k), name(from + k)]);

describe('CopyTextEncoder: chunks and backpressure', () => {
  for (const arrival of ['text', 'bytes'] as const) {
    test(`sends COPY text in full 64 KiB chunks, not a write per row or per batch (values as ${arrival})`, async () => {
      const batches = Array.from({ length: 100 }, (_, b) => rows(b * 500, 500));
      const pieces = await encodeBatches(batches, arrival);
      const text = Buffer.concat(pieces).toString('utf8');
      assert.equal(
        text,
        batches
          .flat()
          .map((row) => `${row[0]}\t${row[1]}\n`)
          .join(''),
      );
      // Every piece but the last fills its chunk to within one line of the limit.
      const longestLine = Math.max(...text.split('\n').map((line) => Buffer.byteLength(line) + 1));
      for (const piece of pieces.slice(0, -1)) {
        assert.ok(
          piece.length <= COPY_CHUNK_BYTES && piece.length > COPY_CHUNK_BYTES - longestLine,
          `a piece of ${piece.length} bytes`,
        );
      }
      assert.equal(pieces.length, Math.ceil(Buffer.byteLength(text) / (COPY_CHUNK_BYTES - longestLine + 1)));
    });

    test(`measures chunks in bytes, so multi-byte characters never overflow one (values as ${arrival})`, async () => {
      const pieces = await encodeBatches([rows(0, 5_000, (i) => `Zoë 😀 ${'é'.repeat(i % 40)}`)], arrival);
      for (const piece of pieces) assert.ok(piece.length <= COPY_CHUNK_BYTES);
      const lines = Buffer.concat(pieces).toString('utf8').split('\n');
      assert.equal(lines[4_999], `4999\tZoë 😀 ${'é'.repeat(4_999 % 40)}`);
    });

    test(`sends a row longer than a chunk whole, after the rows before it (values as ${arrival})`, async () => {
      const long = 'x'.repeat(3 * COPY_CHUNK_BYTES);
      const pieces = await encodeBatches(
        [
          [
            ['1', 'short'],
            ['2', long],
            ['3', 'after'],
          ],
        ],
        arrival,
      );
      assert.deepEqual(
        pieces.map((piece) => piece.toString('utf8')),
        ['1\tshort\n', `2\t${long}\n`, '3\tafter\n'],
      );
    });
  }

  test('takes no more rows while its reader does not read, so a range never piles up in memory', () => {
    const encoder = new CopyTextEncoder('users', COLUMNS, [0], DEFAULT_POLICIES);
    // Nobody reads the encoder's output; 50 batches of 2,000 rows are written all the same.
    let rowsWhenStopped: number | undefined;
    for (let b = 0; b < 50; b++) {
      if (!encoder.write(rows(b * 2_000, 2_000))) rowsWhenStopped ??= encoder.rows;
    }
    assert.ok(rowsWhenStopped !== undefined, 'the writer is told to wait');
    // The stop comes with the first chunk left unread, and nothing more is encoded after it.
    assert.ok(rowsWhenStopped <= 3 * 2_000, `stopped only after ${rowsWhenStopped} rows`);
    assert.equal(encoder.rows, rowsWhenStopped);
    encoder.destroy();
  });
});
