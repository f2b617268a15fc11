import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canonicalForms } from '../../functions/core/canonical.js';
import { DEFAULT_POLICIES, type Policies } from '../../functions/core/policies.js';
import type { ColumnPlan, Encoding } from '../../functions/core/schema.js';
import { sourceColumn } from '../support/source-columns.js';

/** A column of this encoding and PostgreSQL type; `columnType` is the MySQL one where it matters. */
function form(encoding: Encoding, pgType: string, columnType = '', policies: Policies = DEFAULT_POLICIES) {
  const column: ColumnPlan = {
    name: 'c',
    pgType,
    nullable: true,
    encoding,
    read: '`c`',
    source: sourceColumn('c', columnType.replace(/\(.*$/, ''), columnType),
  };
  return canonicalForms([column], policies)[0]!;
}

/** What MySQL prints (text, or bytes for binary columns) and what PostgreSQL prints for one value. */
type Pair = [source: string | Buffer, target: string];
type Case = [what: string, encoding: Encoding, pgType: string, pair: Pair, columnType?: string];

const sameMeaning: Case[] = [
  ['a decimal padded to its scale', 'number', 'numeric(12,2)', ['-12.50', '-12.50']],
  ['a ZEROFILL integer', 'number', 'bigint', ['00042', '42']],
  ['an integer beyond 2^53', 'number', 'numeric(20,0)', ['18446744073709551615', '18446744073709551615']],
  ['a double printed with or without an exponent', 'number', 'double precision', ['0.0000001', '1e-07']],
  [
    'a FLOAT read as a double, and the real PostgreSQL holds',
    'number',
    'real',
    ['-3.4028234663852886e38', '-3.4028235e+38'],
  ],
  ['the smallest FLOAT', 'number', 'real', ['1.401298464324817e-45', '1e-45']],
  ['text with tabs, newlines and emoji', 'text', 'text', ['a\tb\nc 🚀', 'a\tb\nc 🚀']],
  ['an ENUM label', 'enum', 'text', ['b', 'b'], "enum('a','b')"],
  ['the empty ENUM value, kept', 'enum', 'text', ['', ''], "enum('a','b')"],
  [
    'a JSON object whose keys jsonb reordered and respaced',
    'json',
    'jsonb',
    ['{"b": 1, "a": [1,2.50], "n": 1.5e3}', '{"a": [1, 2.50], "b": 1, "n": 1500}'],
  ],
  ['tinyint(1) 1 and boolean true', 'boolean', 'boolean', ['1', 't']],
  ['BIT(10) read as an integer, and its bits', 'bit', 'bit(10)', ['512', '1000000000'], 'bit(10)'],
  ['bytes and bytea hex', 'bytea', 'bytea', [Buffer.from([0, 255, 16]), '\\x00ff10']],
  ['a date', 'date', 'date', ['2024-02-29', '2024-02-29']],
  ["MySQL's year 0 and PostgreSQL's 1 BC", 'date', 'date', ['0000-01-01', '0001-01-01 BC']],
  [
    'a DATETIME(3) padded with zeros',
    'datetime',
    'timestamp(3) without time zone',
    ['2020-09-13 12:26:40.100', '2020-09-13 12:26:40.1'],
  ],
  [
    'a DATETIME in year 0',
    'datetime',
    'timestamp(0) without time zone',
    ['0000-03-01 12:00:00', '0001-03-01 12:00:00 BC'],
  ],
  [
    'a TIMESTAMP read in UTC and a timestamptz printed in UTC',
    'timestamptz',
    'timestamp(0) with time zone',
    ['2020-09-14 12:26:40', '2020-09-14 12:26:40+00'],
  ],
  ['a TIME beyond a day, negative, with a fraction', 'time', 'interval(6)', ['-838:59:59.500000', '-838:59:59.5']],
  ['a YEAR', 'year', 'smallint', ['2155', '2155'], 'year(4)'],
];

const differentMeaning: Case[] = [
  [
    'a timestamp shifted by an hour',
    'timestamptz',
    'timestamp(0) with time zone',
    ['2020-09-14 12:26:40', '2020-09-14 13:26:40+00'],
  ],
  [
    'a datetime shifted by an hour',
    'datetime',
    'timestamp(3) without time zone',
    ['2020-09-13 12:26:40.100', '2020-09-13 13:26:40.1'],
  ],
  [
    'a datetime that lost its milliseconds',
    'datetime',
    'timestamp(0) without time zone',
    ['2020-09-13 12:26:40.100', '2020-09-13 12:26:40'],
  ],
  ['year 0 and year 1', 'date', 'date', ['0000-01-01', '0001-01-01']],
  ['a decimal off by a cent', 'number', 'numeric(12,2)', ['10.01', '10.02']],
  [
    'integers beyond 2^53 that differ by one',
    'number',
    'numeric(20,0)',
    ['18446744073709551615', '18446744073709551614'],
  ],
  ['a FLOAT and the next real', 'number', 'real', ['0.10000000149011612', '0.10000001']],
  ['tinyint(1) holding 2 and boolean true', 'boolean', 'boolean', ['2', 't']],
  ['text with a trailing space', 'text', 'text', ['abc ', 'abc']],
  ['text that lost a NUL byte', 'text', 'text', ['a\0b', 'ab']],
  ['binary with a trailing zero byte dropped', 'bytea', 'bytea', [Buffer.from([1, 0]), '\\x01']],
  ['JSON with one value changed', 'json', 'jsonb', ['{"a": 1}', '{"a": 2}']],
  ['BIT with one bit changed', 'bit', 'bit(4)', ['5', '0100'], 'bit(4)'],
  ['a TIME a second off', 'time', 'interval(0)', ['-00:00:01', '00:00:01']],
];

describe('canonical forms', () => {
  for (const [what, encoding, pgType, [source, target], columnType] of sameMeaning) {
    test(`${what} (${encoding}, ${pgType}) compares equal`, () => {
      const canonical = form(encoding, pgType, columnType);
      assert.equal(canonical.source(source), canonical.target(target));
    });
  }
  for (const [what, encoding, pgType, [source, target], columnType] of differentMeaning) {
    test(`${what} (${encoding}, ${pgType}) compares different`, () => {
      const canonical = form(encoding, pgType, columnType);
      assert.notEqual(canonical.source(source), canonical.target(target));
    });
  }
});

describe('canonical forms follow the run’s policies', () => {
  test('a zero date, DATETIME or TIMESTAMP, and YEAR 0000 are expected as NULL under zeroDates: null (the default)', () => {
    assert.equal(form('date', 'date').source('0000-00-00'), null);
    assert.equal(form('datetime', 'timestamp(0) without time zone').source('2020-00-15 10:00:00'), null);
    assert.equal(form('timestamptz', 'timestamp(0) with time zone').source('0000-00-00 00:00:00'), null);
    assert.equal(form('year', 'smallint', 'year(4)').source('0000'), null);
    // Under zeroDates: fail the copy refuses it; were one in the target, it would not be NULL.
    assert.equal(
      form('date', 'date', '', { ...DEFAULT_POLICIES, zeroDates: 'fail' }).source('0000-00-00'),
      '0000-00-00',
    );
  });

  test('a NUL byte is expected stripped under nulBytes: strip, in text and in JSON strings', () => {
    const strip = { ...DEFAULT_POLICIES, nulBytes: 'strip' } as const;
    assert.equal(form('text', 'text', '', strip).source('a\0b'), 'ab');
    const json = form('json', 'jsonb', '', strip);
    assert.equal(json.source('{"k": "a\\u0000b"}'), json.target('{"k": "ab"}'));
  });

  test('tinyint(1) holding 2 is expected true under tinyint1: nonzero-true', () => {
    assert.equal(
      form('boolean', 'boolean', 'tinyint(1)', { ...DEFAULT_POLICIES, tinyint1: 'nonzero-true' }).source('2'),
      't',
    );
  });

  test("the empty ENUM value is expected as NULL under emptyEnum: null, unless '' is one of the labels", () => {
    const nullEnum = { ...DEFAULT_POLICIES, emptyEnum: 'null' } as const;
    assert.equal(form('enum', 'text', "enum('a','b')", nullEnum).source(''), null);
    assert.equal(form('enum', 'text', "enum('','a')", nullEnum).source(''), '');
  });
});
