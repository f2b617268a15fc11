import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { STACK_NAME } from '../../cdk/app.js';
import { ROOT } from '../../root.js';
import { UsageError } from '../flags.js';

/** What a command gets: the AWS clients, where to write, and how to wait (tests pass their own). */
export interface OperatorIo {
  sfn: SFNClient;
  sqs: SQSClient;
  /** Results (ARNs, summaries): what a script would read. */
  out: (line: string) => void;
  /** Progress and errors. */
  err: (line: string) => void;
  /** A TTY on stderr shows a progress bar; anything else gets one line per change. */
  interactive: boolean;
  sleep: (ms: number) => Promise<void>;
  /** The `cdk deploy --outputs-file` file the deployed stack's ARNs are read from. */
  outputsFile: string;
}

/** One subcommand of the operator CLI. */
export interface OperatorCommand {
  /** One line for the command list. */
  summary: string;
  usage: string;
  /** Runs the command; returns the process exit code (0 done, 1 the execution failed, 2 bad flags). */
  run(argv: string[], io: OperatorIo): Promise<number>;
}

export { UsageError } from '../flags.js';

export const DEFAULT_OUTPUTS_FILE = path.join(ROOT, 'cdk-outputs.json');

/** The stack's outputs as `cdk deploy --outputs-file` wrote them; empty when there is no such file. */
export function stackOutputs(file: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return {};
  }
  const outputs = (JSON.parse(text) as Record<string, Record<string, string>>)[STACK_NAME];
  return outputs ?? {};
}

/** The state machine's ARN: the flag, else the deployed stack's output. */
export function stateMachineArn(flag: string | undefined, io: OperatorIo): string {
  const arn = flag ?? stackOutputs(io.outputsFile).StateMachineArn;
  if (!arn) {
    throw new UsageError(
      `No state machine: give --state-machine <arn>, or deploy with \`npx cdk deploy --outputs-file cdk-outputs.json\` so it is read from there`,
    );
  }
  return arn;
}
