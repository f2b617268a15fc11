import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import type { Encoding } from '../../functions/core/codecs/type-table.js';
import { codecOf, PLAIN_TARGET, type TargetFeatures, TYPE_TABLE } from '../../functions/core/codecs/type-table.js';
import { columnOfType } from '../support/source-columns.js';

/** A row of README.md's Types table: the MySQL column types it names, and the PostgreSQL types they become. */
interface ReadmeRow {
  line: string;
  mysql: string[];
  postgres: string[];
}

// The README writes a type's parameters as letters; these stand in for them.
const EXAMPLE_PARAMETERS: [RegExp, string][] = [
  [/\(p,s\)/g, '(12,2)'],
  [/\(p\)/g, '(3)'],
  [/\(n\)/g, '(10)'],
  [/\(\.\.\.\)/g, "('a','b')"],
];

/** The backquoted types of a cell, leaving out those inside a remark in parentheses. */
function typesIn(cell: string): string[] {
  const types: string[] = [];
  let depth = 0;
  for (const [i, part] of cell.split('`').entries()) {
    if (i % 2 === 1) {
      if (depth === 0) types.push(EXAMPLE_PARAMETERS.reduce((type, [letters, n]) => type.replace(letters, n), part));
      continue;
    }
    for (const c of part) {
      if (c === '(') depth++;
      if (c === ')') depth--;
    }
  }
  return types;
}

function readmeRows(): ReadmeRow[] {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('\n### Types\n'));
  const table = section.slice(section.indexOf('\n| MySQL / MariaDB |'));
  const lines = table.split('\n').slice(3);
  return lines.slice(0, lines.indexOf('')).map((line) => {
    const [mysql, postgres] = line.split(' | ');
    return { line, mysql: typesIn(mysql!.slice(2)), postgres: typesIn(postgres!) };
  });
}

// The README's table names the types of a target with PostGIS, and in its words what happens without.
const POSTGIS: TargetFeatures = { postgis: true };
const TARGETS = [POSTGIS, PLAIN_TARGET];

/** What the type table maps a column of this MySQL type to: its PostgreSQL type, or null when refused. */
function mapped(columnType: string, target = POSTGIS): { pgType: string; encoding: Encoding } | null {
  const codec = codecOf(columnOfType('c', columnType), target);
  return 'refused' in codec ? null : { pgType: codec.pgType, encoding: codec.encoding };
}

/**
 * A MySQL type of each encoding, so a new encoding does not compile here until it has one. Were
 * Encoding to widen to any string (a rule typed loosely), this would not compile either.
 */
const EXAMPLES: Record<Encoding, string> & (string extends Encoding ? never : unknown) = {
  integer: 'int',
  numeric: 'decimal(12,2)',
  float: 'float',
  boolean: 'tinyint(1)',
  bit: 'bit(10)',
  text: 'varchar(10)',
  enum: "enum('a','b')",
  json: 'json',
  bytea: 'blob',
  date: 'date',
  datetime: 'datetime(3)',
  timestamptz: 'timestamp(3)',
  time: 'time(3)',
  year: 'year',
  geometry: 'point',
  spatialBytea: 'point',
};

describe('the type table', () => {
  test('has a MySQL type for every encoding', () => {
    for (const [encoding, columnType] of Object.entries(EXAMPLES)) {
      assert.ok(
        TARGETS.some((target) => mapped(columnType, target)?.encoding === encoding),
        encoding,
      );
    }
  });
});

describe("README's Types table", () => {
  const rows = readmeRows();

  test('is found, one row per line', () => {
    assert.ok(rows.length > 20, `${rows.length} rows`);
  });

  for (const { line, mysql, postgres } of rows) {
    test(`says what the type table does: ${line.split(' | ')[0]!.slice(2)}`, () => {
      assert.ok(mysql.length > 0, 'the row names MySQL types');
      assert.ok(postgres.length === 1 || postgres.length === mysql.length || postgres.length === 0, line);
      const expected = mysql.map((_, i) => postgres[postgres.length === 1 ? 0 : i] ?? null);
      assert.deepEqual(
        mysql.map((type) => mapped(type)?.pgType ?? null),
        expected,
      );
    });
  }

  test('names every MySQL type of the type table, and no other', () => {
    const named = new Set(rows.flatMap((row) => row.mysql.map((type) => /^[a-z0-9]+/.exec(type)![0])));
    assert.deepEqual([...named].sort(), Object.keys(TYPE_TABLE).sort());
  });

  test('shows every encoding', () => {
    const shown = new Set(
      rows.flatMap((row) => row.mysql.flatMap((type) => TARGETS.map((target) => mapped(type, target)?.encoding))),
    );
    assert.deepEqual(
      Object.keys(EXAMPLES).filter((encoding) => !shown.has(encoding as Encoding)),
      [],
    );
  });
});
