import { z } from 'zod';
import { parseFlags } from '../flags.js';
import type { OperatorCommand } from './command.js';
import { start } from './start.js';

// The input fields a cut-over takes; its mode is its own.
const CUTOVER_FLAGS = {
  table: z.string().optional(),
  'quiet-seconds': z.string().optional(),
  'chunk-rows': z.string().optional(),
  concurrency: z.string().optional(),
  name: z.string().optional(),
  'state-machine': z.string().optional(),
};

/** What a cut-over's Summarize returns, as far as the result line needs it. */
interface CutoverSummary {
  table: string;
  ranges: number;
  verifiedRanges: number;
  changes: { to: { file: string; position: number } | null; lagSeconds: number | null } | null;
}

/**
 * `cutover`: starts `{"mode": "cutover"}` and watches it. The execution checks that the source has
 * stopped taking writes to the table (else it fails naming what still writes), applies the last
 * changes of the binary log, and verifies every range; this prints the lag and the result.
 */
export const cutover: OperatorCommand = {
  summary: 'once writes stopped: apply the last binlog changes, verify every range, print the lag and the result',
  usage: `cutover [--table users] [--quiet-seconds 10] [--chunk-rows 100000] [--concurrency 4]
        [--name <execution name>] [--state-machine <arn>]
  Stop the application's writes first. Exits 0 when the target is exact, 1 otherwise (the reason on stderr).`,
  async run(argv, io) {
    const { given } = parseFlags(argv, CUTOVER_FLAGS);
    const flags = Object.entries(given).flatMap(([flag, value]) =>
      value === undefined ? [] : [`--${flag}`, String(value)],
    );
    let output: string | undefined;
    const code = await start.run(['--mode', 'cutover', '--watch', ...flags], {
      ...io,
      out: (line) => {
        if (line.startsWith('{')) output = line;
        io.out(line);
      },
    });
    if (code === 0 && output) io.err(cutoverResult(JSON.parse(output) as CutoverSummary));
    return code;
  },
};

/** The cut-over's outcome in a sentence: where the changes were applied to, the lag, the verification. */
export function cutoverResult(summary: CutoverSummary): string {
  const to = summary.changes?.to ? ` up to ${summary.changes.to.file}:${summary.changes.to.position}` : '';
  const lag = summary.changes?.lagSeconds ?? null;
  return (
    `Cut-over of ${summary.table}: the last changes applied${to}, lag ${lag === null ? 'unknown' : `${lag} s`}; ` +
    `${summary.verifiedRanges} of ${summary.ranges} ranges verified: the target is exact. Point the application at PostgreSQL.`
  );
}
