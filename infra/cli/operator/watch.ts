import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  DescribeMapRunCommand,
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

/** One look at the execution: its status and, once CopyRanges has started, the map run's item counts. */
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
    let execution: DescribeExecutionCommandOutput;
    for (;;) {
      execution = await io.sfn.send(new DescribeExecutionCommand({ executionArn }));
      const progress: Progress = { status: execution.status!, items: await mapRunItems(executionArn, io) };
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

/** The item counts of the execution's CopyRanges map run; none while Plan is still running. */
async function mapRunItems(executionArn: string, io: OperatorIo): Promise<MapRunItemCounts | undefined> {
  const { mapRuns } = await io.sfn.send(new ListMapRunsCommand({ executionArn }));
  const mapRunArn = mapRuns?.[0]?.mapRunArn;
  if (!mapRunArn) return undefined;
  const mapRun = await io.sfn.send(new DescribeMapRunCommand({ mapRunArn }));
  return mapRun.itemCounts;
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
