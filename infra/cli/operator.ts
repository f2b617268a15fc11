import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DEFAULT_OUTPUTS_FILE, type OperatorCommand, type OperatorIo, UsageError } from './operator/command.js';
import { cutover } from './operator/cutover.js';
import { redrive } from './operator/redrive.js';
import { start } from './operator/start.js';
import { watch } from './operator/watch.js';

/** The operator's commands against the deployed stack; each lives in infra/cli/operator/<name>.ts. */
export const COMMANDS: Record<string, OperatorCommand> = { start, watch, redrive, cutover };

const USAGE = `Usage: npm run operator -- <command> [flags]   (AWS credentials and region as for the AWS CLI)

${Object.entries(COMMANDS)
  .map(([name, command]) => `  ${name.padEnd(8)} ${command.summary}`)
  .join('\n')}

npm run operator -- <command> --help shows a command's flags.`;

/** Runs one command; returns the exit code. */
export async function main(argv: string[], io: OperatorIo = defaultIo()): Promise<number> {
  const [name, ...rest] = argv;
  const command = name === undefined ? undefined : COMMANDS[name];
  if (!command) {
    io.err(name === undefined || name === '--help' ? USAGE : `Unknown command ${name}\n${USAGE}`);
    return name === '--help' ? 0 : 2;
  }
  if (rest.includes('--help')) {
    io.err(`Usage: npm run operator -- ${command.usage}`);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    const usage = error instanceof UsageError;
    io.err(
      usage
        ? `${(error as Error).message}\nUsage: npm run operator -- ${command.usage}`
        : `${(error as Error).name}: ${(error as Error).message}`,
    );
    return usage ? 2 : 1;
  }
}

function defaultIo(): OperatorIo {
  return {
    sfn: new SFNClient({}),
    sqs: new SQSClient({}),
    out: (line) => console.log(line),
    err: (line) => console.error(line),
    interactive: process.stderr.isTTY === true,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    outputsFile: DEFAULT_OUTPUTS_FILE,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
