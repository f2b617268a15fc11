import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { z } from 'zod';
import { parseFlags } from '../flags.js';
import { executionInputFromFlags, INPUT_FLAGS } from '../input-flags.js';
import { type OperatorCommand, stateMachineArn, UsageError } from './command.js';
import { watch } from './watch.js';

const START_FLAGS = {
  ...INPUT_FLAGS,
  input: z.string().optional(),
  name: z.string().optional(),
  'state-machine': z.string().optional(),
  watch: z.boolean().default(false),
};

/** `start`: validates the execution input here, exactly as Plan will, then starts one execution. */
export const start: OperatorCommand = {
  summary: 'start an execution of the deployed state machine',
  usage: `start [--table users] [--chunk-rows 100000] [--concurrency 4] [--mode full|incremental|binlog|cutover]
        [--change-column updated_at] [--overlap-seconds 60] [--quiet-seconds 10] [--verify checksum|rows] [--no-verify] [--input '{"table":"users"}']
        [--name <execution name>] [--state-machine <arn>] [--watch]
  Flags override the same fields of --input; no flags and no --input is {} (the stack's configured table).`,
  async run(argv, io) {
    const { flags: values, given } = parseFlags(argv, START_FLAGS);
    let base: Record<string, unknown> = {};
    if (values.input !== undefined) {
      try {
        base = JSON.parse(values.input) as Record<string, unknown>;
      } catch {
        throw new UsageError('--input is not JSON: give an object such as \'{"table":"users","chunkRows":100000}\'');
      }
      if (typeof base !== 'object' || base === null || Array.isArray(base))
        throw new UsageError('--input must be a JSON object');
    }
    let input: Record<string, unknown>;
    try {
      input = executionInputFromFlags(given, base);
    } catch (error) {
      throw new UsageError(`Invalid execution input: ${(error as Error).message}`);
    }
    const started = await io.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: stateMachineArn(values['state-machine'], io),
        input: JSON.stringify(input),
        ...(values.name ? { name: values.name } : {}),
      }),
    );
    io.out(started.executionArn!);
    io.err(`Started with input ${JSON.stringify(input)}`);
    return values.watch ? watch.run([started.executionArn!], io) : 0;
  },
};
