import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { FeatureFlags } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import recommendedFlags from 'aws-cdk-lib/recommended-feature-flags.json' with { type: 'json' };
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildApp, FEATURE_FLAGS } from '../../infra/cdk/app.js';
import { ENTRY_METADATA, RDS_PROXY_CAS } from '../../infra/cdk/stack.js';
import { ROOT } from '../../infra/root.js';

// biome-ignore lint/suspicious/noExplicitAny: a resource's properties as the template's JSON has them
type Resource = { Type: string; Properties: Record<string, any>; Metadata?: Record<string, string> };
type Statement = { Action: string | string[]; Effect: string; Resource: unknown };

const IMPORTED = {
  vpcId: 'vpc-0123456789abcdef0',
  subnetIds: 'subnet-0123456789abcdef0,subnet-0123456789abcdef1',
  securityGroupIds: 'sg-0123456789abcdef0',
};

function synth(context: Record<string, unknown> = {}) {
  const { app, stack } = buildApp({ ...context, 'aws:cdk:bundling-stacks': [] });
  const template = Template.fromStack(stack);
  const resources = template.toJSON().Resources as Record<string, Resource>;
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  // The migration's functions, not CDK's own custom resource handlers.
  const functions = ofType('AWS::Lambda::Function').filter(([, fn]) => fn.Metadata?.[ENTRY_METADATA]);
  /** Every statement of the inline policies attached to the role with this logical id. */
  const statementsOf = (roleId: string): Statement[] =>
    ofType('AWS::IAM::Policy')
      .filter(([, p]) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Statement[]);
  return { app, stack, template, resources, ofType, functions, statementsOf };
}

// The databases each function opens: Summarize reads the ledger in the target, and only that.
const OPENS: Record<string, ('source' | 'target')[]> = {
  Plan: ['source', 'target'],
  ReadItems: ['target'],
  CopyRange: ['source', 'target'],
  VerifyRange: ['source', 'target'],
  Summarize: ['target'],
  DescribeFailure: [],
  Redrive: [],
  ApplyChanges: ['source', 'target'],
  Finish: ['source', 'target'],
  RunStopped: ['target'],
};
/** A function's construct id, from its logical id. */
const nameOf = (logicalId: string) => logicalId.replace(/[0-9A-F]{8}$/, '');

const actions = (statements: Statement[]) => new Set(statements.flatMap((s) => [s.Action].flat()));
const resourcesOf = (statements: Statement[], action: string) =>
  statements.filter((s) => [s.Action].flat().includes(action)).flatMap((s) => [s.Resource].flat());

describe('the stack with its defaults (a VPC of its own)', () => {
  const stack = synth();

  test('passes the cdk-nag AwsSolutions checks with no unacknowledged error or warning', () => {
    const report = new AwsSolutionsChecks().validateScope(stack.app);
    assert.deepEqual(
      report.violations.map((v) => `${v.severity} ${v.ruleName}`),
      [],
    );
  });

  test('cdk.json sets every feature flag `cdk init` writes for a new app, and every synthesis applies them', () => {
    // A new aws-cdk-lib may recommend more: read what each changes in the template, then add it to cdk.json.
    assert.deepEqual(
      Object.fromEntries(Object.keys(recommendedFlags).map((key) => [key, FEATURE_FLAGS[key]])),
      recommendedFlags,
    );
    assert.ok(FeatureFlags.of(stack.stack).isEnabled('@aws-cdk/aws-iam:minimizePolicies'));
  });

  test("the VPC's default security group loses every rule, so nothing placed in it by mistake can talk", () => {
    const [vpcId] = stack.ofType('AWS::EC2::VPC').map(([id]) => id);
    stack.template.hasResourceProperties('Custom::VpcRestrictDefaultSG', {
      DefaultSecurityGroupId: { 'Fn::GetAtt': [vpcId, 'DefaultSecurityGroup'] },
    });
  });

  test("each function can read the secrets of the databases it opens and nothing else: Summarize only the target's", () => {
    for (const [id, fn] of stack.functions) {
      const roleId = fn.Properties.Role['Fn::GetAtt'][0] as string;
      const statements = stack.statementsOf(roleId);
      const sides = OPENS[nameOf(id)]!;
      const secrets = resourcesOf(statements, 'secretsmanager:GetSecretValue').map((r) => JSON.stringify(r));
      assert.deepEqual(
        secrets.map((secret) => secret.match(/:secret:mysql-to-postgres\/(\w+)-\?{6}"/)?.[1]),
        sides,
        nameOf(id),
      );
      if (sides.length === 0) {
        // Redrive: take messages off the queue and start executions. DescribeFailure: nothing beyond tracing.
        for (const action of actions(statements)) {
          assert.match(
            action,
            /^(xray:\w+|sqs:(ReceiveMessage|DeleteMessage|ChangeMessageVisibility|GetQueueAttributes|GetQueueUrl)|states:StartExecution)$/,
          );
        }
        continue;
      }
      assert.deepEqual(
        actions(statements),
        new Set([
          'secretsmanager:GetSecretValue',
          'secretsmanager:DescribeSecret',
          'xray:PutTraceSegments',
          'xray:PutTelemetryRecords',
        ]),
      );
      const managed = JSON.stringify(stack.resources[roleId]!.Properties.ManagedPolicyArns);
      assert.deepEqual(managed.match(/policy\/service-role\/[A-Za-z]+/g), [
        'policy/service-role/AWSLambdaBasicExecutionRole',
        'policy/service-role/AWSLambdaVPCAccessExecutionRole',
      ]);
    }
  });

  test('the state machine can invoke only its functions and send only to its queue', () => {
    const [[, machine]] = stack.ofType('AWS::StepFunctions::StateMachine') as [[string, Resource]];
    const statements = stack.statementsOf(machine.Properties.RoleArn['Fn::GetAtt'][0]);
    // Every function but Redrive, which an operator invokes, and RunStopped, which EventBridge does.
    const functionIds = stack.functions
      .map(([id]) => id)
      .filter((id) => !id.startsWith('Redrive') && !id.startsWith('RunStopped'))
      .sort();
    const invoked = resourcesOf(statements, 'lambda:InvokeFunction').map(
      (r) => JSON.stringify(r).match(/"(\w+)","Arn"/)![1],
    );
    assert.deepEqual([...new Set(invoked)].sort(), functionIds);
    const [queueId] = stack.ofType('AWS::SQS::Queue').map(([id]) => id);
    assert.deepEqual(resourcesOf(statements, 'sqs:SendMessage'), [{ 'Fn::GetAtt': [queueId, 'Arn'] }]);
    // Beyond those two: its own child executions, and log delivery and tracing (no resource-level permissions).
    for (const action of actions(statements)) {
      assert.match(
        action,
        /^(lambda:InvokeFunction|sqs:SendMessage|states:(StartExecution|DescribeExecution|StopExecution|RedriveExecution)|logs:\w+|xray:\w+)$/,
      );
    }
    for (const resource of resourcesOf(statements, 'states:StartExecution')) {
      assert.deepEqual(resource, {
        Ref: stack.stack.getLogicalId(stack.stack.stateMachine.node.defaultChild as never),
      });
    }
  });

  test('creates a VPC with flow logs and one NAT gateway, and puts every function in its private subnets', () => {
    stack.template.resourceCountIs('AWS::EC2::VPC', 1);
    stack.template.resourceCountIs('AWS::EC2::NatGateway', 1);
    stack.template.resourceCountIs('AWS::EC2::FlowLog', 1);
    const privateSubnets = stack
      .ofType('AWS::EC2::Subnet')
      .filter(([, s]) => JSON.stringify(s.Properties.Tags).includes('Private'))
      .map(([id]) => ({ Ref: id }));
    assert.equal(privateSubnets.length, 2);
    const [groupId] = stack.ofType('AWS::EC2::SecurityGroup').find(([id]) => id.startsWith('FunctionsSecurityGroup'))!;
    for (const [, fn] of stack.functions) {
      assert.deepEqual(fn.Properties.VpcConfig.SubnetIds, privateSubnets);
      assert.deepEqual(fn.Properties.VpcConfig.SecurityGroupIds, [{ 'Fn::GetAtt': [groupId, 'GroupId'] }]);
    }
    stack.template.hasOutput('FunctionsSecurityGroupId', { Value: { 'Fn::GetAtt': [groupId, 'GroupId'] } });
  });

  test("every log group, the VPC flow log's included, keeps logRetentionDays and goes with the stack", () => {
    const groups = stack.ofType('AWS::Logs::LogGroup');
    assert.equal(groups.length, stack.functions.length + 2, 'the functions, the state machine, the flow log');
    for (const [id, group] of groups) {
      assert.equal(group.Properties.RetentionInDays, 30, id);
      assert.equal((group as unknown as { DeletionPolicy: string }).DeletionPolicy, 'Delete', id);
    }
    const [[, flowLog]] = stack.ofType('AWS::EC2::FlowLog') as [[string, Resource]];
    assert.equal(flowLog.Properties.TrafficType, 'REJECT');
    assert.ok(groups.some(([id]) => JSON.stringify(flowLog.Properties.LogGroupName).includes(id)));
  });

  test('the VPC takes its address range from vpcCidr, 10.0.0.0/16 by default', () => {
    stack.template.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: '10.0.0.0/16' });
    synth({ vpcCidr: '10.42.0.0/20' }).template.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: '10.42.0.0/20' });
  });

  test('sizes the functions: arm64, Node.js 22, traced, logs kept 30 days, copies and verifications capped by reserved concurrency', () => {
    const byId = Object.fromEntries(stack.functions.map(([id, fn]) => [id.replace(/[0-9A-F]{8}$/, ''), fn.Properties]));
    for (const fn of Object.values(byId)) {
      assert.deepEqual(fn.Architectures, ['arm64']);
      assert.equal(fn.Runtime, 'nodejs22.x');
      assert.deepEqual(fn.TracingConfig, { Mode: 'Active' });
      const logGroupId = fn.LoggingConfig.LogGroup.Ref as string;
      assert.equal(stack.resources[logGroupId]!.Properties.RetentionInDays, 30);
    }
    assert.equal(byId.CopyRange!.MemorySize, 1769);
    assert.equal(byId.CopyRange!.Timeout, 900);
    assert.equal(byId.CopyRange!.ReservedConcurrentExecutions, 16);
    assert.equal(byId.VerifyRange!.ReservedConcurrentExecutions, 16);
    assert.equal(byId.CopyRange!.Environment.Variables.MAX_CONCURRENCY, '16');
    assert.equal(byId.Plan!.ReservedConcurrentExecutions, undefined);
  });

  test("runs' default tables reach the functions: none configured is every table; tables and excludeTables as given", () => {
    const planEnv = (context: Record<string, unknown>) => {
      const [, plan] = synth(context).functions.find(([id]) => nameOf(id) === 'Plan')!;
      return plan.Properties.Environment.Variables as Record<string, string>;
    };
    const none = planEnv({});
    assert.deepEqual([none.DEFAULT_TABLES, none.DEFAULT_EXCLUDE_TABLES], [undefined, undefined]);
    const some = planEnv({ tables: 'film,Order-Lines', excludeTables: 'tmp_*' });
    assert.deepEqual(
      [JSON.parse(some.DEFAULT_TABLES!), some.DEFAULT_EXCLUDE_TABLES],
      [['film', 'Order-Lines'], 'tmp_*'],
    );
    assert.deepEqual(JSON.parse(planEnv({ table: 'users' }).DEFAULT_TABLES!), ['users']);
  });

  test('logs every state machine event and traces it with X-Ray', () => {
    stack.template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: true }),
    });
  });

  test("the state machine logs to a group under /aws/vendedlogs/states/, which the account's log delivery policy covers with one line", () => {
    const [[, machine]] = stack.ofType('AWS::StepFunctions::StateMachine') as [[string, Resource]];
    const [{ CloudWatchLogsLogGroup }] = machine.Properties.LoggingConfiguration.Destinations;
    const groupId = CloudWatchLogsLogGroup.LogGroupArn['Fn::GetAtt'][0] as string;
    assert.equal(stack.resources[groupId]!.Properties.LogGroupName, '/aws/vendedlogs/states/MysqlToPostgres-Migration');
  });

  test("connects with TLS verified against the Lambda runtime's Amazon CAs and an RDS Proxy's roots, and names secrets, never credentials", () => {
    for (const [id, fn] of stack.functions) {
      const env = fn.Properties.Environment.Variables as Record<string, string>;
      const sides = OPENS[nameOf(id)]!;
      for (const side of sides) {
        assert.equal(env[`${side.toUpperCase()}_TLS`], 'verify-full');
        assert.equal(env[`${side.toUpperCase()}_SECRET_ID`], `mysql-to-postgres/${side}`);
      }
      // A function gets the settings of the databases it opens and no other.
      assert.deepEqual(
        Object.keys(env)
          .filter((key) => /^(SOURCE|TARGET)_/.test(key))
          .map((key) => key.split('_')[0]!.toLowerCase()),
        sides.flatMap((side) => [side, side]),
        nameOf(id),
      );
      assert.equal(
        env.DATABASE_CA_BUNDLE,
        sides.length ? '/var/runtime/ca-cert.pem:/var/task/rds-proxy-ca.pem' : undefined,
      );
      assert.deepEqual(
        Object.keys(env).filter((key) => /PASSWORD|USER|_URL$/.test(key)),
        [],
      );
    }
  });

  test('adds interface endpoints for Secrets Manager, SQS and Step Functions, open on 443 to the functions only', () => {
    const services = stack
      .ofType('AWS::EC2::VPCEndpoint')
      .map(([, e]) => JSON.stringify(e.Properties.ServiceName).match(/\.(\w+)"/)![1])
      .sort();
    assert.deepEqual(services, ['secretsmanager', 'sqs', 'states']);
    const [functionsGroup] = stack
      .ofType('AWS::EC2::SecurityGroup')
      .find(([id]) => id.startsWith('FunctionsSecurityGroup'))!;
    const ingress = stack.ofType('AWS::EC2::SecurityGroupIngress').map(([, rule]) => rule.Properties);
    assert.deepEqual(
      ingress.map((rule) => [rule.FromPort, rule.ToPort, rule.SourceSecurityGroupId]),
      [[443, 443, { 'Fn::GetAtt': [functionsGroup, 'GroupId'] }]],
    );
  });
});

describe('the stack in your VPC, through an RDS Proxy, with a CA bundle', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ca-'));
  const caBundle = path.join(dir, 'global-bundle.pem');
  writeFileSync(caBundle, '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');
  const stack = synth({
    ...IMPORTED,
    vpcEndpoints: 'secretsmanager,logs',
    caBundle,
    sourceHost: 'source-proxy.proxy-abc.eu-west-1.rds.amazonaws.com',
    targetTls: 'require',
    maxConcurrency: '40',
    concurrency: '20',
    logRetentionDays: '90',
  });

  test('passes the cdk-nag AwsSolutions checks with no unacknowledged error or warning', () => {
    const report = new AwsSolutionsChecks().validateScope(stack.app);
    assert.deepEqual(
      report.violations.map((v) => `${v.severity} ${v.ruleName}`),
      [],
    );
  });

  test('runs the functions in the given subnets with the given security groups, and creates no VPC or group', () => {
    stack.template.resourceCountIs('AWS::EC2::VPC', 0);
    assert.equal(
      stack.ofType('AWS::EC2::SecurityGroup').filter(([id]) => id.startsWith('FunctionsSecurityGroup')).length,
      0,
    );
    for (const [, fn] of stack.functions) {
      assert.deepEqual(fn.Properties.VpcConfig, {
        SubnetIds: IMPORTED.subnetIds.split(','),
        SecurityGroupIds: [IMPORTED.securityGroupIds],
      });
    }
    const endpoints = stack.ofType('AWS::EC2::VPCEndpoint').map(([, e]) => e.Properties);
    assert.equal(endpoints.length, 2);
    for (const endpoint of endpoints) {
      assert.equal(endpoint.VpcId, IMPORTED.vpcId);
      assert.deepEqual(endpoint.SubnetIds, IMPORTED.subnetIds.split(','));
      assert.equal(endpoint.PrivateDnsEnabled, true);
    }
    stack.template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 443,
      SourceSecurityGroupId: IMPORTED.securityGroupIds,
    });
  });

  test('passes the proxy host, the TLS modes and the shipped CA bundle to the functions', () => {
    for (const [id, fn] of stack.functions) {
      const env = fn.Properties.Environment.Variables as Record<string, string>;
      const sides = OPENS[nameOf(id)]!;
      if (sides.includes('source')) {
        assert.equal(env.SOURCE_HOST, 'source-proxy.proxy-abc.eu-west-1.rds.amazonaws.com');
        assert.equal(env.SOURCE_TLS, 'verify-full');
      }
      if (sides.includes('target')) assert.equal(env.TARGET_TLS, 'require');
      if (sides.length) assert.equal(env.DATABASE_CA_BUNDLE, '/var/task/ca-bundle.pem:/var/task/rds-proxy-ca.pem');
      assert.equal(env.TARGET_HOST, undefined);
      assert.equal(env.DEFAULT_CONCURRENCY, '20');
    }
    stack.template.hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: 1769,
      ReservedConcurrentExecutions: 40,
    });
    stack.template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
  });

  test("ships the CA bundle and an RDS Proxy's roots inside every function's bundle", () => {
    const { app } = buildApp({ ...IMPORTED, caBundle });
    const assembly = app.synth();
    const assets = readdirAssets(assembly.directory);
    assert.equal(assets.length, 10);
    for (const asset of assets) {
      assert.equal(readFileSync(path.join(asset, 'ca-bundle.pem'), 'utf8'), readFileSync(caBundle, 'utf8'));
      assert.equal(
        readFileSync(path.join(asset, 'rds-proxy-ca.pem'), 'utf8'),
        readFileSync(path.join(ROOT, RDS_PROXY_CAS), 'utf8'),
      );
    }
  });
});

describe('secrets encrypted with a customer managed KMS key (secretsKmsKeyArn)', () => {
  const keyArn = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
  const stack = synth({ secretsKmsKeyArn: keyArn });

  test('passes the cdk-nag AwsSolutions checks with no unacknowledged error or warning', () => {
    assert.deepEqual(
      new AwsSolutionsChecks().validateScope(stack.app).violations.map((v) => `${v.severity} ${v.ruleName}`),
      [],
    );
  });

  test('a function that reads a secret may decrypt with the key, and only through Secrets Manager', () => {
    for (const [id, fn] of stack.functions) {
      const statements = stack.statementsOf(fn.Properties.Role['Fn::GetAtt'][0]);
      const decrypts = statements.filter((statement) => [statement.Action].flat().some((a) => a.startsWith('kms:')));
      if (OPENS[nameOf(id)]!.length === 0) {
        assert.deepEqual(decrypts, [], nameOf(id));
        continue;
      }
      assert.deepEqual(decrypts, [
        {
          Action: 'kms:Decrypt',
          Effect: 'Allow',
          Resource: keyArn,
          Condition: {
            StringEquals: {
              'kms:ViaService': { 'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
            },
          },
        },
      ]);
    }
  });
});

test('in your VPC the stack adds no interface endpoint unless vpcEndpoints names some: yours may have them', () => {
  const { template } = synth(IMPORTED);
  template.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
  template.resourceCountIs('AWS::EC2::SecurityGroup', 0);
});

test('synthesis fails on a cdk-nag finding that is neither fixed nor acknowledged', () => {
  const { app, stack } = buildApp({ 'aws:cdk:bundling-stacks': [] });
  new sqs.Queue(stack, 'Unchecked');
  assert.throws(() => app.synth(), /Validation failed/);
});

test('refuses context that cannot deploy, naming the key and the fix', () => {
  for (const [context, message] of [
    [{ concurrency: 20 }, /"concurrency" 20 is above "maxConcurrency" 16/],
    [{ maxConcurrency: 0 }, /"maxConcurrency" must be greater than 0/],
    [{ vpcEndpoints: 'secretsmanager,s3' }, /"vpcEndpoints" has s3/],
    [{ ...IMPORTED, natGateways: 2 }, /"natGateways" applies to the VPC the stack creates/],
    [{ ...IMPORTED, vpcCidr: '10.1.0.0/16' }, /"vpcCidr" applies to the VPC the stack creates/],
    [{ vpcCidr: '10.0.0.0/8' }, /"vpcCidr" must be an IPv4 range from \/16 to \/24/],
    [{ vpcCidr: '10.0.0/16' }, /"vpcCidr" must be an IPv4 range/],
    [{ caBundle: 'certs/missing.pem' }, /"caBundle" certs\/missing.pem does not exist/],
    [{ logRetentionDays: 10 }, /"logRetentionDays" must be one of 1, 3, 5, 7, 14, 30/],
    [{ sourceTls: 'yes' }, /sourceTls/],
    [{ secretsKmsKeyArn: 'alias/migration-secrets' }, /"secretsKmsKeyArn" must be a KMS key ARN/],
  ] as const) {
    assert.throws(() => buildApp({ ...context, 'aws:cdk:bundling-stacks': [] }), message, JSON.stringify(context));
  }
});

function readdirAssets(directory: string): string[] {
  const manifest = JSON.parse(readFileSync(path.join(directory, 'MysqlToPostgres.assets.json'), 'utf8')) as {
    files: Record<string, { source: { path: string; packaging?: string } }>;
  };
  return Object.values(manifest.files)
    .filter((file) => file.source.packaging === 'zip')
    .map((file) => path.join(directory, file.source.path));
}
