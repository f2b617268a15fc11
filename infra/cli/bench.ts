import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { z } from 'zod';
import {
  closePair,
  closeSource,
  type Endpoint,
  endpointFromUrl,
  openSource,
  openTarget,
} from '../../functions/core/connections.js';
import { quoteMysql, quotePg, TARGET_SCHEMA } from '../../functions/core/identifiers.js';
import type { VerifyMode } from '../../functions/core/range-checksum.js';
import { describeSourceTable, type TableDescription } from '../../functions/core/schema.js';
import { createTableSql } from '../../functions/core/target-table.js';
import { stackConfigSchema } from '../cdk/config.js';
import { SAKILA_ROWS, SAKILA_TABLES, seedSakila } from '../local/sakila.js';
import { seedUsers } from '../local/seed.js';
import { loadWorkflow } from '../local/workflow-cache.js';
import { ROOT } from '../root.js';
import { LOCAL_SOURCE_URL, LOCAL_TARGET_URL, parseFlags, sourceUrlFlag, targetUrlFlag, UsageError } from './flags.js';

const USAGE = `Usage: npm run bench -- [--database users|sakila] [--rows 1000000] [--no-spatial] [--runs 1] [--chunk-rows N] [--concurrency N]
                       [--source mysql://root@127.0.0.1:3306/test] [--target postgres://root@127.0.0.1:5432/test]`;

const TABLE = 'bench_users';
const PIPE_TABLE = 'bench_users_pipe';
const PGLOADER_SCHEMA = 'bench_pgloader';

const BENCH_FLAGS = {
  // users: one table of --rows rows; sakila: a sakila-shaped database, migrated whole.
  database: z.enum(['users', 'sakila'], { error: 'must be users or sakila' }).default('users'),
  rows: z.coerce.number().int().positive().default(1_000_000),
  // sakila without address.location (GEOMETRY) and its SPATIAL index.
  'no-spatial': z.boolean().default(false),
  runs: z.coerce.number().int().positive().default(1),
  'chunk-rows': z.coerce.number().int().positive().optional(),
  concurrency: z.coerce.number().int().positive().optional(),
  source: sourceUrlFlag().default(LOCAL_SOURCE_URL),
  target: targetUrlFlag().default(LOCAL_TARGET_URL),
};
type Flags = z.infer<z.ZodObject<typeof BENCH_FLAGS>>;

/** One way of moving the table, run as child processes so its wall time and peak memory are its own. */
interface Path {
  name: string;
  /** Rows its target must hold afterwards for its time to count. */
  rows: number;
  /** Why the path cannot run here, if it cannot. */
  unavailable?: string;
  /** Drops what a previous run left, so every run loads into nothing. */
  prepare(): Promise<void>;
  /** The command lines to run at once (their peak memories add up). */
  commands(): string[][];
  /** Rows the path's target holds; throws, naming what is wrong, when that is more than a number. */
  count(): Promise<number>;
  /** Wraps the run, to undo what the tool changes beyond its target. */
  around?: <T>(work: () => Promise<T>) => Promise<T>;
}

interface Sample {
  seconds: number;
  /** Peak resident memory, and CPU seconds (user + system), of the path's own processes; null without GNU time. */
  peakKiB: number | null;
  cpuSeconds: number | null;
}

interface Measurement {
  samples: Sample[];
  failure?: string;
}

const shellQuote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;

async function which(command: string): Promise<string | null> {
  return promisify(execFile)('sh', ['-c', `command -v ${shellQuote(command)}`]).then(
    ({ stdout }) => stdout.trim() || null,
    () => null,
  );
}

async function versionOf(command: string | null): Promise<string> {
  if (!command) return 'absent';
  const { stdout, stderr } = await promisify(execFile)(command, ['--version']).catch(
    (error) => error as { stdout: string; stderr: string },
  );
  return `${stdout}${stderr}`.split('\n')[0]!.trim();
}

/**
 * Runs the commands piped into each other (one shell pipeline, so no byte passes through this
 * process), each under GNU time when it is installed to read its peak resident memory and CPU.
 */
async function measure(
  commands: string[][],
  env: NodeJS.ProcessEnv,
  time: string | null,
  dir: string,
): Promise<Sample> {
  const files = commands.map((_, i) => path.join(dir, `usage-${i}`));
  const line = commands
    .map((command, i) =>
      (time ? [time, '-f', '%M %U %S', '-o', files[i]!, ...command] : command).map(shellQuote).join(' '),
    )
    .join(' | ');
  const started = performance.now();
  const child = spawn('bash', ['-o', 'pipefail', '-c', line], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (data: Buffer) => (output += data.toString()));
  child.stderr.on('data', (data: Buffer) => (output += data.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) {
    const lines = output.trim().split('\n');
    // A command refusing its flags prints its usage after the reason: the reason is what counts.
    const usage = lines.findIndex((line) => line.startsWith('Usage:'));
    const message = (usage >= 0 ? lines.slice(0, usage) : lines)
      .filter((line) => line.trim() && !/^\s+at /.test(line))
      .slice(-3);
    throw new Error(`exited with ${code}: ${message.join(' | ')}`);
  }
  if (!time) return { seconds, peakKiB: null, cpuSeconds: null };
  // GNU time's last line: peak KiB, user and system seconds. A pipeline's processes run at once, so they add up.
  const usages = files.map(
    (file) => readFileSync(file, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number) as [number, number, number],
  );
  return {
    seconds,
    peakKiB: usages.reduce((sum, [kib]) => sum + kib, 0),
    cpuSeconds: usages.reduce((sum, [, user, system]) => sum + user + system, 0),
  };
}

/** What a benchmark of one kind needs: the flags, the connections, the clients found and a private directory. */
interface Context {
  flags: Flags;
  source: Awaited<ReturnType<typeof openSource>>;
  target: Awaited<ReturnType<typeof openTarget>>;
  sourceEndpoint: Endpoint;
  targetEndpoint: Endpoint;
  clients: Record<'mariadb' | 'psql' | 'pgloader', string | null>;
  workDir: string;
}

/** The paths one kind of benchmark runs, compared with `baseline`, and how to drop what it made. */
interface Bench {
  title: string;
  paths: Path[];
  /** Paths run once each after the others, not compared with the baseline. */
  extra: Path[];
  baseline: Path;
  /** The baseline's name in the report's header. */
  baselineLabel: string;
  cleanup(): Promise<void>;
}

export async function main(argv: string[]): Promise<number> {
  let flags: Flags;
  try {
    const parsed = parseFlags(argv, BENCH_FLAGS);
    flags = parsed.flags;
    if (flags.database === 'sakila' && parsed.given.rows !== undefined) {
      throw new UsageError("--rows applies to --database users: the sakila database has sakila's own row counts");
    }
    if (flags.database === 'users' && flags['no-spatial']) {
      throw new UsageError('--no-spatial applies to --database sakila: the users table has no spatial column');
    }
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }

  const sourceEndpoint = endpointFromUrl(flags.source, 'source');
  const targetEndpoint = endpointFromUrl(flags.target, 'target');
  const [time, mariadb, psql, pgloader] = await Promise.all([
    which('/usr/bin/time'),
    which('mariadb').then(async (found) => found ?? which('mysql')),
    which('psql'),
    which('pgloader'),
  ]);
  const clients = { mariadb, psql, pgloader };
  const source = await openSource(sourceEndpoint);
  const target = await openTarget(targetEndpoint);
  // GNU time's reports and pgloader's command file (it holds the URLs, so only the owner reads it).
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'bench-'));
  try {
    const machine = await describeMachine(source, target, clients);
    const load = os.loadavg();
    const context: Context = { flags, source, target, sourceEndpoint, targetEndpoint, clients, workDir };
    const bench = flags.database === 'sakila' ? await sakilaBench(context) : await usersBench(context);
    // Every local run but the first after an edit finds the synthesized workflow cached; so do these.
    await loadWorkflow();

    // An empty MYSQL_PWD is a password too (pgloader then logs in with ''), so only a given one is set.
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PGTZ: 'UTC',
      FORCE_COLOR: '0',
      ...(sourceEndpoint.password ? { MYSQL_PWD: sourceEndpoint.password } : {}),
      ...(targetEndpoint.password ? { PGPASSWORD: targetEndpoint.password } : {}),
    };
    const results = new Map<Path, Measurement>();
    const run = async (item: Path) => {
      const result = results.get(item) ?? { samples: [] };
      results.set(item, result);
      if (item.unavailable || result.failure) return;
      console.error(`Running ${item.name}...`);
      try {
        await item.prepare();
        const work = () => measure(item.commands(), env, time, workDir);
        const sample = await (item.around ? item.around(work) : work());
        const rows = await item.count();
        if (rows !== item.rows) throw new Error(`its target holds ${rows} rows, not ${item.rows}`);
        result.samples.push(sample);
      } catch (error) {
        result.failure = (error as Error).message;
      }
    };
    try {
      for (let i = 0; i < flags.runs; i++) for (const item of bench.paths) await run(item);
      for (const item of bench.extra) await run(item);
    } finally {
      await bench.cleanup();
    }

    console.log(report(bench, machine, [load, os.loadavg()], results, time !== null));
    return [...results.values()].some((result) => result.failure) ? 1 : 0;
  } finally {
    rmSync(workDir, { recursive: true, force: true });
    await closePair({ source, target });
  }
}

/** `npm run migrate` of the source at `sourceUrl`, with the benchmark's range settings. */
function migrateCommand(flags: Flags, sourceUrl: string, verify: VerifyMode | false, only: string[]): string[] {
  return [
    process.execPath,
    '--import',
    'tsx',
    'infra/cli/migrate.ts',
    '--source',
    sourceUrl,
    '--target',
    flags.target,
    ...only,
    '--json',
    ...(flags['chunk-rows'] ? ['--chunk-rows', String(flags['chunk-rows'])] : []),
    ...(flags.concurrency ? ['--concurrency', String(flags.concurrency)] : []),
    ...(verify ? ['--verify', verify] : ['--no-verify']),
  ];
}

/** pgloader's LOAD DATABASE into a schema of its own, the database's default search_path kept. */
function pgloaderPath(
  { target, clients, workDir, flags }: Context,
  load: Omit<LoadFile, 'targetUrl'> & { rows: number; count: () => Promise<number> },
): Path {
  return {
    name: 'pgloader',
    rows: load.rows,
    unavailable: clients.pgloader ? undefined : 'pgloader is not installed (Debian: apt-get install pgloader)',
    prepare: async () => void (await target.query(`DROP SCHEMA IF EXISTS ${quotePg(PGLOADER_SCHEMA)} CASCADE`)),
    commands: () => [[clients.pgloader!, loadFile(workDir, { ...load, targetUrl: flags.target })]],
    count: load.count,
    around: (work) => keepingSearchPath(target, work),
  };
}

const countTable = (target: Context['target'], qualified: string) => async () =>
  Number((await target.query<{ n: string }>(`SELECT count(*) AS n FROM ${qualified}`)).rows[0]!.n);

/** One sparse-id users table of `--rows` rows: the raw pipe, the workflow, pgloader and single CopyRanges. */
async function usersBench(context: Context): Promise<Bench> {
  const { flags, source, target, sourceEndpoint, targetEndpoint, clients } = context;
  console.error(`Seeding ${flags.rows} rows into ${TABLE}...`);
  const seeding = performance.now();
  await seedUsers(source, { table: TABLE, rows: flags.rows });
  console.error(`Seeded in ${((performance.now() - seeding) / 1000).toFixed(1)} s`);
  const description = await describeSourceTable(source, TABLE, target);

  const workflowTable = `${quotePg(TARGET_SCHEMA)}.${quotePg(TABLE)}`;
  const dropWorkflowTable = async () => void (await target.query(`DROP TABLE IF EXISTS ${workflowTable}`));
  const migrate = (verify: VerifyMode | false) => migrateCommand(flags, flags.source, verify, ['--table', TABLE]);
  const oneRange = (table: string) => [
    process.execPath,
    '--import',
    'tsx',
    'infra/cli/one-range.ts',
    '--source',
    flags.source,
    '--target',
    flags.target,
    '--table',
    table,
  ];

  const paths: Path[] = [
    {
      name: 'raw pipe (mariadb --batch into psql COPY)',
      rows: flags.rows,
      unavailable: clients.mariadb && clients.psql ? undefined : 'needs the mariadb (or mysql) and psql clients',
      prepare: async () => {
        await target.query(`DROP TABLE IF EXISTS ${quotePg(TARGET_SCHEMA)}.${quotePg(PIPE_TABLE)}`);
        await target.query(createTableSql({ ...description, table: PIPE_TABLE }, TARGET_SCHEMA).sql);
      },
      commands: () => rawPipe(description, sourceEndpoint, targetEndpoint, clients.mariadb!, clients.psql!),
      count: countTable(target, `${quotePg(TARGET_SCHEMA)}.${quotePg(PIPE_TABLE)}`),
    },
    {
      name: 'workflow, verified (by checksum)',
      rows: flags.rows,
      prepare: dropWorkflowTable,
      commands: () => [migrate('checksum')],
      count: countTable(target, workflowTable),
    },
    {
      name: 'workflow, verified by rows',
      rows: flags.rows,
      prepare: dropWorkflowTable,
      commands: () => [migrate('rows')],
      count: countTable(target, workflowTable),
    },
    {
      name: 'workflow, not verified',
      rows: flags.rows,
      prepare: dropWorkflowTable,
      commands: () => [migrate(false)],
      count: countTable(target, workflowTable),
    },
    pgloaderPath(context, {
      name: 'users',
      sourceUrl: flags.source,
      sourceDatabase: sourceEndpoint.database,
      onlyTable: TABLE,
      rows: flags.rows,
      count: countTable(target, `${quotePg(PGLOADER_SCHEMA)}.${quotePg(TABLE)}`),
    }),
  ];
  const rangeRows = Math.max(1, Math.floor(flags.rows / 10));
  const extra: Path[] = [
    {
      name: `one CopyRange of ${rangeRows} rows`,
      rows: rangeRows,
      prepare: async () => {
        await seedUsers(source, { table: `${TABLE}_small`, rows: rangeRows });
        await target.query(`DROP TABLE IF EXISTS ${quotePg(TARGET_SCHEMA)}.${quotePg(`${TABLE}_small`)}`);
      },
      commands: () => [oneRange(`${TABLE}_small`)],
      count: countTable(target, `${quotePg(TARGET_SCHEMA)}.${quotePg(`${TABLE}_small`)}`),
    },
    {
      name: `one CopyRange of ${flags.rows} rows`,
      rows: flags.rows,
      prepare: dropWorkflowTable,
      commands: () => [oneRange(TABLE)],
      count: countTable(target, workflowTable),
    },
  ];
  const defaults = stackConfigSchema.parse({});
  return {
    title:
      `${flags.rows.toLocaleString('en-US')} rows, ${runsLine(flags)}; ` +
      `workflow: ${flags['chunk-rows'] ?? defaults.chunkRows} rows per range, concurrency ${flags.concurrency ?? defaults.concurrency}`,
    paths,
    extra,
    baseline: paths[0]!,
    baselineLabel: 'raw pipe',
    cleanup: async () => {
      await source.promise().query(`DROP TABLE IF EXISTS ${quoteMysql(TABLE)}, ${quoteMysql(`${TABLE}_small`)}`);
      for (const table of [PIPE_TABLE, TABLE, `${TABLE}_small`])
        await target.query(`DROP TABLE IF EXISTS ${quotePg(TARGET_SCHEMA)}.${quotePg(table)}`);
      await target.query(`DROP SCHEMA IF EXISTS ${quotePg(PGLOADER_SCHEMA)} CASCADE`);
    },
  };
}

/**
 * A sakila-shaped database (its sixteen tables, keys, indexes, views and triggers, at its row
 * counts), seeded into a database of its own on the source server and moved whole: by the
 * workflow with no `--table`, and by pgloader's LOAD DATABASE. Every table's rows are counted.
 */
async function sakilaBench(context: Context): Promise<Bench> {
  const { flags, source, target, sourceEndpoint } = context;
  const database = `${sourceEndpoint.database}_bench_sakila`;
  const sourceUrl = new URL(flags.source);
  sourceUrl.pathname = `/${encodeURIComponent(database)}`;
  const rows = Object.values(SAKILA_ROWS).reduce((sum, n) => sum + n, 0);

  // The workflow writes sakila's tables under their own names, and the benchmark drops them after:
  // it will not drop tables it did not make.
  const { rows: present } = await target.query<{ name: string }>(
    'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 AND table_name = ANY($2)',
    [TARGET_SCHEMA, SAKILA_TABLES],
  );
  if (present.length > 0) {
    throw new Error(
      `The target already holds ${present.map((row) => row.name).join(', ')} in schema ${TARGET_SCHEMA}: ` +
        'the sakila benchmark migrates into those names and drops them afterwards. Drop them, or give --target another database.',
    );
  }

  console.error(`Seeding a sakila-shaped database (${rows} rows) into ${database}...`);
  const seeding = performance.now();
  await source.promise().query(`DROP DATABASE IF EXISTS ${quoteMysql(database)}`);
  await source.promise().query(`CREATE DATABASE ${quoteMysql(database)}`);
  try {
    const scratch = await openSource({ ...sourceEndpoint, database });
    try {
      await seedSakila(scratch, { spatial: !flags['no-spatial'] });
    } finally {
      await closeSource(scratch);
    }
  } catch (error) {
    await source.promise().query(`DROP DATABASE IF EXISTS ${quoteMysql(database)}`);
    throw error;
  }
  console.error(`Seeded in ${((performance.now() - seeding) / 1000).toFixed(1)} s`);

  const dropWorkflowTables = async () =>
    void (await target.query(
      `DROP TABLE IF EXISTS ${SAKILA_TABLES.map((table) => `${quotePg(TARGET_SCHEMA)}.${quotePg(table)}`).join(', ')} CASCADE`,
    ));
  /** Every table's rows, in all: a table missing or holding a count of its own fails the path, naming it. */
  const countTables = (schema: string) => async () => {
    const wrong: string[] = [];
    let total = 0;
    for (const table of SAKILA_TABLES) {
      const qualified = `${quotePg(schema)}.${quotePg(table)}`;
      const { rows: found } = await target.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [qualified]);
      if (!found[0]!.t) {
        wrong.push(`${table} is missing`);
        continue;
      }
      const n = await countTable(target, qualified)();
      total += n;
      if (n !== SAKILA_ROWS[table]) wrong.push(`${table} holds ${n} rows, not ${SAKILA_ROWS[table]}`);
    }
    if (wrong.length > 0) throw new Error(`on its target ${wrong.join('; ')}`);
    return total;
  };
  const migrate = (verify: VerifyMode | false) => migrateCommand(flags, sourceUrl.toString(), verify, []);
  const pgloader = pgloaderPath(context, {
    name: 'sakila',
    sourceUrl: sourceUrl.toString(),
    sourceDatabase: database,
    rows,
    count: countTables(PGLOADER_SCHEMA),
  });
  const defaults = stackConfigSchema.parse({});
  return {
    title:
      `a sakila-shaped database${flags['no-spatial'] ? ' without address.location' : ''}: ` +
      `${SAKILA_TABLES.length} tables, ${rows.toLocaleString('en-US')} rows, ${runsLine(flags)}; ` +
      `workflow: the whole database, ${flags['chunk-rows'] ?? defaults.chunkRows} rows per range, concurrency ${flags.concurrency ?? defaults.concurrency}`,
    paths: [
      {
        name: 'workflow, verified',
        rows,
        prepare: dropWorkflowTables,
        commands: () => [migrate('checksum')],
        count: countTables(TARGET_SCHEMA),
      },
      {
        name: 'workflow, not verified',
        rows,
        prepare: dropWorkflowTables,
        commands: () => [migrate(false)],
        count: countTables(TARGET_SCHEMA),
      },
      pgloader,
    ],
    extra: [],
    baseline: pgloader,
    baselineLabel: 'pgloader',
    cleanup: async () => {
      await source.promise().query(`DROP DATABASE IF EXISTS ${quoteMysql(database)}`);
      await dropWorkflowTables();
      await target.query(`DROP SCHEMA IF EXISTS ${quotePg(PGLOADER_SCHEMA)} CASCADE`);
    },
  };
}

const runsLine = (flags: Flags) =>
  `${flags.runs} run${flags.runs > 1 ? 's' : ''} per path (the fastest shown${flags.runs > 1 ? ', fastest to slowest in brackets' : ''})`;

/**
 * MariaDB's batch mode escapes tab, newline, backslash and NUL the way COPY's text format reads
 * them (`--raw` would not, and a newline in a value would split its row) and prints NULL as
 * `NULL`, which COPY is told. TIMESTAMP values are printed in UTC and read in UTC (PGTZ).
 */
function rawPipe(
  description: TableDescription,
  source: Endpoint,
  target: Endpoint,
  mariadb: string,
  psql: string,
): string[][] {
  const columns = description.columns.map((column) => column.name);
  const select = `SET time_zone = '+00:00'; SELECT ${columns.map(quoteMysql).join(', ')} FROM ${quoteMysql(description.table)} ORDER BY ${quoteMysql(description.primaryKey!)}`;
  const copy = `COPY ${quotePg(TARGET_SCHEMA)}.${quotePg(PIPE_TABLE)} (${columns.map(quotePg).join(', ')}) FROM STDIN WITH (NULL 'NULL')`;
  return [
    [
      mariadb,
      '--host',
      source.host,
      '--port',
      String(source.port),
      '--user',
      source.user,
      '--default-character-set=utf8mb4',
      '--quick',
      '--batch',
      '--skip-column-names',
      '-e',
      select,
      source.database,
    ],
    [
      psql,
      '--host',
      target.host,
      '--port',
      String(target.port),
      '--username',
      target.user,
      '--dbname',
      target.database,
      '--no-psqlrc',
      '--quiet',
      '-v',
      'ON_ERROR_STOP=1',
      '-c',
      copy,
    ],
  ];
}

interface LoadFile {
  /** The file's name in the work directory. */
  name: string;
  sourceUrl: string;
  targetUrl: string;
  /** The source database: pgloader names the target schema after it, and is told to rename it. */
  sourceDatabase: string;
  /** One table alone; every table of the database without it. */
  onlyTable?: string;
}

/** pgloader's command file: its defaults, into a schema of its own. */
function loadFile(dir: string, { name, sourceUrl, targetUrl, sourceDatabase, onlyTable }: LoadFile): string {
  const file = path.join(dir, `${name}.load`);
  writeFileSync(
    file,
    `LOAD DATABASE
       FROM ${sourceUrl}
       INTO ${targetUrl.replace(/^postgres:/, 'postgresql:')}
${onlyTable ? `       INCLUDING ONLY TABLE NAMES MATCHING '${onlyTable}'\n` : ''}       ALTER SCHEMA '${sourceDatabase}' RENAME TO '${PGLOADER_SCHEMA}';\n`,
    { mode: 0o600 },
  );
  return file;
}

/** pgloader sets the database's default search_path to reach its schema; this puts it back. */
async function keepingSearchPath<T>(
  target: Awaited<ReturnType<typeof openTarget>>,
  work: () => Promise<T>,
): Promise<T> {
  const settings = `SELECT s.setconfig FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = current_database() AND s.setrole = 0`;
  const before = ((await target.query<{ setconfig: string[] }>(settings)).rows[0]?.setconfig ?? []).find((entry) =>
    entry.startsWith('search_path='),
  );
  try {
    return await work();
  } finally {
    const database = quotePg((await target.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db);
    await target.query(
      before
        ? `ALTER DATABASE ${database} SET search_path = ${before.slice('search_path='.length)}`
        : `ALTER DATABASE ${database} RESET search_path`,
    );
  }
}

interface Machine {
  cpus: number;
  memoryGiB: number;
  versions: Record<string, string>;
}

async function describeMachine(
  source: Awaited<ReturnType<typeof openSource>>,
  target: Awaited<ReturnType<typeof openTarget>>,
  clients: Record<'mariadb' | 'psql' | 'pgloader', string | null>,
): Promise<Machine> {
  const [versionRows] = await source.promise().query('SELECT VERSION() AS v');
  const pgVersion = (await target.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
  return {
    cpus: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    versions: {
      node: process.version,
      'MySQL server': (versionRows as { v: string }[])[0]!.v,
      'PostgreSQL server': pgVersion,
      'mariadb client': await versionOf(clients.mariadb),
      psql: await versionOf(clients.psql),
      pgloader: await versionOf(clients.pgloader),
    },
  };
}

function report(
  { title, paths, extra, baseline: base, baselineLabel }: Bench,
  machine: Machine,
  loads: number[][],
  results: Map<Path, Measurement>,
  timed: boolean,
): string {
  const fastest = (item: Path) =>
    results
      .get(item)
      ?.samples.reduce<Sample | null>(
        (best, sample) => (best && best.seconds <= sample.seconds ? best : sample),
        null,
      ) ?? null;
  const baseline = fastest(base)?.seconds;
  const line = (item: Path) => {
    const { samples, failure } = results.get(item)!;
    const best = fastest(item);
    if (item.unavailable) return `| ${item.name} | skipped: ${item.unavailable} | | | | |`;
    if (failure || !best) return `| ${item.name} | FAILED: ${failure} | | | | |`;
    const slowest = Math.max(...samples.map((sample) => sample.seconds));
    const spread = samples.length > 1 ? ` (${best.seconds.toFixed(2)}–${slowest.toFixed(2)})` : '';
    const ratio = baseline && paths.includes(item) ? `${(best.seconds / baseline).toFixed(2)}x` : '';
    const usage = (value: number | null, show: (v: number) => string) => {
      if (value !== null) return show(value);
      return timed ? '' : 'n/a (no /usr/bin/time)';
    };
    return (
      `| ${item.name} | ${best.seconds.toFixed(2)}${spread} | ${Math.round(item.rows / best.seconds).toLocaleString('en-US')} | ${ratio} | ` +
      `${usage(best.peakKiB, (kib) => `${Math.round(kib / 1024)} MB`)} | ${usage(best.cpuSeconds, (cpu) => cpu.toFixed(2))} |`
    );
  };
  return [
    title,
    `machine: ${machine.cpus} CPUs, ${machine.memoryGiB} GiB; load average ${loads.map((l) => l.map((v) => v.toFixed(2)).join(' ')).join(' before, ')} after`,
    ...Object.entries(machine.versions).map(([name, version]) => `  ${name}: ${version}`),
    '',
    `| path | seconds | rows/s | vs ${baselineLabel} | peak RSS | client CPU s |`,
    '|---|---:|---:|---:|---:|---:|',
    ...paths.map(line),
    ...extra.map(line),
    '',
    "client CPU: user + system seconds of the path's own processes (the servers' work is not in it).",
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: Error) => {
      console.error(error.message);
      process.exit(1);
    },
  );
}
