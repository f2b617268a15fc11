import { buildApp, STACK_NAME } from '../cdk/app.js';
import { ENTRY_METADATA } from '../cdk/stack.js';

type Template = {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> }>;
};

/** The synthesized workflow: its definition with every reference resolved, and what the tasks call. */
export interface SynthesizedWorkflow {
  definition: StateMachineDefinition;
  /** Lambda task ARN in the definition → handler source file (relative to the repo root). */
  handlerEntries: Map<string, string>;
  /** Queue URL placeholder in the definition → the queue's logical id. */
  queues: Map<string, string>;
}

export interface StateMachineDefinition {
  StartAt: string;
  TimeoutSeconds?: number;
  States: Record<string, StateDefinition>;
}

export interface StateDefinition {
  Type: string;
  Resource?: string;
  Parameters?: Record<string, unknown>;
  ItemProcessor?: StateMachineDefinition;
  [field: string]: unknown;
}

const REGION = 'local-1';
const ACCOUNT = '000000000000';

/**
 * Synthesizes the CDK stack in-process (without bundling) and takes the state machine's
 * definition out of the template, resolving the `Fn::Join` parts that name the functions and
 * the queue. This is how the local run uses the one and only workflow definition.
 */
export function synthesizeWorkflow(context: Record<string, unknown> = {}): SynthesizedWorkflow {
  // Template checks (seconds of CloudFormation validation and cdk-nag) are for `cdk synth`; here only the definition is read.
  const { app } = buildApp({ ...context, 'aws:cdk:bundling-stacks': [] }, { validate: false });
  const template = app.synth().getStackByName(STACK_NAME).template as Template;
  const machines = Object.values(template.Resources).filter((r) => r.Type === 'AWS::StepFunctions::StateMachine');
  if (machines.length !== 1) throw new Error(`Expected one state machine in ${STACK_NAME}, found ${machines.length}`);
  const handlerEntries = new Map<string, string>();
  const queues = new Map<string, string>();

  const resolve = (part: unknown): string => {
    if (typeof part === 'string') return part;
    const getAtt = (part as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'];
    if (getAtt) {
      const [logicalId, attribute] = getAtt;
      const resource = template.Resources[logicalId];
      if (resource?.Type === 'AWS::Lambda::Function' && attribute === 'Arn') {
        const arn = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${logicalId}`;
        const entry = resource.Metadata?.[ENTRY_METADATA];
        if (typeof entry !== 'string') throw new Error(`Function ${logicalId} has no ${ENTRY_METADATA} metadata`);
        handlerEntries.set(arn, entry);
        return arn;
      }
      throw new Error(`Cannot resolve Fn::GetAtt ${logicalId}.${attribute} locally`);
    }
    const ref = (part as { Ref?: string }).Ref;
    if (ref === 'AWS::Partition') return 'aws';
    if (ref === 'AWS::Region') return REGION;
    if (ref === 'AWS::AccountId') return ACCOUNT;
    if (ref === 'AWS::URLSuffix') return 'amazonaws.com';
    if (ref && template.Resources[ref]?.Type === 'AWS::SQS::Queue') {
      const url = `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${ref}`;
      queues.set(url, ref);
      return url;
    }
    throw new Error(`Cannot resolve ${JSON.stringify(part)} locally`);
  };

  const body = machines[0]!.Properties!.DefinitionString as string | { 'Fn::Join': [string, unknown[]] };
  const text = typeof body === 'string' ? body : body['Fn::Join'][1].map(resolve).join(body['Fn::Join'][0]);
  return { definition: JSON.parse(text) as StateMachineDefinition, handlerEntries, queues };
}
