import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canonicalForms } from '../../functions/core/canonical.js';
import { DEFAULT_POLICIES, type Policies } from '../../functions/core/policies.js';
import { mapColumn } from '../../functions/core/schema.js';
import { columnOfType } from '../support/source-columns.js';

/** The canonical form of a column of this MySQL type, as the type table maps it. */
function form(columnType: string, policies: Policies = DEFAULT_POLICIES) {
  return canonicalForms([mapColumn(columnOfType('c', columnType))], policies)[0]!;
}

/** What MySQL prints (text, or bytes for binary columns) and what PostgreSQL prints for one value. */
type Pair = [source: string | Buffer, target: string];
type Case = [what: string, columnType: string, pair: Pair];

const sameMeaning: Case[] = [
  ['a decimal padded to its scale', 'decimal(12,2)', ['-12.50', '-12.50']],
  ['a ZEROFILL integer', 'int(5) unsigned zerofill', ['00042', '42']],
  ['an integer beyond 2^53', 'bigint unsigned', ['18446744073709551615', '18446744073709551615']],
  ['a double printed with or without an exponent', 'double', ['0.0000001', '1e-07']],
  ['a FLOAT read as a double, and the real PostgreSQL holds', 'float', ['-3.4028234663852886e38', '-3.4028235e+38']],
  ['the smallest FLOAT', 'float', ['1.401298464324817e-45', '1e-45']],
  ['text with tabs, newlines and emoji', 'text', ['a\tb\nc 🚀', 'a\tb\nc 🚀']],
  ['an ENUM label', "enum('a','b')", ['b', 'b']],
  ['the empty ENUM value, kept', "enum('a','b')", ['', '']],
  [
    'a JSON object whose keys jsonb reordered and respaced',
    'json',
    ['{"b": 1, "a": [1,2.50], "n": 1.5e3}', '{"a": [1, 2.50], "b": 1, "n": 1500}'],
  ],
  ['tinyint(1) 1 and boolean true', 'tinyint(1)', ['1', 't']],
  ['BIT(10) read as an integer, and its bits', 'bit(10)', ['512', '1000000000']],
  ['bytes and bytea hex', 'blob', [Buffer.from([0, 255, 16]), '\\x00ff10']],
  ['a date', 'date', ['2024-02-29', '2024-02-29']],
  ["MySQL's year 0 and PostgreSQL's 1 BC", 'date', ['0000-01-01', '0001-01-01 BC']],
  ['a DATETIME(3) padded with zeros', 'datetime(3)', ['2020-09-13 12:26:40.100', '2020-09-13 12:26:40.1']],
  ['a DATETIME in year 0', 'datetime', ['0000-03-01 12:00:00', '0001-03-01 12:00:00 BC']],
  [
    'a TIMESTAMP read in UTC and a timestamptz printed in UTC',
    'timestamp',
    ['2020-09-14 12:26:40', '2020-09-14 12:26:40+00'],
  ],
  ['a TIME beyond a day, negative, with a fraction', 'time(6)', ['-838:59:59.500000', '-838:59:59.5']],
  ['a YEAR', 'year(4)', ['2155', '2155']],
];

const differentMeaning: Case[] = [
  ['a timestamp shifted by an hour', 'timestamp', ['2020-09-14 12:26:40', '2020-09-14 13:26:40+00']],
  ['a datetime shifted by an hour', 'datetime(3)', ['2020-09-13 12:26:40.100', '2020-09-13 13:26:40.1']],
  ['a datetime that lost its milliseconds', 'datetime', ['2020-09-13 12:26:40.100', '2020-09-13 12:26:40']],
  ['year 0 and year 1', 'date', ['0000-01-01', '0001-01-01']],
  ['a decimal off by a cent', 'decimal(12,2)', ['10.01', '10.02']],
  ['integers beyond 2^53 that differ by one', 'bigint unsigned', ['18446744073709551615', '18446744073709551614']],
  ['a FLOAT and the next real', 'float', ['0.10000000149011612', '0.10000001']],
  ['tinyint(1) holding 2 and boolean true', 'tinyint(1)', ['2', 't']],
  ['text with a trailing space', 'text', ['abc ', 'abc']],
  ['text that lost a NUL byte', 'text', ['a\0b', 'ab']],
  ['binary with a trailing zero byte dropped', 'blob', [Buffer.from([1, 0]), '\\x01']],
  ['JSON with one value changed', 'json', ['{"a": 1}', '{"a": 2}']],
  ['BIT with one bit changed', 'bit(4)', ['5', '0100']],
  ['a TIME a second off', 'time', ['-00:00:01', '00:00:01']],
];

describe('canonical forms', () => {
  for (const [what, columnType, [source, target]] of sameMeaning) {
    test(`${what} (${columnType}) compares equal`, () => {
      const canonical = form(columnType);
      assert.equal(canonical.source(source), canonical.target(target));
    });
  }
  for (const [what, columnType, [source, target]] of differentMeaning) {
    test(`${what} (${columnType}) compares different`, () => {
      const canonical = form(columnType);
      assert.notEqual(canonical.source(source), canonical.target(target));
    });
  }
});

describe('canonical forms follow the run’s policies', () => {
  test('a zero date, DATETIME or TIMESTAMP, and YEAR 0000 are expected as NULL under zeroDates: null (the default)', () => {
    assert.equal(form('date').source('0000-00-00'), null);
    assert.equal(form('datetime').source('2020-00-15 10:00:00'), null);
    assert.equal(form('timestamp').source('0000-00-00 00:00:00'), null);
    assert.equal(form('year(4)').source('0000'), null);
    // Under zeroDates: fail the copy refuses it; were one in the target, it would not be NULL.
    assert.equal(form('date', { ...DEFAULT_POLICIES, zeroDates: 'fail' }).source('0000-00-00'), '0000-00-00');
  });

  test('a NUL byte is expected stripped under nulBytes: strip, in text and in JSON strings', () => {
    const strip = { ...DEFAULT_POLICIES, nulBytes: 'strip' } as const;
    assert.equal(form('text', strip).source('a\0b'), 'ab');
    const json = form('json', strip);
    assert.equal(json.source('{"k": "a\\u0000b"}'), json.target('{"k": "ab"}'));
  });

  test('a \\u0000 in a JSON key is expected stripped under nulBytes: strip, as COPY strips it', () => {
    const json = form('json', { ...DEFAULT_POLICIES, nulBytes: 'strip' });
    assert.equal(json.source('{"k\\u0000": 1}'), json.target('{"k": 1}'));
  });

  test('tinyint(1) holding 2 is expected true under tinyint1: nonzero-true', () => {
    assert.equal(form('tinyint(1)', { ...DEFAULT_POLICIES, tinyint1: 'nonzero-true' }).source('2'), 't');
  });

  test("the empty ENUM value is expected as NULL under emptyEnum: null, unless '' is one of the labels", () => {
    const nullEnum = { ...DEFAULT_POLICIES, emptyEnum: 'null' } as const;
    assert.equal(form("enum('a','b')", nullEnum).source(''), null);
    assert.equal(form("enum('','a')", nullEnum).source(''), '');
  });
});
