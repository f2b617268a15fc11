import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CopyTextEncoder, escapeCopyText, type SourceValue } from '../../functions/core/copy-encoder.js';
import { ValueConversionError } from '../../functions/core/errors.js';
import type { ColumnPlan, Encoding } from '../../functions/core/schema.js';

const column = (name: string, encoding: Encoding, pgType = 'text'): ColumnPlan => ({ name, pgType, nullable: true, encoding });

const ID = column('id', 'number', 'bigint');

interface Encoded {
  text: string;
  chunks: number;
  rows: number;
}

/** Streams `rows` through a CopyTextEncoder for table `users` (key in column 0) and collects its output. */
async function encode(columns: ColumnPlan[], rows: SourceValue[][], chunkSize?: number): Promise<Encoded> {
  const encoder = new CopyTextEncoder('users', columns, 0, chunkSize);
  const chunks: Buffer[] = [];
  // A Writable sees each pushed chunk on its own (an async iterator would merge buffered ones).
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  await pipeline(Readable.from(rows), encoder, sink);
  return { text: Buffer.concat(chunks).toString('utf8'), chunks: chunks.length, rows: encoder.rows };
}

/** The COPY text of one value in a `[id, value]` row with key 1. */
async function encodeOne(encoding: Encoding, value: SourceValue): Promise<string> {
  const { text } = await encode([ID, column('value', encoding)], [['1', value]]);
  assert.ok(text.startsWith('1\t') && text.endsWith('\n'), `one row, key first: ${JSON.stringify(text)}`);
  return text.slice(2, -1);
}

/** Asserts that encoding the row fails with a ValueConversionError naming table, column and key. */
async function assertConversionFails(encoding: Encoding, value: SourceValue, reason: RegExp): Promise<void> {
  await assert.rejects(
    encode([ID, column('payload', encoding)], [['77', value]]),
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
    assert.equal(escapeCopyText('plain text, with "quotes" and \'apostrophes\''), 'plain text, with "quotes" and \'apostrophes\'');
  });
});

describe('CopyTextEncoder: typed values', () => {
  test('numbers, including BIGINT UNSIGNED maximum and DECIMAL(65,30), are written digit for digit', async () => {
    const { text } = await encode(
      [ID, column('big', 'number', 'numeric(20,0)'), column('dec', 'number', 'numeric(65,30)'), column('f', 'number', 'double precision')],
      [['18446744073709551615', '18446744073709551615', '12345678901234567890123456789012345.123456789012345678901234567890', '-1.7976931348623157e308']],
    );
    assert.equal(
      text,
      '18446744073709551615\t18446744073709551615\t12345678901234567890123456789012345.123456789012345678901234567890\t-1.7976931348623157e308\n',
    );
  });

  test("tinyint(1) '1' and '0' become booleans t and f", async () => {
    const { text } = await encode(
      [ID, column('active', 'boolean', 'boolean')],
      [
        ['1', '1'],
        ['2', '0'],
        ['3', null],
      ],
    );
    assert.equal(text, '1\tt\n2\tf\n3\t\\N\n');
  });

  test("tinyint(1) holding '2' is refused rather than silently becoming true", async () => {
    await assertConversionFails('boolean', '2', /2/);
  });

  test('binary becomes bytea hex with its backslash escaped, keeping trailing zero bytes', async () => {
    assert.equal(await encodeOne('bytea', Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x00])), '\\\\xdeadbeef0000');
    assert.equal(await encodeOne('bytea', Buffer.alloc(0)), '\\\\x');
  });

  test('timestamp values get the +00 offset (the source session runs in UTC), keeping fractions', async () => {
    assert.equal(await encodeOne('timestamptz', '2024-02-29 23:59:59'), '2024-02-29 23:59:59+00');
    assert.equal(await encodeOne('timestamptz', '2024-02-29 23:59:59.123456'), '2024-02-29 23:59:59.123456+00');
  });

  test('datetime and date values are written as read, with microseconds intact', async () => {
    assert.equal(await encodeOne('datetime', '1999-12-31 23:59:59.999999'), '1999-12-31 23:59:59.999999');
    assert.equal(await encodeOne('date', '2020-02-15'), '2020-02-15');
  });

  test('the zero datetime 0000-00-00 00:00:00 is refused, naming table, column and key', async () => {
    await assertConversionFails('datetime', '0000-00-00 00:00:00', /zero date/);
  });

  test('a date with a zero month (2020-00-15) or zero day (2020-01-00) is refused', async () => {
    await assertConversionFails('date', '2020-00-15', /zero date/);
    await assertConversionFails('date', '2020-01-00', /zero date/);
  });

  test('a zero date in a TIMESTAMP column is refused too', async () => {
    await assertConversionFails('timestamptz', '0000-00-00 00:00:00', /zero date/);
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
