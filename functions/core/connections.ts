import { readFileSync } from 'node:fs';
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

export interface Endpoints {
  source: Endpoint;
  target: Endpoint;
}

/** One invocation's connections: the mysql2 connection (callback API, for streaming) and a pg client. */
export interface ConnectionPair {
  source: mysql.Connection;
  target: pg.Client;
}

const DEFAULT_PORTS = { source: 3306, target: 5432 } as const;

/** Parses `mysql://user:pass@host:port/db` or `postgres://...`; the scheme must match the side. */
export function endpointFromUrl(url: string, side: 'source' | 'target'): Endpoint {
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
    host: parsed.hostname || '127.0.0.1',
    port: Number(parsed.port || DEFAULT_PORTS[side]),
    user: decodeURIComponent(parsed.username || (side === 'source' ? 'root' : 'postgres')),
    password: decodeURIComponent(parsed.password),
    database,
  };
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
 * The endpoints of this process: in Lambda from the Secrets Manager secrets the stack names
 * (SOURCE_SECRET_ID, TARGET_SECRET_ID), locally from SOURCE_URL and TARGET_URL. SOURCE_HOST /
 * TARGET_HOST replace the host (an RDS Proxy endpoint in front of the database), SOURCE_TLS /
 * TARGET_TLS choose the TLS mode (off when unset) and DATABASE_CA_BUNDLE names the PEM file of
 * the certificates to trust.
 */
export async function endpointsFromEnvironment(env: NodeJS.ProcessEnv = process.env): Promise<Endpoints> {
  const side = async (name: 'source' | 'target'): Promise<Endpoint> => {
    const prefix = name.toUpperCase();
    const tls = tlsFromEnvironment(env, name);
    const host = env[`${prefix}_HOST`] || undefined;
    const secretId = env[`${prefix}_SECRET_ID`];
    if (secretId) {
      const secret = await readRdsSecret(secretId, name);
      const database = env[`${prefix}_DATABASE`] || secret.dbname;
      if (!database)
        throw new InputValidationError(`The ${name} secret has no dbname and no ${prefix}_DATABASE is set`);
      const secretHost = host ?? secret.host;
      if (!secretHost) throw new InputValidationError(`The ${name} secret has no host and no ${prefix}_HOST is set`);
      const port = secret.port ?? DEFAULT_PORTS[name];
      return { host: secretHost, port, user: secret.username, password: secret.password, database, tls };
    }
    const url = env[`${prefix}_URL`];
    if (url) {
      const endpoint = endpointFromUrl(url, name);
      return { ...endpoint, host: host ?? endpoint.host, tls };
    }
    throw new InputValidationError(
      `No ${name} database configured: set ${prefix}_SECRET_ID (in AWS) or ${prefix}_URL (locally)`,
    );
  };
  const [source, target] = await Promise.all([side('source'), side('target')]);
  return { source, target };
}

const caBundles = new Map<string, string>();

/** The TLS settings of one side from the environment; the CA bundle file is read once per process. */
export function tlsFromEnvironment(env: NodeJS.ProcessEnv, side: 'source' | 'target'): TlsSettings {
  const name = `${side.toUpperCase()}_TLS`;
  const mode = env[name] || 'off';
  if (!(TLS_MODES as readonly string[]).includes(mode)) {
    throw new InputValidationError(`${name} must be one of ${TLS_MODES.join(', ')}, not ${mode}`);
  }
  const path = env.DATABASE_CA_BUNDLE;
  if (mode !== 'verify-full' || !path) return { mode: mode as TlsMode };
  let ca = caBundles.get(path);
  if (ca === undefined) {
    try {
      ca = readFileSync(path, 'utf8');
    } catch {
      throw new InputValidationError(
        `DATABASE_CA_BUNDLE names ${path}, which cannot be read: ship the PEM file with the function or unset it`,
      );
    }
    caBundles.set(path, ca);
  }
  return { mode: 'verify-full', ca };
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
  });
  // A connection lost while no callback waits (between queries, or under a streamed query) must not crash
  // the process; the stream that reads from it listens for the error itself.
  connection.on('error', () => {});
  try {
    await connection.promise().query("SET time_zone = '+00:00'");
  } catch (error) {
    connection.destroy();
    throw classifyDatabaseError(error, 'source');
  }
  return connection;
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
  });
  // A server-side disconnect while idle must not crash the process; the next query reports it.
  client.on('error', () => {});
  try {
    await client.connect();
    // Fixed output styles, whatever the server's defaults: verification compares this text.
    await client.query(
      "SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'; SET bytea_output = 'hex'; SET extra_float_digits = 3; SET IntervalStyle = 'postgres'",
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

export async function closeTarget(client: pg.Client): Promise<void> {
  await client.end().catch(() => {});
}
