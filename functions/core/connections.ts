import mysql from 'mysql2';
import pg from 'pg';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import { classifyDatabaseError, InputValidationError } from './errors.js';

/** Where a database is and who to log in as. Never logged, never put in a payload or an error. */
export interface Endpoint {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
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

/** Parses `mysql://user:pass@host:port/db` or `postgres://...`; the scheme must match the side. */
export function endpointFromUrl(url: string, side: 'source' | 'target'): Endpoint {
  const schemes = side === 'source' ? ['mysql:', 'mariadb:'] : ['postgres:', 'postgresql:'];
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InputValidationError(`"${side}" is not a URL: expected ${schemes[0]}//user[:password]@host[:port]/database`);
  }
  if (!schemes.includes(parsed.protocol)) {
    throw new InputValidationError(`"${side}" must start with ${schemes.map((s) => `${s}//`).join(' or ')}, not ${parsed.protocol}//`);
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!database) throw new InputValidationError(`"${side}" names no database: add /database to the URL`);
  return {
    host: parsed.hostname || '127.0.0.1',
    port: Number(parsed.port || (side === 'source' ? 3306 : 5432)),
    user: decodeURIComponent(parsed.username || (side === 'source' ? 'root' : 'postgres')),
    password: decodeURIComponent(parsed.password),
    database,
  };
}

// The standard JSON of an RDS-managed (or RDS-shaped) Secrets Manager secret.
const rdsSecretSchema = z.object({
  host: z.string().min(1),
  port: z.coerce.number().int().positive(),
  username: z.string().min(1),
  password: z.string(),
  dbname: z.string().min(1).optional(),
});

const SECRET_TTL_MS = 5 * 60_000;
const secretCache = new Map<string, { endpoint: Promise<Endpoint>; expires: number }>();
let secretsManager: SecretsManagerClient | undefined;

/** Reads an RDS secret, cached for a few minutes so warm invocations do not call Secrets Manager again. */
function endpointFromSecret(secretId: string, database: string | undefined, side: 'source' | 'target'): Promise<Endpoint> {
  const cached = secretCache.get(secretId);
  if (cached && cached.expires > Date.now()) return cached.endpoint;
  secretsManager ??= new SecretsManagerClient({});
  const endpoint = secretsManager.send(new GetSecretValueCommand({ SecretId: secretId })).then(({ SecretString }) => {
    // The parse error would echo the secret's fields; report only which side's secret is malformed.
    const parsed = rdsSecretSchema.safeParse(JSON.parse(SecretString ?? '{}'));
    if (!parsed.success) {
      throw new InputValidationError(`The ${side} secret is not RDS secret JSON (host, port, username, password, dbname)`);
    }
    const dbname = database ?? parsed.data.dbname;
    if (!dbname) throw new InputValidationError(`The ${side} secret has no dbname and no ${side.toUpperCase()}_DATABASE is set`);
    return { host: parsed.data.host, port: parsed.data.port, user: parsed.data.username, password: parsed.data.password, database: dbname };
  });
  endpoint.catch(() => secretCache.delete(secretId));
  secretCache.set(secretId, { endpoint, expires: Date.now() + SECRET_TTL_MS });
  return endpoint;
}

/**
 * The endpoints of this process: in Lambda from the Secrets Manager secrets the stack names
 * (SOURCE_SECRET_ID, TARGET_SECRET_ID), locally from SOURCE_URL and TARGET_URL.
 */
export async function endpointsFromEnvironment(env: NodeJS.ProcessEnv = process.env): Promise<Endpoints> {
  const side = async (name: 'source' | 'target'): Promise<Endpoint> => {
    const prefix = name.toUpperCase();
    const secretId = env[`${prefix}_SECRET_ID`];
    if (secretId) return endpointFromSecret(secretId, env[`${prefix}_DATABASE`] || undefined, name);
    const url = env[`${prefix}_URL`];
    if (url) return endpointFromUrl(url, name);
    throw new InputValidationError(`No ${name} database configured: set ${prefix}_SECRET_ID (in AWS) or ${prefix}_URL (locally)`);
  };
  const [source, target] = await Promise.all([side('source'), side('target')]);
  return { source, target };
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
    charset: 'utf8mb4_unicode_ci',
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
    connectTimeout: 10_000,
  });
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
    application_name: 'mysql-to-postgres',
    connectionTimeoutMillis: 10_000,
  });
  // A server-side disconnect while idle must not crash the process; the next query reports it.
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query("SET TIME ZONE 'UTC'");
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
