import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { handler as copyRange } from '../../functions/copy-range/handler.js';
import type { CopyRangeResult } from '../../functions/core/copy-range.js';
import type { ItemsPage } from '../../functions/core/items.js';
import type { PlannedRun } from '../../functions/core/plan.js';
import type { KeyRange } from '../../functions/core/ranges.js';
import { handler as plan } from '../../functions/plan/handler.js';
import { handler as readItems } from '../../functions/read-items/handler.js';
import { handler as summarize } from '../../functions/summarize/handler.js';
import { STATE } from '../cdk/states.js';
import { lambdaContext } from '../local/lambda-context.js';
import { parseFlags, sourceUrlFlag, targetUrlFlag } from './flags.js';

/**
 * Plans a table as one single range, copies it and closes the run with the real Plan, CopyRange
 * and Summarize handlers, in this process only, then prints the range's `{ rows, seconds }` as
 * JSON: the benchmark runs this in a process of its own to measure what one range costs in
 * memory, without the workflow's machinery.
 */
const { flags: values } = parseFlags(process.argv.slice(2), {
  source: sourceUrlFlag(),
  target: targetUrlFlag(),
  table: z.string({ error: 'is required' }),
});
process.env.SOURCE_URL = values.source;
process.env.TARGET_URL = values.target;

const runId = `one-range-${randomUUID().slice(0, 8)}`;
// A chunk larger than any table: Plan cuts no boundary, so the only range covers every key. No
// VerifyRange follows, so the run does not ask for one: Summarize then ends it as copied.
const planned = (await plan(
  { input: { table: values.table, chunkRows: Number.MAX_SAFE_INTEGER, verify: false }, runId, execution: runId },
  lambdaContext(STATE.plan) as never,
)) as PlannedRun;
const started = performance.now();
try {
  const page = (await readItems({ runId, from: 0 }, lambdaContext(STATE.readItems) as never)) as ItemsPage;
  const range = page.items[0] as KeyRange;
  const event = { runId, table: values.table, range, policies: planned.policies };
  const copied = (await copyRange(event, lambdaContext(STATE.copyRange) as never)) as CopyRangeResult;
  console.log(JSON.stringify({ rows: copied.rows, seconds: Math.round(performance.now() - started) / 1000 }));
} finally {
  // Summarize releases the table's lease, which Plan took, whether the range landed or not.
  await summarize({ runId }, lambdaContext(STATE.summarize) as never).catch(() => {});
}
