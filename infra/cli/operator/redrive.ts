import { z } from 'zod';
import { redrive as redriveRanges } from '../../../functions/core/redrive.js';
import { parseFlags } from '../flags.js';
import { type OperatorCommand, stackOutputs, stateMachineArn, UsageError } from './command.js';

const REDRIVE_FLAGS = {
  table: z.string({ error: 'is required: the table whose failed ranges to copy again' }),
  concurrency: z.coerce.number({ error: 'must be a whole number' }).int('must be a whole number').optional(),
  'queue-url': z.string().optional(),
  'state-machine': z.string().optional(),
};

/** `redrive`: the failed ranges of one table, from the deployed queue, copied again by one new execution. */
export const redrive: OperatorCommand = {
  summary: 'copy again the ranges of a table waiting on the failed-batches queue, in one execution',
  usage: `redrive --table users [--concurrency 4] [--queue-url <url>] [--state-machine <arn>]
  Starts one execution for exactly the table's queued ranges and deletes their messages once it
  started; other tables' messages stay queued. The queue and the state machine default to the
  deployed stack's outputs (cdk-outputs.json).`,
  async run(argv, io) {
    const { flags: values } = parseFlags(argv, REDRIVE_FLAGS);
    const queueUrl = values['queue-url'] ?? stackOutputs(io.outputsFile).FailedBatchesQueueUrl;
    if (!queueUrl)
      throw new UsageError(
        'No queue: give --queue-url <url>, or deploy with `npx cdk deploy --outputs-file cdk-outputs.json`',
      );
    const { concurrency } = values;
    const result = await redriveRanges(
      { table: values.table, concurrency },
      { sqs: io.sqs, sfn: io.sfn, queueUrl, stateMachineArn: stateMachineArn(values['state-machine'], io) },
    );
    if (result.unreadable > 0)
      io.err(`${result.unreadable} messages on the queue are not failed-batch messages of version 1; they stay there`);
    if (result.execution === null) {
      io.err(
        `No failed range of ${values.table} waits on the queue (${result.leftOnQueue} messages of other tables stay there)`,
      );
      return 0;
    }
    io.out(result.execution);
    io.err(
      `${result.ranges!.length} ranges from ${result.messages} messages, now deleted; ${result.leftOnQueue} other messages stay on the queue`,
    );
    return 0;
  },
};
