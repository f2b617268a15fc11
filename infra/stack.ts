import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { ExecutionInput } from '../functions/core/input.js';
import type { StackConfig } from './config.js';
import { buildWorkflow } from './workflow.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Template metadata naming a function's handler source, which the local runner binds to its task. */
export const ENTRY_METADATA = 'migration:entry';

/** The handlers, by the function's construct id; each is `functions/<dir>/handler.ts`. */
const HANDLERS = { Plan: 'plan', CopyRange: 'copy-range', Summarize: 'summarize' } as const;

export interface MigrationStackProps extends StackProps {
  config: StackConfig;
}

/** The migration: three functions, the failed-batches queue, the state machine and its schedule. */
export class MigrationStack extends Stack {
  readonly stateMachine: sfn.StateMachine;
  readonly failedBatches: sqs.Queue;

  constructor(scope: Construct, id: string, props: MigrationStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.failedBatches = new sqs.Queue(this, 'FailedBatches', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    const secrets = {
      source: secretFrom(this, 'SourceSecret', config.sourceSecret),
      target: secretFrom(this, 'TargetSecret', config.targetSecret),
    };
    const network = networkFrom(this, config);
    const environment: Record<string, string> = {
      DEFAULT_TABLE: config.table,
      DEFAULT_CHUNK_ROWS: String(config.chunkRows),
      DEFAULT_CONCURRENCY: String(config.concurrency),
      SOURCE_SECRET_ID: config.sourceSecret,
      TARGET_SECRET_ID: config.targetSecret,
      ...(config.sourceDatabase ? { SOURCE_DATABASE: config.sourceDatabase } : {}),
      ...(config.targetDatabase ? { TARGET_DATABASE: config.targetDatabase } : {}),
      NODE_OPTIONS: '--enable-source-maps',
    };

    const functions = Object.fromEntries(
      Object.entries(HANDLERS).map(([id, dir]) => {
        const entry = `functions/${dir}/handler.ts`;
        const fn = new NodejsFunction(this, id, {
          entry: path.join(ROOT, entry),
          handler: 'handler',
          runtime: lambda.Runtime.NODEJS_22_X,
          architecture: lambda.Architecture.ARM_64,
          memorySize: 1024,
          timeout: Duration.minutes(15),
          environment,
          ...network,
          bundling: {
            format: OutputFormat.CJS,
            minify: true,
            sourceMap: true,
            target: 'node22',
            // The runtime ships the AWS SDK v3; pg-native is pg's optional native binding, unused.
            externalModules: ['@aws-sdk/*', 'pg-native'],
          },
        });
        (fn.node.defaultChild as lambda.CfnFunction).addMetadata(ENTRY_METADATA, entry);
        secrets.source.grantRead(fn);
        secrets.target.grantRead(fn);
        return [id, fn];
      }),
    ) as Record<keyof typeof HANDLERS, NodejsFunction>;

    this.stateMachine = new sfn.StateMachine(this, 'Migration', {
      definitionBody: sfn.DefinitionBody.fromChainable(
        // Its own scope, so the states can bear the same names as the functions they call.
        buildWorkflow(new Construct(this, 'Workflow'), {
          plan: functions.Plan,
          copyRange: functions.CopyRange,
          summarize: functions.Summarize,
          failedBatches: this.failedBatches,
        }),
      ),
      stateMachineType: sfn.StateMachineType.STANDARD,
    });

    // Scheduled runs of the configured table; the table's lease keeps them from overlapping.
    const schedules = [
      { id: 'Schedule', expression: config.schedule, input: { mode: 'incremental' }, what: 'Copies the rows changed since the last successful run' },
      { id: 'FullSchedule', expression: config.fullSchedule, input: { mode: 'full' }, what: 'Replaces every range, removing rows deleted from the source' },
    ] satisfies { id: string; expression?: string; input: ExecutionInput; what: string }[];
    for (const schedule of schedules) {
      if (!schedule.expression) continue;
      new events.Rule(this, schedule.id, {
        schedule: events.Schedule.expression(schedule.expression),
        description: `${schedule.what} of ${config.table}`,
        targets: [new eventTargets.SfnStateMachine(this.stateMachine, { input: events.RuleTargetInput.fromObject(schedule.input) })],
      });
    }

    new CfnOutput(this, 'StateMachineArn', { value: this.stateMachine.stateMachineArn });
    new CfnOutput(this, 'FailedBatchesQueueUrl', { value: this.failedBatches.queueUrl });
  }
}

function secretFrom(scope: Construct, id: string, nameOrArn: string): secretsmanager.ISecret {
  return nameOrArn.startsWith('arn:')
    ? secretsmanager.Secret.fromSecretCompleteArn(scope, id, nameOrArn)
    : secretsmanager.Secret.fromSecretNameV2(scope, id, nameOrArn);
}

function networkFrom(scope: Construct, config: StackConfig): Pick<lambda.FunctionProps, 'vpc' | 'vpcSubnets' | 'securityGroups'> {
  if (!config.vpcId) return {};
  const vpc = ec2.Vpc.fromVpcAttributes(scope, 'Vpc', {
    vpcId: config.vpcId,
    availabilityZones: config.subnetIds.map((_, i) => `az-${i}`),
    privateSubnetIds: config.subnetIds,
  });
  return {
    vpc,
    vpcSubnets: { subnets: config.subnetIds.map((subnetId, i) => ec2.Subnet.fromSubnetId(scope, `Subnet${i}`, subnetId)) },
    securityGroups: config.securityGroupIds.map((groupId, i) => ec2.SecurityGroup.fromSecurityGroupId(scope, `SecurityGroup${i}`, groupId)),
  };
}
