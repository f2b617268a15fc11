import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { z } from 'zod';
import {
  closeSource,
  closeTarget,
  type Endpoint,
  endpointFromUrl,
  openSource,
  openTarget,
} from '../../functions/core/connections.js';
import { quoteMysql, quotePg, TARGET_SCHEMA } from '../../functions/core/identifiers.js';
import { describeSourceTable, type TableDescription } from '../../functions/core/schema.js';
import { createTableSql } from '../../functions/core/target-table.js';
import { stackConfigSchema } from '../cdk/config.js';
import { seedUsers } from '../local/seed.js';
import { loadWorkflow } from '../local/workflow-cache.js';
import { ROOT } from '../root.js';
import { LOCAL_SOURCE_URL, LOCAL_TARGET_URL, parseFlags, sourceUrlFlag, targetUrlFlag } from './flags.js';

const USAGE = `Usage: npm run bench -- [--rows 1000000] [--runs 1] [--chunk-rows N] [--concurrency N]
                       [--source mysql://root@127.0.0.1:3306/test] [--target postgres://root@127.0.0.1:5432/test]`;

const TABLE = 'bench_users';
const PIPE_TABLE = 'bench_users_pipe';
const PGLOADER_SCHEMA = 'bench_pgloader';

const BENCH_FLAGS = {
  rows: z.coerce.number().int().positive().default(1_000_000),
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
  /** Rows the path's target holds. */
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
    const message = output
      .trim()
      .split('\n')
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

export async function main(argv: string[]): Promise<number> {
  let flags: Flags;
  try {
    flags = parseFlags(argv, BENCH_FLAGS).flags;
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
  const source = await openSource(sourceEndpoint);
  const target = await openTarget(targetEndpoint);
  // GNU time's reports and pgloader's command file (it holds the URLs, so only the owner reads it).
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'bench-'));
  try {
    const machine = await describeMachine(source, target, { mariadb, psql, pgloader });
    const load = os.loadavg();
    console.error(`Seeding ${flags.rows} rows into ${TABLE}...`);
    const seeding = performance.now();
    await seedUsers(source, { table: TABLE, rows: flags.rows });
    console.error(`Seeded in ${((performance.now() - seeding) / 1000).toFixed(1)} s`);
    const description = await describeSourceTable(source, TABLE);
    // Every local run but the first after an edit finds the synthesized workflow cached; so do these.
    await loadWorkflow();

    const countTarget = (qualified: string) => async () =>
      Number((await target.query<{ n: string }>(`SELECT count(*) AS n FROM ${qualified}`)).rows[0]!.n);
    const workflowTable = `${quotePg(TARGET_SCHEMA)}.${quotePg(TABLE)}`;
    const dropWorkflowTable = async () => void (await target.query(`DROP TABLE IF EXISTS ${workflowTable}`));
    const migrate = (verify: boolean) => [
      process.execPath,
      '--import',
      'tsx',
      'infra/cli/migrate.ts',
      '--source',
      flags.source,
      '--target',
      flags.target,
      '--table',
      TABLE,
      '--json',
      ...(flags['chunk-rows'] ? ['--chunk-rows', String(flags['chunk-rows'])] : []),
      ...(flags.concurrency ? ['--concurrency', String(flags.concurrency)] : []),
      ...(verify ? [] : ['--no-verify']),
    ];
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
        unavailable: mariadb && psql ? undefined : 'needs the mariadb (or mysql) and psql clients',
        prepare: async () => {
          await target.query(`DROP TABLE IF EXISTS ${quotePg(TARGET_SCHEMA)}.${quotePg(PIPE_TABLE)}`);
          await target.query(createTableSql({ ...description, table: PIPE_TABLE }, TARGET_SCHEMA).sql);
        },
        commands: () => rawPipe(description, sourceEndpoint, targetEndpoint, mariadb!, psql!),
        count: countTarget(`${quotePg(TARGET_SCHEMA)}.${quotePg(PIPE_TABLE)}`),
      },
      {
        name: 'workflow, verified',
        rows: flags.rows,
        prepare: dropWorkflowTable,
        commands: () => [migrate(true)],
        count: countTarget(workflowTable),
      },
      {
        name: 'workflow, not verified',
        rows: flags.rows,
        prepare: dropWorkflowTable,
        commands: () => [migrate(false)],
        count: countTarget(workflowTable),
      },
      {
        name: 'pgloader',
        rows: flags.rows,
        unavailable: pgloader ? undefined : 'pgloader is not installed (Debian: apt-get install pgloader)',
        prepare: async () => void (await target.query(`DROP SCHEMA IF EXISTS ${quotePg(PGLOADER_SCHEMA)} CASCADE`)),
        commands: () => [[pgloader!, loadFile(workDir, flags, sourceEndpoint)]],
        count: countTarget(`${quotePg(PGLOADER_SCHEMA)}.${quotePg(TABLE)}`),
        around: (work) => keepingSearchPath(target, work),
      },
    ];
    const rangeRows = Math.max(1, Math.floor(flags.rows / 10));
    const ranges: Path[] = [
      {
        name: `one CopyRange of ${rangeRows} rows`,
        rows: rangeRows,
        prepare: async () => {
          await seedUsers(source, { table: `${TABLE}_small`, rows: rangeRows });
          await target.query(`DROP TABLE IF EXISTS ${quotePg(TARGET_SCHEMA)}.${quotePg(`${TABLE}_small`)}`);
        },
        commands: () => [oneRange(`${TABLE}_small`)],
        count: countTarget(`${quotePg(TARGET_SCHEMA)}.${quotePg(`${TABLE}_small`)}`),
      },
      {
        name: `one CopyRange of ${flags.rows} rows`,
        rows: flags.rows,
        prepare: dropWorkflowTable,
        commands: () => [oneRange(TABLE)],
        count: countTarget(workflowTable),
      },
    ];

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
    for (let i = 0; i < flags.runs; i++) for (const item of paths) await run(item);
    for (const item of ranges) await run(item);

    await source.promise().query(`DROP TABLE IF EXISTS ${quoteMysql(TABLE)}, ${quoteMysql(`${TABLE}_small`)}`);
    for (const table of [PIPE_TABLE, TABLE, `${TABLE}_small`])
      await target.query(`DROP TABLE IF EXISTS ${quotePg(TARGET_SCHEMA)}.${quotePg(table)}`);
    await target.query(`DROP SCHEMA IF EXISTS ${quotePg(PGLOADER_SCHEMA)} CASCADE`);

    console.log(report(flags, machine, [load, os.loadavg()], paths, ranges, results, time !== null));
    return [...results.values()].some((result) => result.failure) ? 1 : 0;
  } finally {
    rmSync(workDir, { recursive: true, force: true });
    await Promise.all([closeSource(source), closeTarget(target)]);
  }
}

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
  const select = `SET time_zone = '+00:00'; SELECT ${columns.map(quoteMysql).join(', ')} FROM ${quoteMysql(description.table)} ORDER BY ${quoteMysql(description.primaryKey)}`;
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

/** pgloader with its defaults, the table alone, into a schema of its own. */
function loadFile(dir: string, flags: Flags, source: Endpoint): string {
  const file = path.join(dir, 'users.load');
  writeFileSync(
    file,
    `LOAD DATABASE
       FROM ${flags.source}
       INTO ${flags.target.replace(/^postgres:/, 'postgresql:')}
       INCLUDING ONLY TABLE NAMES MATCHING '${TABLE}'
       ALTER SCHEMA '${source.database}' RENAME TO '${PGLOADER_SCHEMA}';\n`,
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
  flags: Flags,
  machine: Machine,
  loads: number[][],
  paths: Path[],
  ranges: Path[],
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
  const baseline = fastest(paths[0]!)?.seconds;
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
  const defaults = stackConfigSchema.parse({});
  return [
    `${flags.rows.toLocaleString('en-US')} rows, ${flags.runs} run${flags.runs > 1 ? 's' : ''} per path (the fastest shown${flags.runs > 1 ? ', fastest to slowest in brackets' : ''}); ` +
      `workflow: ${flags['chunk-rows'] ?? defaults.chunkRows} rows per range, concurrency ${flags.concurrency ?? defaults.concurrency}`,
    `machine: ${machine.cpus} CPUs, ${machine.memoryGiB} GiB; load average ${loads.map((l) => l.map((v) => v.toFixed(2)).join(' ')).join(' before, ')} after`,
    ...Object.entries(machine.versions).map(([name, version]) => `  ${name}: ${version}`),
    '',
    '| path | seconds | rows/s | vs raw pipe | peak RSS | client CPU s |',
    '|---|---:|---:|---:|---:|---:|',
    ...paths.map(line),
    ...ranges.map(line),
    '',
    "client CPU: user + system seconds of the path's own processes (the servers' work is not in it).",
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
