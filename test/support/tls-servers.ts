import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { setTimeout } from 'node:timers/promises';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import pg from 'pg';

/**
 * Throwaway TLS servers for the TLS tests, made from the PostgreSQL and MariaDB server packages
 * the machine has (the same Debian packages as the shared servers): a private CA made with
 * openssl, a server certificate for `localhost` and `::1` (and not 127.0.0.1, so that address is
 * a wrong host name), a PostgreSQL and a MariaDB in a temporary folder on free ports, listening on
 * the loopback addresses only. Each starts either TLS-only or without TLS at all. A user
 * `migrator` with a random password owns a database `shop` on each.
 */

const exec = promisify(execFile);
// Every command and wait below is bounded: a server that does not come up fails the suite's setup.
const COMMAND_MS = 60_000;
const READY_MS = 30_000;
const STOP_MS = 20_000;

export type ServerMode = 'tls-only' | 'plain';

export interface Certificates {
  /** The CA that signed the servers' certificate. */
  ca: string;
  /** A CA that signed nothing of theirs. */
  wrongCa: string;
  cert: string;
  key: string;
}

const MISSING = (what: string) =>
  new Error(
    `The TLS tests start their own servers and need ${what}: install the Debian packages postgresql, mariadb-server and openssl`,
  );

async function run(command: string, args: string[], options: { uid?: number; gid?: number } = {}): Promise<string> {
  const { stdout } = await exec(command, args, { timeout: COMMAND_MS, ...options });
  return stdout;
}

async function found(command: string, also: string[] = []): Promise<string> {
  for (const candidate of also) if (existsSync(candidate)) return candidate;
  try {
    return (await run('sh', ['-c', `command -v ${command}`])).trim();
  } catch {
    throw MISSING(command);
  }
}

/** A TCP port free on the loopback addresses now. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Tries `attempt` until it succeeds, the process it waits for dies, or the deadline passes. */
async function waitUntilReady(what: string, child: ChildProcess, log: string, attempt: () => Promise<void>) {
  const deadline = Date.now() + READY_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`${what} exited at start: ${readFileSync(log, 'utf8').slice(-2_000)}`);
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(`${what} was not ready within ${READY_MS} ms: ${(error as Error).message}`);
      await setTimeout(100);
    }
  }
}

const running = new Set<ChildProcess>();
// A test process that ends without its after hooks (an uncaught error) still takes its servers with it.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Keeps the server's process for {@link stopProcess}, and for the exit above. */
function started(child: ChildProcess): ChildProcess {
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

async function stopProcess(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  const timer = setTimeout(STOP_MS).then(() => 'late');
  if ((await Promise.race([exited, timer])) === 'late') {
    child.kill('SIGKILL');
    await exited;
  }
}

/** The folder, certificates and account the servers run with. */
export class TlsServers {
  readonly password = `Tls ${randomUUID()} p@ss:w/rd`;
  readonly postgres: ThrowawayPostgres;
  readonly mariadb: ThrowawayMariadb;

  private constructor(
    readonly dir: string,
    readonly certificates: Certificates,
    owner: { uid: number; gid: number } | null,
  ) {
    this.postgres = new ThrowawayPostgres(dir, certificates, owner, this.password);
    this.mariadb = new ThrowawayMariadb(dir, certificates, this.password);
  }

  /** Makes the certificates and both servers' data folders; starts nothing. */
  static async create(): Promise<TlsServers> {
    const dir = mkdtempSync(path.join(tmpdir(), 'tls-servers-'));
    try {
      // PostgreSQL refuses to run as root: as root, it runs as the package's postgres account.
      const owner = process.getuid?.() === 0 ? await account('postgres') : null;
      if (owner) chmodSync(dir, 0o755);
      const servers = new TlsServers(dir, await makeCertificates(dir, owner), owner);
      await Promise.all([servers.postgres.init(), servers.mariadb.init()]);
      return servers;
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  async start(mode: ServerMode): Promise<void> {
    await Promise.all([this.postgres.start(mode), this.mariadb.start(mode)]);
  }

  async stop(): Promise<void> {
    await Promise.all([this.postgres.stop(), this.mariadb.stop()]);
  }

  async remove(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function account(name: string): Promise<{ uid: number; gid: number }> {
  try {
    const [uid, gid] = await Promise.all([run('id', ['-u', name]), run('id', ['-g', name])]);
    return { uid: Number(uid), gid: Number(gid) };
  } catch {
    throw MISSING(`the ${name} account (PostgreSQL does not run as root)`);
  }
}

async function makeCertificates(dir: string, owner: { uid: number; gid: number } | null): Promise<Certificates> {
  const openssl = await found('openssl');
  const file = (name: string) => path.join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = (name: string) =>
    run(openssl, [
      'req',
      '-x509',
      ...ec,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-keyout',
      file(`${name}.key`),
      '-out',
      file(`${name}.pem`),
    ]);
  await Promise.all([ca('test-ca'), ca('wrong-ca')]);
  await run(openssl, [
    'req',
    ...ec,
    '-subj',
    '/CN=localhost',
    '-keyout',
    file('server.key'),
    '-out',
    file('server.csr'),
  ]);
  writeFileSync(
    file('server.ext'),
    'subjectAltName=DNS:localhost,IP:::1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n',
  );
  await run(openssl, [
    'x509',
    '-req',
    '-in',
    file('server.csr'),
    '-CA',
    file('test-ca.pem'),
    '-CAkey',
    file('test-ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    file('server.ext'),
    '-out',
    file('server.pem'),
  ]);
  // PostgreSQL wants its key readable by its own account only.
  if (owner) chownSync(file('server.key'), owner.uid, owner.gid);
  return { ca: file('test-ca.pem'), wrongCa: file('wrong-ca.pem'), cert: file('server.pem'), key: file('server.key') };
}

/** A PostgreSQL cluster of its own: `root` (trust, over its socket only) administers it. */
export class ThrowawayPostgres {
  port = 0;
  private child: ChildProcess | undefined;
  private readonly data: string;
  private readonly socketDir: string;
  private bin = '';

  constructor(
    dir: string,
    private readonly certificates: Certificates,
    private readonly owner: { uid: number; gid: number } | null,
    private readonly password: string,
  ) {
    this.socketDir = path.join(dir, 'postgres');
    this.data = path.join(this.socketDir, 'data');
  }

  async init(): Promise<void> {
    this.bin = await postgresBin();
    mkdirSync(this.socketDir, { mode: 0o700 });
    if (this.owner) chownSync(this.socketDir, this.owner.uid, this.owner.gid);
    await run(
      path.join(this.bin, 'initdb'),
      ['-D', this.data, '-U', 'root', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync'],
      this.owner ?? {},
    );
  }

  async start(mode: ServerMode): Promise<void> {
    await this.stop();
    this.port ||= await freePort();
    // Password logins over TCP: with TLS only (hostssl), or plain text only (hostnossl).
    const hba = path.join(this.socketDir, `pg_hba_${mode}.conf`);
    const host = mode === 'tls-only' ? 'hostssl' : 'hostnossl';
    writeFileSync(
      hba,
      `local all all trust\n${host} all all 127.0.0.1/32 scram-sha-256\n${host} all all ::1/128 scram-sha-256\n`,
    );
    if (this.owner) chownSync(hba, this.owner.uid, this.owner.gid);
    const log = path.join(this.socketDir, 'server.log');
    const settings = {
      listen_addresses: '127.0.0.1,::1',
      unix_socket_directories: this.socketDir,
      hba_file: hba,
      ssl: mode === 'tls-only' ? 'on' : 'off',
      ssl_cert_file: this.certificates.cert,
      ssl_key_file: this.certificates.key,
      fsync: 'off',
    };
    const output = openSync(log, 'a');
    this.child = started(
      spawn(
        path.join(this.bin, 'postgres'),
        [
          '-D',
          this.data,
          '-p',
          String(this.port),
          ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
        ],
        { stdio: ['ignore', output, output], ...(this.owner ?? {}) },
      ),
    );
    closeSync(output);
    await waitUntilReady('The throwaway PostgreSQL', this.child, log, async () => {
      await this.admin(async (client) => {
        await client.query('SELECT 1');
      });
    });
    await this.admin(async (client) => {
      const { rowCount } = await client.query("SELECT 1 FROM pg_roles WHERE rolname = 'migrator'");
      if (rowCount) return;
      await client.query(`CREATE ROLE migrator LOGIN PASSWORD '${this.password.replace(/'/g, "''")}'`);
      await client.query('CREATE DATABASE shop OWNER migrator');
    });
  }

  /** Runs `work` as the cluster's superuser, over the socket, in the `shop` database once it exists. */
  async admin<T>(work: (client: pg.Client) => Promise<T>, database = 'postgres'): Promise<T> {
    const client = new pg.Client({ host: this.socketDir, port: this.port, user: 'root', database });
    client.on('error', () => {});
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  }

  async stop(): Promise<void> {
    // SIGINT: PostgreSQL's fast shutdown.
    await stopProcess(this.child, 'SIGINT');
    this.child = undefined;
  }
}

async function postgresBin(): Promise<string> {
  try {
    return (await run('pg_config', ['--bindir'])).trim();
  } catch {
    const root = '/usr/lib/postgresql';
    const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
    const bin = versions.map((v) => path.join(root, v, 'bin')).find((dir) => existsSync(path.join(dir, 'initdb')));
    if (!bin) throw MISSING('initdb and postgres');
    return bin;
  }
}

/** A MariaDB server of its own: `root` (no password, over its socket) administers it. */
export class ThrowawayMariadb {
  port = 0;
  private child: ChildProcess | undefined;
  private readonly data: string;
  private readonly socket: string;

  constructor(
    private readonly dir: string,
    private readonly certificates: Certificates,
    private readonly password: string,
  ) {
    this.data = path.join(dir, 'mariadb');
    this.socket = path.join(dir, 'mariadb.sock');
  }

  async init(): Promise<void> {
    const install = await found('mariadb-install-db', ['/usr/bin/mariadb-install-db']);
    await run(install, [
      '--no-defaults',
      `--datadir=${this.data}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      ...(process.getuid?.() === 0 ? ['--user=root'] : []),
    ]);
  }

  async start(mode: ServerMode): Promise<void> {
    await this.stop();
    this.port ||= await freePort();
    const server = await found('mariadbd', ['/usr/sbin/mariadbd']);
    const log = path.join(this.dir, 'mariadb.log');
    const tls =
      mode === 'tls-only'
        ? [
            `--ssl-ca=${this.certificates.ca}`,
            `--ssl-cert=${this.certificates.cert}`,
            `--ssl-key=${this.certificates.key}`,
            '--require-secure-transport=ON',
          ]
        : [];
    this.child = started(
      spawn(
        server,
        [
          '--no-defaults',
          `--datadir=${this.data}`,
          `--port=${this.port}`,
          '--bind-address=127.0.0.1,::1',
          `--socket=${this.socket}`,
          `--pid-file=${path.join(this.dir, 'mariadb.pid')}`,
          `--log-error=${log}`,
          // Users are matched by address, not by a name the address resolves to.
          '--skip-name-resolve',
          '--skip-log-bin',
          '--innodb-buffer-pool-size=32M',
          ...(process.getuid?.() === 0 ? ['--user=root'] : []),
          ...tls,
        ],
        { stdio: 'ignore' },
      ),
    );
    writeFileSync(log, '', { flag: 'a' });
    await waitUntilReady('The throwaway MariaDB', this.child, log, () => this.admin(async () => {}));
    const password = this.password.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
    await this.admin(async (db) => {
      await db.query('CREATE DATABASE IF NOT EXISTS shop');
      for (const host of ['127.0.0.1', '::1']) {
        await db.query(`CREATE USER IF NOT EXISTS 'migrator'@'${host}' IDENTIFIED BY '${password}'`);
        await db.query(`GRANT ALL ON shop.* TO 'migrator'@'${host}'`);
      }
    });
  }

  /** Runs `work` as root over the socket. */
  async admin<T>(work: (db: mysql.Connection) => Promise<T>): Promise<T> {
    const db = await mysql.createConnection({ socketPath: this.socket, user: 'root', database: 'mysql' });
    try {
      return await work(db);
    } finally {
      db.destroy();
    }
  }

  async stop(): Promise<void> {
    await stopProcess(this.child, 'SIGTERM');
    this.child = undefined;
  }
}
