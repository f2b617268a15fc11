import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { z } from 'zod';
import { TLS_MODES } from '../../functions/core/connections.js';
import {
  DEFAULT_CHUNK_BYTES,
  executionInputSchema,
  formatIssues,
  runDefaultsSchema,
} from '../../functions/core/input.js';
import { ROOT } from '../root.js';

/** AWS services the functions reach through interface VPC endpoints, by the endpoint's service name. */
export const VPC_ENDPOINT_SERVICES = ['secretsmanager', 'sqs', 'states', 'logs', 'monitoring', 'xray'] as const;

/** The endpoints a VPC of the stack's own gets: the services the functions call themselves. */
const DEFAULT_VPC_ENDPOINTS = ['secretsmanager', 'sqs', 'states'];

const list = z
  .union([z.array(z.string()), z.string()])
  .transform((value) => (Array.isArray(value) ? value : value.split(',')).map((item) => item.trim()).filter(Boolean));

// CDK hands context from the command line (-c key=value) as strings; cdk.json gives typed values.
const count = z.coerce.number();
const tlsMode = z.enum(TLS_MODES).default('verify-full');

/**
 * The stack's context keys (cdk.json or `cdk deploy -c key=value`). Every key has a default, so
 * `cdk synth` works on a fresh clone with no AWS account.
 */
export const stackConfigSchema = z.object({
  /** The tables a run migrates when its input names none; every base table of the source when neither is set. */
  table: z.string().optional(),
  /** Several tables (a list in cdk.json, or comma-separated with -c); give `table` or `tables`, not both. */
  tables: list.optional(),
  /** Tables left out of every run that does not name its own, by name or `*`/`?` pattern, comma-separated. */
  excludeTables: z.string().optional(),
  chunkRows: count.default(100_000),
  /** The most bytes of source rows a range holds (see the execution input's `chunkBytes`). */
  chunkBytes: count.default(DEFAULT_CHUNK_BYTES),
  concurrency: count.default(4),
  /** Secrets Manager secret (name or ARN) holding the source's RDS secret JSON. */
  sourceSecret: z.string().min(1).default('mysql-to-postgres/source'),
  /** Secrets Manager secret (name or ARN) holding the target's RDS secret JSON. */
  targetSecret: z.string().min(1).default('mysql-to-postgres/target'),
  /**
   * The customer managed KMS key the secrets are encrypted with, when it is not AWS's own
   * (aws/secretsmanager): the functions that read a secret may decrypt with it through Secrets
   * Manager only.
   */
  secretsKmsKeyArn: z
    .string()
    .regex(
      /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/,
      'must be a KMS key ARN, arn:aws:kms:<region>:<account>:key/<key id> (an alias does not work in an IAM policy)',
    )
    .optional(),
  /** Database names, when the secrets carry none (or another). */
  sourceDatabase: z.string().optional(),
  targetDatabase: z.string().optional(),
  /** Replace the secrets' hosts, e.g. with an RDS Proxy endpoint in front of the database. */
  sourceHost: z.string().min(1).optional(),
  targetHost: z.string().min(1).optional(),
  /** TLS to each database: verify-full (certificate and host name checked), require (encrypted only), off. */
  sourceTls: tlsMode,
  targetTls: tlsMode,
  /**
   * A PEM file (path from the repository root) shipped with the functions as the RDS CAs to trust,
   * beside an RDS Proxy's roots.
   */
  caBundle: z.string().min(1).optional(),
  /**
   * The functions run in this VPC when it is given, in these subnets with these security groups;
   * without it the stack creates a VPC of its own.
   */
  vpcId: z.string().optional(),
  subnetIds: list.default([]),
  securityGroupIds: list.default([]),
  /** NAT gateways of the VPC the stack creates (0: isolated subnets, AWS reached only through endpoints). */
  natGateways: count.default(1),
  /** The address range of the VPC the stack creates: pick one that overlaps none it must peer with. */
  vpcCidr: z.string().default('10.0.0.0/16'),
  /**
   * Interface endpoints the stack adds to the VPC, or `none`. By default the stack's own VPC gets
   * DEFAULT_VPC_ENDPOINTS and yours gets none: private DNS allows one endpoint per service in a
   * VPC, so adding one where it exists fails the deploy.
   */
  vpcEndpoints: list.optional(),
  /** The cap on an execution's `concurrency`, reserved for the copy function so the Map never throttles. */
  maxConcurrency: count.default(16),
  /**
   * Hours an execution may run in all before Step Functions stops it (States.Timeout, which the
   * timed-out alarm reports): a run stuck past any range's retries still ends.
   */
  executionTimeoutHours: count.default(24),
  /** Days the functions' and the state machine's logs are kept. */
  logRetentionDays: count.default(30),
  /**
   * An EventBridge Scheduler expression, `rate(1 hour)` or `cron(0 3 * * ? *)`, that starts an
   * incremental run of the table; no schedule when absent.
   */
  schedule: z.string().optional(),
  /** A schedule expression that starts a full run, which also removes rows deleted from the source. */
  fullSchedule: z.string().optional(),
  /** A schedule expression that starts a binlog run: the changes of the source's binary log since the last one. */
  binlogSchedule: z.string().optional(),
  /** The IANA time zone (`Europe/Paris`) the schedules' cron expressions are read in, daylight saving included. */
  scheduleTimeZone: z
    .string()
    .refine(isTimeZone, 'must be an IANA time zone name such as UTC or Europe/Paris')
    .default('UTC'),
  /** Where the alarms send email; no subscription when absent. */
  alarmEmail: z.email('must be an email address').optional(),
});

export type StackConfig = z.infer<typeof stackConfigSchema> & {
  vpcEndpoints: string[];
  /** The tables runs without their own take, when configured; every table otherwise. */
  defaultTables?: string[];
};

/** Reads and checks the context, refusing with the key's name and the fix. */
export function stackConfigFrom(context: Record<string, unknown>): StackConfig {
  const parsed = stackConfigSchema.safeParse(context);
  if (!parsed.success) throw new Error(`Invalid context: ${formatIssues(parsed.error)}`);
  const config = parsed.data;
  if (config.table !== undefined && config.tables !== undefined) {
    throw new Error('Invalid context: give "table" or "tables", not both');
  }
  const defaults = runDefaultsSchema.safeParse({
    tables: config.table === undefined ? config.tables : [config.table],
    excludeTables: config.excludeTables,
    chunkRows: config.chunkRows,
    chunkBytes: config.chunkBytes,
    concurrency: config.concurrency,
  });
  if (!defaults.success) {
    // A single `table` is checked as a list of one: name it as it was given.
    const issues = formatIssues(defaults.error);
    throw new Error(
      `Invalid context: ${config.table === undefined ? issues : issues.replace(/"tables\.0"/g, '"table"')}`,
    );
  }
  if (config.vpcId && config.subnetIds.length === 0) {
    throw new Error(
      'Invalid context: "vpcId" is set but "subnetIds" is empty: give the private subnets the functions run in',
    );
  }
  if (!config.vpcId && (config.subnetIds.length > 0 || config.securityGroupIds.length > 0)) {
    throw new Error('Invalid context: "subnetIds"/"securityGroupIds" need "vpcId"');
  }
  const cap = executionInputSchema.shape.concurrency.safeParse(config.maxConcurrency);
  if (!cap.success)
    throw new Error(`Invalid context: "maxConcurrency" ${formatIssues(cap.error).replace('"input" ', '')}`);
  if (config.concurrency > config.maxConcurrency) {
    throw new Error(
      `Invalid context: "concurrency" ${config.concurrency} is above "maxConcurrency" ${config.maxConcurrency}: raise maxConcurrency or lower concurrency`,
    );
  }
  const endpoints = (config.vpcEndpoints ?? (config.vpcId ? [] : DEFAULT_VPC_ENDPOINTS)).filter(
    (name) => name !== 'none',
  );
  const unknown = endpoints.filter((name) => !(VPC_ENDPOINT_SERVICES as readonly string[]).includes(name));
  if (unknown.length) {
    throw new Error(
      `Invalid context: "vpcEndpoints" has ${unknown.join(', ')}: use a comma-separated list of ${VPC_ENDPOINT_SERVICES.join(', ')}, or none`,
    );
  }
  if (!Number.isInteger(config.natGateways) || config.natGateways < 0) {
    throw new Error(`Invalid context: "natGateways" must be a whole number, 0 or more, not ${config.natGateways}`);
  }
  for (const key of ['natGateways', 'vpcCidr'] as const) {
    if (config.vpcId && context[key] !== undefined) {
      throw new Error(
        `Invalid context: "${key}" applies to the VPC the stack creates, not to the one given by "vpcId"`,
      );
    }
  }
  if (!isVpcCidr(config.vpcCidr)) {
    throw new Error(
      `Invalid context: "vpcCidr" must be an IPv4 range from /16 to /24 such as 10.0.0.0/16 (two zones, four subnets), not ${config.vpcCidr}`,
    );
  }
  if (
    !Number.isInteger(config.executionTimeoutHours) ||
    config.executionTimeoutHours < 1 ||
    config.executionTimeoutHours > 8760
  ) {
    throw new Error(
      `Invalid context: "executionTimeoutHours" must be a whole number of hours from 1 to 8760 (a year, Step Functions' limit), not ${config.executionTimeoutHours}`,
    );
  }
  if (!LOG_RETENTION_DAYS.includes(config.logRetentionDays)) {
    throw new Error(
      `Invalid context: "logRetentionDays" must be one of ${LOG_RETENTION_DAYS.join(', ')}, not ${config.logRetentionDays}`,
    );
  }
  if (config.caBundle && !existsSync(path.resolve(ROOT, config.caBundle))) {
    throw new Error(
      `Invalid context: "caBundle" ${config.caBundle} does not exist: give a PEM file's path from the repository root (see README, Deploy)`,
    );
  }
  for (const key of ['schedule', 'fullSchedule', 'binlogSchedule'] as const) {
    const expression = config[key];
    if (expression !== undefined && !/^(rate|cron)\(.+\)$/.test(expression)) {
      throw new Error(`Invalid context: "${key}" must be rate(...) or cron(...), not ${expression}`);
    }
  }
  return { ...config, vpcEndpoints: endpoints, defaultTables: defaults.data.tables };
}

function isVpcCidr(cidr: string): boolean {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!match) return false;
  const [octets, prefix] = [match.slice(1, 5).map(Number), Number(match[5])];
  return octets.every((octet) => octet <= 255) && prefix >= 16 && prefix <= 24;
}

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

// The retention periods CloudWatch Logs accepts (a numeric enum also maps its values back to names).
const LOG_RETENTION_DAYS = Object.values(RetentionDays).filter((days): days is number => typeof days === 'number');

/** The context keys the stack reads, from a CDK app's node. */
export const STACK_CONTEXT_KEYS = Object.keys(stackConfigSchema.shape);
