import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ROOT } from '../root.js';
import { STACK_CONTEXT_KEYS, stackConfigFrom } from './config.js';
import { MigrationStack } from './stack.js';

export const STACK_NAME = 'MysqlToPostgres';

/**
 * The CDK feature flags of cdk.json (the ones `cdk init` writes for a new app). The CLI passes
 * them on `cdk deploy`; buildApp passes them everywhere else (tests, the local runner), so every
 * synthesis builds the template a deploy gets.
 */
export const FEATURE_FLAGS: Record<string, unknown> = Object.fromEntries(
  Object.entries(
    (JSON.parse(readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context,
  ).filter(([key]) => key.startsWith('@aws-cdk')),
);

export interface BuildOptions {
  /**
   * Checks the template on synthesis (CloudFormation validation, cdk-nag); the local runner,
   * which only reads the workflow's definition out of it, skips seconds of checks with `false`.
   */
  validate?: boolean;
  /** Where the cloud assembly goes (a temporary directory by default). */
  outdir?: string;
}

/** Builds the app from context; the local runner calls this with bundling and validation skipped. */
export function buildApp(
  context: Record<string, unknown> = {},
  { validate = true, outdir }: BuildOptions = {},
): { app: App; stack: MigrationStack } {
  const app = new App({ context: { ...FEATURE_FLAGS, ...context }, outdir, builtinCloudFormationValidation: validate });
  // Synthesis fails on any finding that is neither fixed nor acknowledged with its reason in the stack.
  if (validate) Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  const values = Object.fromEntries(
    STACK_CONTEXT_KEYS.map((key) => [key, app.node.tryGetContext(key)]).filter(([, v]) => v !== undefined),
  );
  const stack = new MigrationStack(app, STACK_NAME, {
    config: stackConfigFrom(values),
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  return { app, stack };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  buildApp().app.synth();
}
