import { readFileSync } from 'node:fs';
import { isIP, type Socket } from 'node:net';
import { checkServerIdentity, type TLSSocket } from 'node:tls';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import mysql from 'mysql2';
import pg from 'pg';
// zod's mini build: every function bundles this module, and the full build is hundreds of kilobytes.
import * as z from 'zod/mini';
import { classifyDatabaseError, InputValidationError } from './errors.js';

/**
 * How a connection is secured. `verify-full` checks the server's certificate against the CA bundle
 * and its host name; `require` encrypts but trusts any certificate; `off` is plain text (local
 * servers). With either TLS mode a server without TLS is refused, never silently used in plain text.
 */
export const TLS_MODES = ['verify-full', 'require', 'off'] as const;
export type TlsMode = (typeof TLS_MODES)[number];

export interface TlsSettings {
  mode: TlsMode;
  /** PEM certificates to trust instead of Node's public roots (e.g. the RDS global bundle). */
  ca?: string;
}

/** Where a database is and who to log in as. Never logged, never put in a payload or an error. */
export interface Endpoint {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  tls?: TlsSettings;
}

type Side = 'source' | 'target';

/** One invocation's connections: the mysql2 connection (callback API, for streaming) and a pg client. */
export interface ConnectionPair {
  source: mysql.Connection;
  target: pg.Client;
}

const DEFAULT_PORTS = { source: 3306, target: 5432 } as const;

/** The TLS words a URL may carry, libpq's (`?sslmode=verify-full&sslrootcert=ca.pem`), on either database's URL. */
const URL_TLS_MODES: Record<string, TlsMode> = { disable: 'off', require: 'require', 'verify-full': 'verify-full' };
const URL_PARAMETERS = ['sslmode', 'sslrootcert'];

/**
 * Parses `mysql://user:pass@host:port/db` or `postgres://...` (the scheme must match the side; an
 * IPv6 host in brackets, `[::1]`) with the TLS settings the URL and the environment give together.
 */
export function endpointFromUrl(url: string, side: Side, env: NodeJS.ProcessEnv = process.env): Endpoint {
  const schemes = side === 'source' ? ['mysql:', 'mariadb:'] : ['postgres:', 'postgresql:'];
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InputValidationError(
      `"${side}" is not a URL: expected ${schemes[0]}//user[:password]@host[:port]/database`,
    );
  }
  if (!schemes.includes(parsed.protocol)) {
    throw new InputValidationError(
      `"${side}" must start with ${schemes.map((s) => `${s}//`).join(' or ')}, not ${parsed.protocol}//`,
    );
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!database) throw new InputValidationError(`"${side}" names no database: add /database to the URL`);
  return {
    // URL keeps an IPv6 address in its brackets; the drivers take the bare address.
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: Number(parsed.port || DEFAULT_PORTS[side]),
    user: decodeURIComponent(parsed.username || (side === 'source' ? 'root' : 'postgres')),
    password: decodeURIComponent(parsed.password),
    database,
    tls: tlsSettings(side, env, urlTls(parsed, side)),
  };
}

/** What the URL's query says about TLS; any other parameter is refused rather than ignored. */
function urlTls(url: URL, side: Side): { mode?: TlsMode; ca?: string; said?: string } {
  const unknown = [...url.searchParams.keys()].filter((name) => !URL_PARAMETERS.includes(name));
  if (unknown.length > 0) {
    throw new InputValidationError(
      `"${side}" URL has ${unknown.join(', ')}, which this tool does not read: it takes only ${URL_PARAMETERS.join(' and ')}`,
    );
  }
  const said = url.searchParams.get('sslmode') ?? undefined;
  const mode = said === undefined ? undefined : URL_TLS_MODES[said];
  if (said !== undefined && !mode) {
    throw new InputValidationError(
      `"${side}" URL has sslmode=${said}: use one of ${Object.keys(URL_TLS_MODES).join(', ')} ` +
        '(a mode that may fall back to plain text, or checks the certificate but not the host name, is not offered)',
    );
  }
  const ca = url.searchParams.get('sslrootcert') ?? undefined;
  return { ...(mode ? { mode, said } : {}), ...(ca ? { ca } : {}) };
}

// The standard JSON of an RDS (or RDS-shaped) Secrets Manager secret. The secret RDS manages for
// a master password holds only username and password: host and database then come from context.
const rdsSecretSchema = z.object({
  host: z.optional(z.string().check(z.minLength(1))),
  port: z.optional(z.coerce.number().check(z.int(), z.positive())),
  username: z.string().check(z.minLength(1)),
  password: z.string(),
  dbname: z.optional(z.string().check(z.minLength(1))),
});

type RdsSecret = z.infer<typeof rdsSecretSchema>;

// Long enough that warm invocations skip Secrets Manager, short enough to pick up a rotation.
const SECRET_TTL_MS = 5 * 60_000;
const secretCache = new Map<string, { secret: Promise<RdsSecret>; expires: number }>();
let secretsManager: SecretsManagerClient | undefined;

/** Reads an RDS secret, cached for a few minutes so warm invocations do not call Secrets Manager again. */
function readRdsSecret(secretId: string, side: 'source' | 'target'): Promise<RdsSecret> {
  const cached = secretCache.get(secretId);
  if (cached && cached.expires > Date.now()) return cached.secret;
  secretsManager ??= new SecretsManagerClient({});
  const secret = secretsManager
    .send(new GetSecretValueCommand({ SecretId: secretId }))
    .then(({ SecretString }) => parseRdsSecret(SecretString, side));
  secret.catch(() => secretCache.delete(secretId));
  secretCache.set(secretId, { secret, expires: Date.now() + SECRET_TTL_MS });
  return secret;
}

/**
 * Parses the secret's JSON. Neither JSON.parse's message (it quotes the text) nor zod's issues
 * (they echo values) may escape: the error names only the side and the expected shape.
 */
export function parseRdsSecret(text: string | undefined, side: 'source' | 'target'): RdsSecret {
  let json: unknown;
  try {
    json = JSON.parse(text ?? '');
  } catch {
    json = undefined;
  }
  const parsed = rdsSecretSchema.safeParse(json);
  if (!parsed.success) {
    throw new InputValidationError(
      `The ${side} secret is not RDS secret JSON (username, password; host, port, dbname)`,
    );
  }
  return parsed.data;
}

/**
 * One side's endpoint of this process: in Lambda from the Secrets Manager secret the stack names
 * (SOURCE_SECRET_ID, TARGET_SECRET_ID), locally from SOURCE_URL or TARGET_URL. SOURCE_HOST /
 * TARGET_HOST replace the host (an RDS Proxy endpoint in front of the database), SOURCE_TLS /
 * TARGET_TLS choose the TLS mode (off when unset) and DATABASE_CA_BUNDLE names the PEM files of
 * the certificates to trust. Nothing of the other side is read.
 */
export async function endpointFromEnvironment(name: Side, env: NodeJS.ProcessEnv = process.env): Promise<Endpoint> {
  const prefix = name.toUpperCase();
  const host = env[`${prefix}_HOST`] || undefined;
  const secretId = env[`${prefix}_SECRET_ID`];
  if (secretId) {
    const tls = tlsFromEnvironment(env, name);
    const secret = await readRdsSecret(secretId, name);
    const database = env[`${prefix}_DATABASE`] || secret.dbname;
    if (!database) throw new InputValidationError(`The ${name} secret has no dbname and no ${prefix}_DATABASE is set`);
    const secretHost = host ?? secret.host;
    if (!secretHost) throw new InputValidationError(`The ${name} secret has no host and no ${prefix}_HOST is set`);
    const port = secret.port ?? DEFAULT_PORTS[name];
    return { host: secretHost, port, user: secret.username, password: secret.password, database, tls };
  }
  const url = env[`${prefix}_URL`];
  if (url) {
    const endpoint = endpointFromUrl(url, name, env);
    return { ...endpoint, host: host ?? endpoint.host };
  }
  throw new InputValidationError(
    `No ${name} database configured: set ${prefix}_SECRET_ID (in AWS) or ${prefix}_URL (locally)`,
  );
}

const caBundles = new Map<string, string>();

/** The TLS settings of one side from the environment (SOURCE_TLS / TARGET_TLS, DATABASE_CA_BUNDLE). */
export function tlsFromEnvironment(env: NodeJS.ProcessEnv, side: Side): TlsSettings {
  return tlsSettings(side, env, {});
}

/**
 * One side's TLS settings: the URL's `sslmode` and `sslrootcert`, and the environment's
 * `<SIDE>_TLS` and `DATABASE_CA_BUNDLE` (which the commands' `--source-tls`, `--target-tls` and
 * `--ca-bundle` set). Either may give each; when both do and they differ, the connection is
 * refused rather than one silently winning. Off when neither says. The CA files are read once per
 * process, and only for verify-full.
 */
function tlsSettings(
  side: Side,
  env: NodeJS.ProcessEnv,
  url: { mode?: TlsMode; ca?: string; said?: string },
): TlsSettings {
  const name = `${side.toUpperCase()}_TLS`;
  const given = env[name] || undefined;
  if (given !== undefined && !(TLS_MODES as readonly string[]).includes(given)) {
    throw new InputValidationError(`${name} must be one of ${TLS_MODES.join(', ')}, not ${given}`);
  }
  if (url.mode && given && url.mode !== given) {
    throw new InputValidationError(
      `"${side}" URL says sslmode=${url.said} but ${name} (--${side}-tls) says ${given}: give the TLS mode once, or the same in both`,
    );
  }
  const mode = url.mode ?? (given as TlsMode | undefined) ?? 'off';
  const bundle = env.DATABASE_CA_BUNDLE || undefined;
  if (url.ca && mode !== 'verify-full') {
    throw new InputValidationError(
      `"${side}" URL has sslrootcert, which only verify-full uses, but its TLS mode is ${mode}: use sslmode=verify-full or drop sslrootcert`,
    );
  }
  if (url.ca && bundle && url.ca !== bundle) {
    throw new InputValidationError(
      `"${side}" URL has sslrootcert=${url.ca} but DATABASE_CA_BUNDLE (--ca-bundle) is ${bundle}: give the CA file once, or the same in both`,
    );
  }
  const path = url.ca ?? bundle;
  if (mode !== 'verify-full' || !path) return { mode };
  let ca = caBundles.get(path);
  if (ca === undefined) {
    // DATABASE_CA_BUNDLE may name several files, separated by ':' as in PATH (an RDS bundle and the
    // roots an RDS Proxy's certificate chains to), all trusted; a URL's sslrootcert names one, as in libpq.
    const files = url.ca ? [url.ca] : path.split(':');
    ca = files
      .map((file) => {
        try {
          return readFileSync(file, 'utf8');
        } catch {
          const from = url.ca ? `"${side}" URL's sslrootcert` : 'DATABASE_CA_BUNDLE';
          throw new InputValidationError(
            `${from} names ${file}, which cannot be read: ship the PEM file with the function or unset it`,
          );
        }
      })
      .join('\n');
    caBundles.set(path, ca);
  }
  return { mode, ca };
}

/**
 * The driver's TLS options (mysql2's `ssl` and pg's `ssl` take the same shape; pg ignores
 * `verifyIdentity` because Node's TLS always checks the host name when it rejects unauthorized).
 */
export function driverTlsOptions(
  tls: TlsSettings | undefined,
): { rejectUnauthorized: boolean; verifyIdentity: boolean; ca?: string } | undefined {
  if (!tls || tls.mode === 'off') return undefined;
  if (tls.mode === 'require') return { rejectUnauthorized: false, verifyIdentity: false };
  return { rejectUnauthorized: true, verifyIdentity: true, ...(tls.ca ? { ca: tls.ca } : {}) };
}

/**
 * Opens the MySQL side. Every value arrives as text (binary columns as bytes) so nothing is
 * rounded or shifted by a JavaScript type on the way, and TIMESTAMP values are read in UTC.
 */
export async function openSource(endpoint: Endpoint): Promise<mysql.Connection> {
  const connection = mysql.createConnection({
    host: endpoint.host,
    port: endpoint.port,
    user: endpoint.user,
    password: endpoint.password,
    database: endpoint.database,
    ssl: driverTlsOptions(endpoint.tls),
    charset: 'utf8mb4_unicode_ci',
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
    connectTimeout: 10_000,
    enableKeepAlive: true,
    keepAliveInitialDelay: KEEPALIVE_MS,
  });
  // A connection lost while no callback waits (between queries, or under a streamed query) must not crash
  // the process; the stream that reads from it listens for the error itself.
  connection.on('error', () => {});
  try {
    await new Promise<void>((resolve, reject) => connection.connect((error) => (error ? reject(error) : resolve())));
    checkAddressIdentity(connection, endpoint);
    watchSilence(sourceSocket(connection), () => sourceAwaitsReply(connection));
    refuseQueriesOnceClosed(connection);
    await connection.promise().query("SET time_zone = '+00:00'");
  } catch (error) {
    connection.destroy();
    throw classifyDatabaseError(error, 'source');
  }
  return connection;
}

/**
 * mysql2 checks the certificate of a server reached by IP address against the name "localhost"
 * (Node's fallback when it is given no host name), so under verify-full the address itself is
 * checked here, before the connection is used.
 */
function checkAddressIdentity(connection: mysql.Connection, endpoint: Endpoint): void {
  if (endpoint.tls?.mode !== 'verify-full' || !isIP(endpoint.host)) return;
  const socket = (connection as unknown as { stream: TLSSocket }).stream;
  const mismatch = checkServerIdentity(endpoint.host, socket.getPeerCertificate());
  if (mismatch) throw mismatch;
}

export async function openTarget(endpoint: Endpoint): Promise<pg.Client> {
  const client = new pg.Client({
    host: endpoint.host,
    port: endpoint.port,
    user: endpoint.user,
    password: endpoint.password,
    database: endpoint.database,
    ssl: driverTlsOptions(endpoint.tls) ?? false,
    application_name: 'mysql-to-postgres',
    connectionTimeoutMillis: 10_000,
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_MS,
  });
  // A server-side disconnect while idle must not crash the process; the next query reports it.
  client.on('error', () => {});
  try {
    await client.connect();
    watchSilence(targetSocket(client), () => targetAwaitsReply(client));
    // Fixed output styles, whatever the server's defaults: verification compares this text. The
    // server also gives up on this session once its client is gone (keepalives), and never keeps
    // a transaction open for a client that stopped talking: its locks would block the range's retry.
    await client.query(
      "SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'; SET bytea_output = 'hex'; SET extra_float_digits = 3; SET IntervalStyle = 'postgres'; " +
        `SET tcp_keepalives_idle = ${KEEPALIVE_MS / 1000}; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3; ` +
        `SET idle_in_transaction_session_timeout = ${IDLE_IN_TRANSACTION_MS}`,
    );
  } catch (error) {
    await client.end().catch(() => {});
    throw classifyDatabaseError(error, 'target');
  }
  return client;
}

const CLOSE_GRACE_MS = 1_000;

/** Says goodbye to the server when it still listens; a broken connection is just dropped. */
export async function closeSource(connection: mysql.Connection): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, CLOSE_GRACE_MS);
    connection.end(() => {
      clearTimeout(timer);
      resolve();
    });
  });
  connection.destroy();
}

/** As {@link closeSource}: `end()` waits for a server that may never answer, so it gets a grace period, then the socket goes. */
export async function closeTarget(client: pg.Client): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    client.end().catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CLOSE_GRACE_MS);
    }),
  ]);
  clearTimeout(timer);
  targetSocket(client).destroy();
}

/**
 * Opens both sides from their URLs (commands and tests; functions open theirs through the
 * connection-pair middleware). When one side cannot be opened, the other is closed again.
 */
export async function openPairFromUrls(sourceUrl: string, targetUrl: string): Promise<ConnectionPair> {
  const [source, target] = await Promise.allSettled([
    openSource(endpointFromUrl(sourceUrl, 'source')),
    openTarget(endpointFromUrl(targetUrl, 'target')),
  ]);
  if (source.status === 'fulfilled' && target.status === 'fulfilled')
    return { source: source.value, target: target.value };
  if (source.status === 'fulfilled') await closeSource(source.value);
  if (target.status === 'fulfilled') await closeTarget(target.value);
  throw source.status === 'rejected' ? source.reason : (target as PromiseRejectedResult).reason;
}

/** Closes both sides of a pair, each as {@link closeSource} and {@link closeTarget} do. */
export async function closePair(pair: ConnectionPair): Promise<void> {
  await Promise.all([closeSource(pair.source), closeTarget(pair.target)]);
}

/**
 * Drops a pair's connections at once, without a word to the servers: after one side of a range
 * failed, the other side's query (a stream still sending rows, a cursor waiting to be read) must
 * not go on, and neither connection is used again by the invocation.
 */
export function abandonPair(pair: Partial<ConnectionPair>): void {
  pair.source?.destroy();
  if (pair.target) targetSocket(pair.target).destroy();
}

/** How long TCP waits on an idle connection before it checks, with keepalive probes, that the peer is still there. */
const KEEPALIVE_MS = 10_000;
/** The target ends a session whose client left a transaction open and silent this long. */
const IDLE_IN_TRANSACTION_MS = 5 * 60_000;

/**
 * How long a database may stay silent while a reply is awaited before its connection is given up
 * as dead (the peer killed or unreachable, the socket still open): DATABASE_SILENCE_MS, 30 s by
 * default. Every statement the tool sends (a range's DELETE or COPY, a ledger write) answers well
 * within it; a network that dropped the connection without a word would otherwise hold the
 * invocation until Lambda's own timeout.
 */
export function silenceLimitMs(env: NodeJS.ProcessEnv = process.env): number {
  const given = env.DATABASE_SILENCE_MS;
  if (given === undefined || given === '') return DEFAULT_SILENCE_MS;
  const ms = Number(given);
  if (!Number.isInteger(ms) || ms <= 0) {
    throw new InputValidationError(`DATABASE_SILENCE_MS must be a positive whole number of milliseconds, not ${given}`);
  }
  return ms;
}

const DEFAULT_SILENCE_MS = 30_000;

/** The error a connection given up as silent fails with: ETIMEDOUT, which is classified transient. */
export function silenceError(what: string, ms: number): Error {
  return Object.assign(new Error(`${what} for ${ms / 1000} s: the connection is given up as dead`), {
    code: 'ETIMEDOUT',
  });
}

/**
 * Destroys the socket when it has been silent for the limit while the driver awaits a reply; a
 * silence that is the tool's own (nothing asked, or the tool not reading) is not held against it.
 * The socket's error then fails whatever waits on the connection.
 */
function watchSilence(socket: Socket, awaitsReply: () => boolean): void {
  const limit = () => silenceAllowed.get(socket) ?? silenceLimitMs();
  socket.setTimeout(limit());
  socket.on('timeout', () => {
    if (!awaitsReply()) {
      socket.setTimeout(limit());
      return;
    }
    socket.destroy(silenceError('the database sent nothing while a reply was awaited', limit()));
  });
}

/** Longer silence limits granted to a connection for the statement it is running. */
const silenceAllowed = new WeakMap<Socket, number>();

/**
 * Runs a statement the server may work on for minutes without a word (an index build, a foreign
 * key's validation) with the target connection's silence limit raised to `ms` for its duration.
 */
export async function allowingTargetSilence<T>(client: pg.Client, ms: number, work: () => Promise<T>): Promise<T> {
  const socket = targetSocket(client);
  silenceAllowed.set(socket, ms);
  socket.setTimeout(ms);
  try {
    return await work();
  } finally {
    silenceAllowed.delete(socket);
    socket.setTimeout(silenceLimitMs());
  }
}

/**
 * mysql2 refuses a new query at once on a connection that failed with a socket error, but one the
 * server closed (`KILL CONNECTION`, a restart) takes the query and never answers it: such a
 * connection refuses queries too, with the error it was lost with.
 */
function refuseQueriesOnceClosed(connection: mysql.Connection): void {
  const internals = connection as unknown as {
    addCommand: unknown;
    _addCommandClosedState: unknown;
    _fatalError: Error | null;
    _protocolError: Error | null;
  };
  // After mysql2's own listener, which tells the command in progress.
  sourceSocket(connection).once('close', () => {
    internals._fatalError ??=
      internals._protocolError ??
      Object.assign(new Error('Connection lost: The server closed the connection.'), {
        code: 'PROTOCOL_CONNECTION_LOST',
        fatal: true,
      });
    internals.addCommand = internals._addCommandClosedState;
  });
}

function sourceSocket(connection: mysql.Connection): Socket {
  return (connection as unknown as { stream: Socket }).stream;
}

/** mysql2's state: a command in progress, and the connection not paused by a reader that fell behind. */
function sourceAwaitsReply(connection: mysql.Connection): boolean {
  const state = connection as unknown as { _command: unknown; _paused: boolean };
  return state._command != null && !state._paused;
}

/** The pg client's socket. */
function targetSocket(client: pg.Client): Socket {
  return (client as unknown as { connection: { stream: Socket } }).connection.stream;
}

/**
 * node-postgres's state: a query in progress, unless the server waits on the tool (a cursor
 * between reads, a COPY whose rows have all been sent while more are still to come).
 */
function targetAwaitsReply(client: pg.Client): boolean {
  const query = (client as unknown as { _activeQuery: { state?: string; writableEnded?: boolean } | null })
    ._activeQuery;
  if (!query) return false;
  if (query.state === 'idle') return false;
  if (query.writableEnded === false && targetSocket(client).writableLength === 0) return false;
  return true;
}
