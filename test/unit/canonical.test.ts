import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canonicalForms } from '../../functions/core/canonical.js';
import type { ColumnPlan, Encoding } from '../../functions/core/schema.js';

const form = (encoding: Encoding, pgType = 'text') => canonicalForms([{ name: 'c', pgType, nullable: true, encoding } satisfies ColumnPlan])[0]!;

/** The source text (or bytes) and the target text of one value, as each server prints it. */
type Pair = [source: string | Buffer, target: string];

const sameMeaning: [string, Encoding, string, Pair][] = [
  ['a decimal padded to its scale', 'number', 'numeric(12,2)', ['-12.50', '-12.50']],
  ['an integer beyond 2^53', 'number', 'numeric(20,0)', ['18446744073709551615', '18446744073709551615']],
  ['a double printed with or without an exponent', 'number', 'double precision', ['0.0000001', '1e-07']],
  ['a float MySQL prints shorter than its binary value', 'number', 'real', ['1.23457', '1.23457']],
  ['a JSON object whose keys jsonb reordered and respaced', 'text', 'jsonb', ['{"b": 1, "a": [1,2.50]}', '{"a": [1, 2.50], "b": 1}']],
  ['text with tabs, newlines and emoji', 'text', 'text', ['a\tb\nc 🚀', 'a\tb\nc 🚀']],
  ['tinyint(1) 1 and boolean true', 'boolean', 'boolean', ['1', 't']],
  ['bytes and bytea hex', 'bytea', 'bytea', [Buffer.from([0, 255, 16]), '\\x00ff10']],
  ['a date', 'date', 'date', ['2024-02-29', '2024-02-29']],
  ['a DATETIME(3) padded with zeros', 'datetime', 'timestamp(3)', ['2020-09-13 12:26:40.100', '2020-09-13 12:26:40.1']],
  ['a whole-second DATETIME(6)', 'datetime', 'timestamp(6)', ['2020-09-13 12:26:40.000000', '2020-09-13 12:26:40']],
  ['a TIMESTAMP read in UTC and a timestamptz printed in UTC', 'timestamptz', 'timestamptz(0)', ['2020-09-14 12:26:40', '2020-09-14 12:26:40+00']],
];

const differentMeaning: [string, Encoding, string, Pair][] = [
  ['a timestamp shifted by an hour', 'timestamptz', 'timestamptz(0)', ['2020-09-14 12:26:40', '2020-09-14 13:26:40+00']],
  ['a datetime shifted by an hour', 'datetime', 'timestamp(3)', ['2020-09-13 12:26:40.100', '2020-09-13 13:26:40.1']],
  ['a datetime that lost its milliseconds', 'datetime', 'timestamp(0)', ['2020-09-13 12:26:40.100', '2020-09-13 12:26:40']],
  ['a decimal off by a cent', 'number', 'numeric(12,2)', ['10.01', '10.02']],
  ['integers beyond 2^53 that differ by one', 'number', 'numeric(20,0)', ['18446744073709551615', '18446744073709551614']],
  ['tinyint(1) holding 2 and boolean true', 'boolean', 'boolean', ['2', 't']],
  ['text with a trailing space', 'text', 'text', ['abc ', 'abc']],
  ['binary with a trailing zero byte dropped', 'bytea', 'bytea', [Buffer.from([1, 0]), '\\x01']],
  ['JSON with one value changed', 'text', 'jsonb', ['{"a": 1}', '{"a": 2}']],
  ['a date a day off', 'date', 'date', ['2024-02-29', '2024-03-01']],
];

describe('canonical forms', () => {
  for (const [what, encoding, pgType, [source, target]] of sameMeaning) {
    test(`${what} (${encoding}, ${pgType}) compares equal`, () => {
      const canonical = form(encoding, pgType);
      assert.equal(canonical.source(source), canonical.target(target));
    });
  }
  for (const [what, encoding, pgType, [source, target]] of differentMeaning) {
    test(`${what} (${encoding}, ${pgType}) compares different`, () => {
      const canonical = form(encoding, pgType);
      assert.notEqual(canonical.source(source), canonical.target(target));
    });
  }
});
