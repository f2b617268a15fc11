import { createHash } from 'node:crypto';
import { ExecutionAlreadyExists, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { InputValidationError } from './errors.js';
import { failedBatchMessageSchema } from './failed-batch.js';
import { NAME, NAME_RULE } from './identifiers.js';
import { type ExecutionInput, executionInputSchema, formatIssues } from './input.js';
import { mergeRanges } from './ranges.js';

/** What to redrive: the failed ranges of one table, optionally with another concurrency. */
export const redriveRequestSchema = z.strictObject({
  table: z.string().regex(NAME, `${NAME_RULE}: the table whose failed ranges to copy again`),
  concurrency: executionInputSchema.shape.concurrency,
});

export type RedriveRequest = z.infer<typeof redriveRequestSchema>;

export interface RedriveTargets {
  sqs: SQSClient;
  sfn: SFNClient;
  queueUrl: string;
  stateMachineArn: string;
}

export interface RedriveResult {
  /** The execution started, or null when the queue held no failed range of the table. */
  execution: string | null;
  /** The ranges it copies: those of the messages, overlaps merged. */
  ranges: ExecutionInput['ranges'];
  /** Messages of the table, deleted once the execution started. */
  messages: number;
  /** Messages left on the queue: other tables', and any this version cannot read. */
  leftOnQueue: number;
  unreadable: number;
}

const RECEIVE_BATCH = 10;
// Long enough to take every message and start the execution while the others cannot see them.
const VISIBILITY_SECONDS = 300;
// One execution's state carries a few thousand ranges; more stay queued for the next redrive.
const MAX_MESSAGES = 2_000;

/**
 * Copies again the failed ranges of one table: takes every queue message of the table, starts
 * ONE execution with exactly their ranges, and deletes the messages only once it started.
 * Messages of other tables go back to the queue at once. A start that fails puts every message
 * back; a repeated redrive of the same messages finds the execution it started (the name comes
 * from the messages), so nothing is lost and no range is started twice by the same messages.
 */
export async function redrive(
  request: RedriveRequest,
  targets: RedriveTargets,
  waitSeconds = 1,
): Promise<RedriveResult> {
  const parsed = redriveRequestSchema.safeParse(request);
  if (!parsed.success) throw new InputValidationError(`Invalid redrive request: ${formatIssues(parsed.error)}`);
  const { table, concurrency } = parsed.data;

  const received = (await receiveAll(targets, waitSeconds)).map((message) => ({ message, body: readMessage(message) }));
  const unreadable = received.filter(({ body }) => body === null).length;
  // One execution has one set of policies: the table's latest failure decides, messages of the
  // table under other policies wait for the next redrive.
  const latest = received
    .filter(({ body }) => body?.table === table)
    .sort((a, b) => (a.body!.time < b.body!.time ? 1 : -1))[0]?.body;
  const policies = latest && JSON.stringify(latest.policies);
  const taken = received.filter(({ body }) => body?.table === table && JSON.stringify(body.policies) === policies);
  const mine = taken.map(({ message }) => message);
  const others = received.filter((entry) => !taken.includes(entry)).map(({ message }) => message);
  const ranges = taken.map(({ body }) => ({ lo: body!.range.lo, hi: body!.range.hi }));

  try {
    if (mine.length === 0)
      return { execution: null, ranges: undefined, messages: 0, leftOnQueue: others.length, unreadable };
    const input: ExecutionInput = {
      table,
      ranges: mergeRanges(ranges),
      policies: latest!.policies,
      ...(concurrency ? { concurrency } : {}),
    };
    let execution: string;
    try {
      execution = await start(targets, executionName(table, mine), input);
    } catch (error) {
      others.push(...mine);
      throw error;
    }
    await deleteMessages(targets, mine);
    return { execution, ranges: input.ranges, messages: mine.length, leftOnQueue: others.length, unreadable };
  } finally {
    await release(targets, others);
  }
}

async function receiveAll({ sqs, queueUrl }: RedriveTargets, waitSeconds: number): Promise<Message[]> {
  const messages: Message[] = [];
  // Received messages stay invisible, so each receive brings new ones until the queue is empty.
  while (messages.length < MAX_MESSAGES) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: RECEIVE_BATCH,
        WaitTimeSeconds: waitSeconds,
        VisibilityTimeout: VISIBILITY_SECONDS,
      }),
    );
    if (Messages.length === 0) break;
    messages.push(...Messages);
  }
  return messages;
}

function readMessage(message: Message) {
  try {
    const parsed = failedBatchMessageSchema.safeParse(JSON.parse(message.Body ?? ''));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** A name made of the messages: the same messages redriven again name the same execution. */
function executionName(table: string, messages: Message[]): string {
  const ids = messages.map((message) => message.MessageId ?? '').sort();
  const digest = createHash('sha256').update(ids.join('\n')).digest('hex').slice(0, 16);
  // Execution names take no spaces, quotes, slashes and the like; the digest keeps them apart.
  return `redrive-${table.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 50)}-${digest}`;
}

async function start({ sfn, stateMachineArn }: RedriveTargets, name: string, input: ExecutionInput): Promise<string> {
  try {
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }),
    );
    return executionArn!;
  } catch (error) {
    // Started by an earlier redrive of these very messages that could not delete them.
    if (error instanceof ExecutionAlreadyExists)
      return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
    throw error;
  }
}

async function deleteMessages({ sqs, queueUrl }: RedriveTargets, messages: Message[]): Promise<void> {
  for (const batch of batches(messages)) {
    const { Failed = [] } = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: batch.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
    // A message not deleted comes back after its visibility timeout; redriving it again only copies its range again.
    if (Failed.length > 0)
      throw new Error(
        `The execution started, but ${Failed.length} messages could not be deleted: ${Failed[0]!.Message}`,
      );
  }
}

/** Makes messages visible again at once. */
async function release({ sqs, queueUrl }: RedriveTargets, messages: Message[]): Promise<void> {
  for (const batch of batches(messages)) {
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: batch.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0 })),
      }),
    );
  }
}

function batches<T>(items: T[]): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += RECEIVE_BATCH) result.push(items.slice(i, i + RECEIVE_BATCH));
  return result;
}

/** The queue and the state machine the stack names in the environment (FAILED_BATCHES_QUEUE, STATE_MACHINE_ARN). */
export function redriveTargetsFromEnvironment(
  clients: Pick<RedriveTargets, 'sqs' | 'sfn'>,
  env: NodeJS.ProcessEnv = process.env,
): RedriveTargets {
  const { FAILED_BATCHES_QUEUE: queueUrl, STATE_MACHINE_ARN: stateMachineArn } = env;
  if (!queueUrl || !stateMachineArn) {
    throw new InputValidationError(
      'Set FAILED_BATCHES_QUEUE and STATE_MACHINE_ARN (the stack outputs FailedBatchesQueueUrl and StateMachineArn)',
    );
  }
  return { ...clients, queueUrl, stateMachineArn };
}
