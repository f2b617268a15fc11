import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { InputValidationError } from '../../functions/core/errors.js';
import {
  DEFAULT_CHUNK_BYTES,
  DEFAULT_OVERLAP_SECONDS,
  defaultsFromEnvironment,
  excludedBy,
  type RunDefaults,
  resolveRunSettings,
} from '../../functions/core/input.js';
import { DEFAULT_POLICIES } from '../../functions/core/policies.js';
import { migrateFlags } from '../../infra/cli/migrate.js';

const DEFAULTS: RunDefaults = { tables: ['users'], chunkRows: 50_000, concurrency: 8 };
/** What every run is unless its input says otherwise: a full, verified run with the default overlap and value policies. */
const FULL_RUN = {
  mode: 'full',
  chunkBytes: DEFAULT_CHUNK_BYTES,
  overlapSeconds: DEFAULT_OVERLAP_SECONDS,
  policies: DEFAULT_POLICIES,
  verify: 'checksum',
} as const;

/** Asserts that resolving `raw` is refused with an InputValidationError whose message matches. */
function assertRefused(raw: unknown, message: RegExp): void {
  assert.throws(
    () => resolveRunSettings(raw, DEFAULTS),
    (error: unknown) => {
      assert.ok(error instanceof InputValidationError, `expected InputValidationError, got ${String(error)}`);
      assert.equal(error.name, 'InputValidationError');
      assert.match(error.message, message);
      return true;
    },
  );
}

describe('resolveRunSettings', () => {
  test('an empty input {} runs with the stack defaults', () => {
    assert.deepEqual(resolveRunSettings({}, DEFAULTS), { ...DEFAULTS, ...FULL_RUN });
  });

  test('a missing input (null or undefined, as a bare start gives) runs with the stack defaults', () => {
    assert.deepEqual(resolveRunSettings(undefined, DEFAULTS), { ...DEFAULTS, ...FULL_RUN });
    assert.deepEqual(resolveRunSettings(null, DEFAULTS), { ...DEFAULTS, ...FULL_RUN });
  });

  test('a full valid input overrides every default', () => {
    assert.deepEqual(
      resolveRunSettings({ table: 'orders_2024', chunkRows: 2_500, concurrency: 1000, verify: false }, DEFAULTS),
      {
        table: 'orders_2024',
        chunkRows: 2_500,
        concurrency: 1000,
        ...FULL_RUN,
        verify: false,
      },
    );
  });

  test('verify says how: true is by checksum, as leaving it out is; "rows" reads every row', () => {
    assert.equal(resolveRunSettings({ verify: true }, DEFAULTS).verify, 'checksum');
    assert.equal(resolveRunSettings({ verify: 'checksum' }, DEFAULTS).verify, 'checksum');
    assert.equal(resolveRunSettings({ verify: 'rows' }, DEFAULTS).verify, 'rows');
  });

  test('a partial input overrides only the fields it gives', () => {
    assert.deepEqual(resolveRunSettings({ chunkRows: 10 }, DEFAULTS), { ...DEFAULTS, ...FULL_RUN, chunkRows: 10 });
  });

  test('an unknown field is refused, naming the field', () => {
    assertRefused({ tabel: 'users' }, /"tabel"/);
    assertRefused({ table: 'users', chunk_rows: 5, extra: true }, /"chunk_rows".*"extra"|"extra".*"chunk_rows"/);
  });

  for (const table of ['a'.repeat(65), '', 'trailing ', 'nul\u0000byte']) {
    test(`table name ${JSON.stringify(table.length > 20 ? `${table.slice(0, 8)}…(${table.length} chars)` : table)} is refused as no MySQL name, naming "table"`, () => {
      assertRefused({ table }, /"table" must be a MySQL name/);
    });
  }

  for (const table of ['users; drop table x', '1abc', 'public.users', 'users"', 'order-lines', 'Größe', 'with space']) {
    test(`table name ${JSON.stringify(table)} is taken as it is: MySQL allows it, and it is only ever quoted`, () => {
      assert.equal(resolveRunSettings({ table }, DEFAULTS).table, table);
    });
  }

  test('the configured tables are the run\'s unless the input names its own: "table", or "tables", not both', () => {
    assert.deepEqual(resolveRunSettings({}, DEFAULTS).tables, ['users']);
    const one = resolveRunSettings({ table: 'film' }, DEFAULTS);
    assert.deepEqual([one.table, one.tables], ['film', undefined]);
    assert.deepEqual(resolveRunSettings({ tables: ['film', 'actor'] }, DEFAULTS).tables, ['film', 'actor']);
    const all = resolveRunSettings({ excludeTables: 'audit_*' }, { chunkRows: 10, concurrency: 1 });
    assert.deepEqual([all.table, all.tables, all.excludeTables], [undefined, undefined, 'audit_*']);
    assertRefused({ table: 'film', tables: ['actor'] }, /give "table" or "tables", not both/);
    assertRefused({ tables: [] }, /"tables" must list at least one table/);
    assertRefused({ tables: ['film', 'film'] }, /"tables" lists a table twice/);
    assertRefused({ excludeTables: ' ' }, /"excludeTables" must name at least one table or pattern/);
    assertRefused(
      { tables: ['film', 'actor'], ranges: [{ lo: null, hi: '5' }] },
      /"ranges" without "table" are ranges of one table/,
    );
  });

  test('ranges that name their tables retry several tables in one run: each table in order, every table named', () => {
    const ranges = [
      { table: 'film', lo: '10', hi: '20' },
      { table: 'film', lo: '30', hi: null },
      { table: 'actor', lo: null, hi: '5' },
    ];
    assert.deepEqual(resolveRunSettings({ tables: ['film', 'actor'], ranges }, DEFAULTS).ranges, ranges);
    assertRefused({ tables: ['film'], ranges }, /"ranges" name actor, which "table"\/"tables" do not/);
    assertRefused(
      { tables: ['film', 'actor'], ranges: [ranges[1], ranges[0]] },
      /"ranges.1" overlaps or precedes the range before it/,
    );
    assertRefused(
      { tables: ['film', 'actor'], ranges: [ranges[0], { lo: '40', hi: null }] },
      /"ranges.1.table" is given for some ranges only/,
    );
  });

  test('a 64-character table name (MySQL’s limit) is accepted', () => {
    const table = `t${'a'.repeat(63)}`;
    assert.equal(resolveRunSettings({ table }, DEFAULTS).table, table);
  });

  for (const chunkRows of [0, -5, 1.5, '100']) {
    test(`chunkRows ${JSON.stringify(chunkRows)} is refused, naming "chunkRows"`, () => {
      assertRefused({ chunkRows }, /"chunkRows"/);
    });
  }

  for (const concurrency of [0, 1001, 2.5]) {
    test(`concurrency ${concurrency} is refused, naming "concurrency"`, () => {
      assertRefused({ concurrency }, /"concurrency"/);
    });
  }

  for (const verify of ['false', 0, null, 'sha256']) {
    test(`verify ${JSON.stringify(verify)} is refused, naming "verify"`, () => {
      assertRefused({ verify }, /"verify" must be true, false, "checksum" or "rows"/);
    });
  }

  test('one error names every bad field at once', () => {
    assertRefused({ table: '', chunkRows: 0, concurrency: 5000 }, /"table".*"chunkRows".*"concurrency"/);
  });

  test('an input that is not an object is refused', () => {
    // Root-level problems are reported against "input" (quoted), unlike the message's prefix.
    assertRefused('users', /"input"/);
    assertRefused([], /"input"/);
  });
});

describe('resolveRunSettings: mode, changeColumn and overlapSeconds', () => {
  test('the scheduled input is an incremental run of the configured table, its change column found later', () => {
    assert.deepEqual(resolveRunSettings({ mode: 'incremental' }, DEFAULTS), {
      ...DEFAULTS,
      ...FULL_RUN,
      mode: 'incremental',
    });
  });

  test('a change column and an overlap are taken as given', () => {
    const settings = resolveRunSettings(
      { mode: 'incremental', changeColumn: 'modified_at', overlapSeconds: 0 },
      DEFAULTS,
    );
    assert.equal(settings.changeColumn, 'modified_at');
    assert.equal(settings.overlapSeconds, 0);
  });

  test('bad values are refused, naming each field', () => {
    assertRefused(
      { mode: 'delta', changeColumn: 'updated at ', overlapSeconds: -1 },
      /"mode" must be "full", "incremental", "binlog", "cutover".*"changeColumn" must be a MySQL name.*"overlapSeconds" must be 0 or more/,
    );
    assertRefused({ overlapSeconds: 1.5 }, /"overlapSeconds" must be a whole number/);
  });
});

describe('the migrate command flags', () => {
  const base = [
    '--source',
    'mysql://root@127.0.0.1/test',
    '--target',
    'postgres://root@127.0.0.1/test',
    '--table',
    'users',
  ];
  // The execution input as the workflow receives it: JSON, where an absent flag leaves no field.
  const inputOf = (argv: string[]) => JSON.parse(JSON.stringify(migrateFlags([...base, ...argv]).input));

  test('--mode incremental gives the input the schedule sends, for the named table', () => {
    assert.deepEqual(inputOf(['--mode', 'incremental']), { table: 'users', mode: 'incremental' });
  });

  test('--change-column and --overlap-seconds become changeColumn and overlapSeconds', () => {
    assert.deepEqual(inputOf(['--mode', 'incremental', '--change-column', 'modified_at', '--overlap-seconds', '5']), {
      table: 'users',
      mode: 'incremental',
      changeColumn: 'modified_at',
      overlapSeconds: 5,
    });
  });

  test('--no-verify turns verification off; without it the input leaves verify to its default', () => {
    assert.deepEqual(inputOf(['--no-verify']), { table: 'users', verify: false });
    assert.deepEqual(inputOf(['--verify', 'rows']), { table: 'users', verify: 'rows' });
    assert.throws(() => inputOf(['--verify', 'sha256']), /--verify must be true, false, "checksum" or "rows"/);
    assert.deepEqual(inputOf([]), { table: 'users' });
  });

  test('a bad flag value is refused naming the flag', () => {
    assert.throws(
      () => migrateFlags([...base, '--mode', 'delta']),
      /--mode must be "full", "incremental", "binlog", "cutover"/,
    );
    assert.throws(
      () => migrateFlags([...base, '--overlap-seconds', '1.5']),
      /--overlap-seconds must be a whole number/,
    );
  });

  test('--source-tls, --target-tls and --ca-bundle become the variables every connection of the run reads', () => {
    const ca = path.join(mkdtempSync(path.join(tmpdir(), 'flags-ca-')), 'ca.pem');
    writeFileSync(ca, 'CA');
    const flags = ['--source-tls', 'require', '--target-tls', 'verify-full', '--ca-bundle', ca];
    assert.deepEqual(migrateFlags([...base, ...flags], {}).tls, {
      SOURCE_TLS: 'require',
      TARGET_TLS: 'verify-full',
      DATABASE_CA_BUNDLE: ca,
    });
    assert.deepEqual(migrateFlags(base, {}).tls, {});
    assert.throws(() => migrateFlags([...base, '--target-tls', 'yes'], {}), /--target-tls must be one of/);
  });

  test("a TLS flag that contradicts the URL's sslmode is a usage error, before anything runs", () => {
    const argv = ['--source', 'mysql://root@h/db?sslmode=require', '--target', 'postgres://root@h/db', '--table', 't'];
    assert.throws(
      () => migrateFlags([...argv, '--source-tls', 'off'], {}),
      (error: Error) =>
        error.name === 'UsageError' && /"source" URL says sslmode=require but SOURCE_TLS/.test(error.message),
    );
    assert.throws(() => migrateFlags(argv, { SOURCE_TLS: 'verify-full' }), /URL says sslmode=require/);
    assert.deepEqual(migrateFlags([...argv, '--source-tls', 'require'], {}).tls, { SOURCE_TLS: 'require' });
  });
});

describe('the byte budget of a range, chunkBytes', () => {
  test('is 256 MiB unless the input or the stack sets it, the input winning', () => {
    assert.equal(DEFAULT_CHUNK_BYTES, 256 * 1024 * 1024);
    assert.equal(resolveRunSettings({}, DEFAULTS).chunkBytes, DEFAULT_CHUNK_BYTES);
    assert.equal(resolveRunSettings({}, { ...DEFAULTS, chunkBytes: 64 << 20 }).chunkBytes, 64 << 20);
    assert.equal(
      resolveRunSettings({ chunkBytes: 16 << 20 }, { ...DEFAULTS, chunkBytes: 64 << 20 }).chunkBytes,
      16 << 20,
    );
  });

  test('below a mebibyte, or not whole, it is refused naming the field', () => {
    assertRefused({ chunkBytes: 1000 }, /"chunkBytes" must be at least 1048576/);
    assertRefused({ chunkBytes: 2.5e6 + 0.5 }, /"chunkBytes" must be a whole number of bytes/);
  });

  test('--chunk-bytes sets it from the command line, checked by the same schema', () => {
    const base = ['--source', 'mysql://root@127.0.0.1:3306/test', '--target', 'postgres://root@127.0.0.1:5432/test'];
    assert.equal(migrateFlags([...base, '--chunk-bytes', '33554432']).input.chunkBytes, 33_554_432);
    assert.throws(() => migrateFlags([...base, '--chunk-bytes', '12']), /--chunk-bytes must be at least 1048576/);
  });

  test('DEFAULT_CHUNK_BYTES, as the stack sets it, becomes the default', () => {
    assert.equal(defaultsFromEnvironment({ DEFAULT_CHUNK_BYTES: '134217728' }).chunkBytes, 134_217_728);
    assert.throws(() => defaultsFromEnvironment({ DEFAULT_CHUNK_BYTES: 'lots' }), /chunkBytes/);
  });
});

describe('defaultsFromEnvironment', () => {
  test('an empty environment gives every table, 100000 rows per range and concurrency 4', () => {
    assert.deepEqual(defaultsFromEnvironment({}), { chunkRows: 100_000, concurrency: 4 });
  });

  test('DEFAULT_* variables (strings, as Lambda sets them) become typed defaults', () => {
    assert.deepEqual(
      defaultsFromEnvironment({
        DEFAULT_TABLES: '["orders","order, lines"]',
        DEFAULT_EXCLUDE_TABLES: 'tmp_*',
        DEFAULT_CHUNK_ROWS: '2500',
        DEFAULT_CONCURRENCY: '16',
      }),
      {
        tables: ['orders', 'order, lines'],
        excludeTables: 'tmp_*',
        chunkRows: 2500,
        concurrency: 16,
      },
    );
  });

  test('invalid DEFAULT_* variables are refused with an InputValidationError naming the field', () => {
    for (const [env, field] of [
      [{ DEFAULT_CHUNK_ROWS: 'lots' }, 'chunkRows'],
      [{ DEFAULT_CONCURRENCY: '0' }, 'concurrency'],
      [{ DEFAULT_TABLES: '["trailing "]' }, 'tables.0'],
      [{ DEFAULT_TABLES: 'users' }, 'tables'],
    ] as const) {
      assert.throws(
        () => defaultsFromEnvironment(env),
        (error: unknown) =>
          error instanceof InputValidationError &&
          error.name === 'InputValidationError' &&
          error.message.includes(`"${field}"`),
        `${JSON.stringify(env)} should be refused naming ${field}`,
      );
    }
  });
});

describe("the stack's maxConcurrency (MAX_CONCURRENCY)", () => {
  const env = {
    DEFAULT_TABLES: '["users"]',
    DEFAULT_CHUNK_ROWS: '100000',
    DEFAULT_CONCURRENCY: '4',
    MAX_CONCURRENCY: '16',
  };

  test('a concurrency above it is refused with the fix; at it, accepted', () => {
    const defaults = defaultsFromEnvironment(env);
    assert.equal(resolveRunSettings({ concurrency: 16 }, defaults).concurrency, 16);
    assertRefusedWith(
      () => resolveRunSettings({ concurrency: 17 }, defaults),
      /"concurrency" 17 is above the stack's maxConcurrency 16: use at most 16, or redeploy with -c maxConcurrency=17/,
    );
  });

  test("is not part of the run's settings, and its absence caps nothing below the schema's own limit", () => {
    const { MAX_CONCURRENCY: _, ...uncapped } = env;
    assert.equal('maxConcurrency' in resolveRunSettings({}, defaultsFromEnvironment(env)), false);
    assert.equal(resolveRunSettings({ concurrency: 500 }, defaultsFromEnvironment(uncapped)).concurrency, 500);
    assertRefusedWith(() => defaultsFromEnvironment({ ...env, MAX_CONCURRENCY: 'lots' }), /MAX_CONCURRENCY/);
  });
});

function assertRefusedWith(run: () => unknown, message: RegExp): void {
  assert.throws(run, (error: unknown) => error instanceof InputValidationError && message.test(error.message));
}

describe('excludeTables patterns', () => {
  test('names and * / ? patterns, comma-separated, match whole names case-sensitively; other characters are literal', () => {
    const patterns = 'audit_*, tmp?,order-lines,a.b';
    for (const table of ['audit_2024', 'audit_', 'tmp1', 'order-lines', 'a.b'])
      assert.equal(excludedBy(patterns, table), true, table);
    for (const table of ['x_audit_1', 'tmp12', 'Audit_x', 'axb', 'order-lines2'])
      assert.equal(excludedBy(patterns, table), false, table);
    assert.equal(excludedBy(undefined, 'users'), false);
  });
});
