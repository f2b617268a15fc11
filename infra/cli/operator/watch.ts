import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  DescribeMapRunCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListMapRunsCommand,
  type MapRunItemCounts,
} from '@aws-sdk/client-sfn';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import cliProgress from 'cli-progress';
import { z } from 'zod';
import { STATE } from '../../cdk/states.js';
import { parseFlags } from '../flags.js';
import { type OperatorCommand, type OperatorIo, stackOutputs, stateMachineArn, UsageError } from './command.js';

const DEFAULT_INTERVAL_SECONDS = 5;

/**
 * One look at the execution: its status and, once CopyRanges has started, the item counts of its
 * map runs (one per page of ranges) together, of every range Plan planned.
 */
export interface Progress {
  status: string;
  items?: MapRunItemCounts;
  /** Messages waiting on the failed-batches queue (all executions'), when the queue is known. */
  failedBatches?: number;
}

const WATCH_FLAGS = {
  interval: z.coerce
    .number({ error: 'must be a number of seconds above 0' })
    .positive('must be a number of seconds above 0')
    .default(DEFAULT_INTERVAL_SECONDS),
  'state-machine': z.string().optional(),
  'queue-url': z.string().optional(),
};

/** `watch`: polls the execution and its map run until it ends, showing ranges done of planned. */
export const watch: OperatorCommand = {
  summary: "follow an execution's progress until it ends (the latest execution when no ARN is given)",
  usage: `watch [<execution arn>] [--interval 5] [--state-machine <arn>] [--queue-url <url>]
  Exits 0 when the execution succeeded, 1 when it failed, timed out or was aborted.`,
  async run(argv, io) {
    const { flags: values, positionals } = parseFlags(argv, WATCH_FLAGS, { positionals: true });
    const { interval } = values;
    if (positionals.length > 1) throw new UsageError('watch takes one execution ARN');
    const executionArn = positionals[0] ?? (await latestExecution(stateMachineArn(values['state-machine'], io), io));
    const queueUrl = values['queue-url'] ?? stackOutputs(io.outputsFile).FailedBatchesQueueUrl;

    io.err(`Watching ${executionArn}`);
    const view = progressView(io);
    const mapRunItems = mapRunCounter(executionArn, io);
    let execution: DescribeExecutionCommandOutput;
    for (;;) {
      execution = await io.sfn.send(new DescribeExecutionCommand({ executionArn }));
      const progress: Progress = { status: execution.status!, items: await mapRunItems() };
      if (queueUrl) progress.failedBatches = await waitingMessages(queueUrl, io);
      view.show(progress);
      if (execution.status !== 'RUNNING' && execution.status !== 'PENDING_REDRIVE') break;
      await io.sleep(interval * 1000);
    }
    view.stop();
    return report(execution, io);
  },
};

async function latestExecution(stateMachineArn: string, io: OperatorIo): Promise<string> {
  const { executions } = await io.sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: 1 }));
  const latest = executions?.[0]?.executionArn;
  if (!latest) throw new UsageError(`${stateMachineArn} has no executions yet: start one with \`operator start\``);
  return latest;
}

/**
 * The item counts of the execution's map runs, summed: the Map runs once per page of ranges. Its
 * total is the ranges Plan planned, once Plan's output says so. A map run that ended keeps its
 * counts, so each poll describes only those still running. None while Plan is still running.
 */
function mapRunCounter(executionArn: string, io: OperatorIo): () => Promise<MapRunItemCounts | undefined> {
  const ended = new Map<string, MapRunItemCounts | undefined>();
  let planned: number | undefined;
  return async () => {
    const arns: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await io.sfn.send(new ListMapRunsCommand({ executionArn, nextToken }));
      arns.push(...(page.mapRuns ?? []).map((run) => run.mapRunArn!));
      nextToken = page.nextToken;
    } while (nextToken);
    if (arns.length === 0) return undefined;
    planned ??= await plannedItems(executionArn, io);
    const counts = await Promise.all(
      arns.map(async (mapRunArn) => {
        if (ended.has(mapRunArn)) return ended.get(mapRunArn);
        const mapRun = await io.sfn.send(new DescribeMapRunCommand({ mapRunArn }));
        if (mapRun.status && mapRun.status !== 'RUNNING') ended.set(mapRunArn, mapRun.itemCounts);
        return mapRun.itemCounts;
      }),
    );
    const sum: Record<string, number> = {};
    for (const count of counts) {
      for (const [field, n] of Object.entries(count ?? {}))
        if (typeof n === 'number') sum[field] = (sum[field] ?? 0) + n;
    }
    return { ...sum, ...(planned !== undefined ? { total: planned } : {}) } as MapRunItemCounts;
  };
}

/** How many items Plan planned (its output's `items`), from the start of the execution's history. */
async function plannedItems(executionArn: string, io: OperatorIo): Promise<number | undefined> {
  const { events } = (await io.sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 50 }))) ?? {};
  const exited = events?.find((event) => event.stateExitedEventDetails?.name === STATE.plan);
  const items = exited && (JSON.parse(exited.stateExitedEventDetails!.output ?? '{}') as { items?: unknown }).items;
  return typeof items === 'number' ? items : undefined;
}

async function waitingMessages(queueUrl: string, io: OperatorIo): Promise<number> {
  const { Attributes } = await io.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages ?? 0);
}

/** Ranges finished, whatever the outcome: a range that failed its retries was caught and queued. */
export function rangesDone(items: MapRunItemCounts): number {
  return (items.succeeded ?? 0) + (items.failed ?? 0) + (items.timedOut ?? 0) + (items.aborted ?? 0);
}

/** One line for logs and pipes: `RUNNING CopyRanges 40/100 ranges (8 running, 0 failed) | 1 failed batch waiting`. */
export function describeProgress(progress: Progress): string {
  const parts = [progress.status];
  if (progress.items) {
    const { total = 0, running = 0, failed = 0, timedOut = 0 } = progress.items;
    parts.push(
      `${STATE.copyRanges} ${rangesDone(progress.items)}/${total} ranges (${running} running, ${failed + timedOut} failed)`,
    );
  } else if (progress.status === 'RUNNING') {
    parts.push(`${STATE.plan}: splitting the table into ranges`);
  }
  if (progress.failedBatches !== undefined) parts.push(`| ${progress.failedBatches} on the failed-batches queue`);
  return parts.join(' ');
}

/** A progress bar on a terminal; elsewhere a line each time something changes. */
function progressView(io: OperatorIo) {
  let last = '';
  let bar: cliProgress.SingleBar | undefined;
  return {
    show(progress: Progress) {
      if (io.interactive && progress.items) {
        const payload = {
          status: progress.status,
          running: progress.items.running ?? 0,
          queued: progress.failedBatches ?? '-',
        };
        bar ??= new cliProgress.SingleBar(
          {
            format: `${STATE.copyRanges} [{bar}] {value}/{total} ranges | {running} running | {status} | failed batches queued: {queued}`,
            hideCursor: true,
            stream: process.stderr,
          },
          cliProgress.Presets.shades_classic,
        );
        if (!bar.isActive) bar.start(progress.items.total ?? 0, rangesDone(progress.items), payload);
        bar.setTotal(progress.items.total ?? 0);
        bar.update(rangesDone(progress.items), payload);
        return;
      }
      const line = describeProgress(progress);
      if (line !== last) io.err(line);
      last = line;
    },
    stop: () => bar?.stop(),
  };
}

function report(execution: DescribeExecutionCommandOutput, io: OperatorIo): number {
  if (execution.status === 'SUCCEEDED') {
    io.out(execution.output ?? '{}');
    return 0;
  }
  io.err(
    `${execution.status}${execution.error ? `: ${execution.error}` : ''}${execution.cause ? `: ${execution.cause}` : ''}`,
  );
  return 1;
}
