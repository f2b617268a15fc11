import { z } from 'zod';
import { formatIssues, runDefaultsSchema } from '../functions/core/input.js';

const list = z
  .union([z.array(z.string()), z.string()])
  .transform((value) => (Array.isArray(value) ? value : value.split(',')).map((item) => item.trim()).filter(Boolean));

// CDK hands context from the command line (-c key=value) as strings; cdk.json gives typed values.
const count = z.coerce.number();

/**
 * The stack's context keys (cdk.json or `cdk deploy -c key=value`). Every key has a default, so
 * `cdk synth` works on a fresh clone with no AWS account.
 */
export const stackConfigSchema = z.object({
  table: z.string().default('users'),
  chunkRows: count.default(100_000),
  concurrency: count.default(4),
  /** Secrets Manager secret (name or ARN) holding the source's RDS secret JSON. */
  sourceSecret: z.string().min(1).default('mysql-to-postgres/source'),
  /** Secrets Manager secret (name or ARN) holding the target's RDS secret JSON. */
  targetSecret: z.string().min(1).default('mysql-to-postgres/target'),
  /** Database names, when the secrets carry none (or another). */
  sourceDatabase: z.string().optional(),
  targetDatabase: z.string().optional(),
  /** The functions run in this VPC when it is given, in these subnets with these security groups. */
  vpcId: z.string().optional(),
  subnetIds: list.default([]),
  securityGroupIds: list.default([]),
  /**
   * An EventBridge schedule expression, `rate(1 hour)` or `cron(0 3 * * ? *)`, that starts an
   * incremental run of the table; no schedule when absent.
   */
  schedule: z.string().optional(),
  /** A schedule expression that starts a full run, which also removes rows deleted from the source. */
  fullSchedule: z.string().optional(),
});

export type StackConfig = z.infer<typeof stackConfigSchema>;

/** Reads and checks the context, refusing with the key's name and the fix. */
export function stackConfigFrom(context: Record<string, unknown>): StackConfig {
  const parsed = stackConfigSchema.safeParse(context);
  if (!parsed.success) throw new Error(`Invalid context: ${formatIssues(parsed.error)}`);
  const config = parsed.data;
  const defaults = runDefaultsSchema.safeParse({ table: config.table, chunkRows: config.chunkRows, concurrency: config.concurrency });
  if (!defaults.success) throw new Error(`Invalid context: ${formatIssues(defaults.error)}`);
  if (config.vpcId && config.subnetIds.length === 0) {
    throw new Error('Invalid context: "vpcId" is set but "subnetIds" is empty: give the private subnets the functions run in');
  }
  if (!config.vpcId && (config.subnetIds.length > 0 || config.securityGroupIds.length > 0)) {
    throw new Error('Invalid context: "subnetIds"/"securityGroupIds" need "vpcId"');
  }
  for (const key of ['schedule', 'fullSchedule'] as const) {
    const expression = config[key];
    if (expression !== undefined && !/^(rate|cron)\(.+\)$/.test(expression)) {
      throw new Error(`Invalid context: "${key}" must be rate(...) or cron(...), not ${expression}`);
    }
  }
  return config;
}

/** The context keys the stack reads, from a CDK app's node. */
export const STACK_CONTEXT_KEYS = Object.keys(stackConfigSchema.shape);
