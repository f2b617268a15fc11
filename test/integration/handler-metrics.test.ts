import assert from 'node:assert/strict';
import { after, before, describe, mock, test } from 'node:test';
import type { Context } from 'aws-lambda';
import type { ConnectionPair } from '../../functions/core/connections.js';
import { lambdaContext } from '../../infra/local/lambda-context.js';
import { seedUsers } from '../../infra/local/seed.js';
import { closePair, dropTables, openPair, SOURCE_URL, TARGET_URL } from '../support/databases.js';

// The handlers as Lambda runs them, with metrics on: Powertools' development mode prints the
// metrics (CloudWatch's embedded metric format) through the global console, which the test reads.
process.env.POWERTOOLS_DEV = 'true';
process.env.POWERTOOLS_METRICS_DISABLED = 'false';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.SOURCE_URL = SOURCE_URL;
process.env.TARGET_URL = TARGET_URL;

type Handler = (event: unknown, context: Context) => Promise<unknown>;
const load = async (name: string) =>
  ((await import(`../../functions/${name}/handler.js`)) as { handler: Handler }).handler;

const TABLE = 'metrics_users';
const ROWS = 30;

/** The metrics one invocation emitted: name → [unit, value], with the namespace and dimension they went to. */
interface Emitted {
  namespace: string;
  dimensions: string[][];
  service: unknown;
  metrics: Record<string, readonly [unit: string, value: unknown]>;
}

/** Invokes the handler and reads back what it printed in the embedded metric format. */
async function invoke(handler: Handler, name: string, event: unknown): Promise<{ emitted: Emitted[]; error?: Error }> {
  const printed: string[] = [];
  const log = mock.method(console, 'log', (text: unknown) => void printed.push(String(text)));
  let error: Error | undefined;
  try {
    await handler(event, lambdaContext(name));
  } catch (caught) {
    error = caught as Error;
  } finally {
    log.mock.restore();
  }
  const emitted = printed
    .map((text) => JSON.parse(text) as Record<string, unknown> & { _aws?: EmfMetadata })
    .filter((line) => line._aws)
    .map((line) => {
      const [directive] = line._aws!.CloudWatchMetrics;
      return {
        namespace: directive!.Namespace,
        dimensions: directive!.Dimensions,
        service: line.service,
        metrics: Object.fromEntries(directive!.Metrics.map((m) => [m.Name, [m.Unit, line[m.Name]] as const])),
      };
    });
  return { emitted, ...(error ? { error } : {}) };
}

interface EmfMetadata {
  CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[];
}

// What the stack's dashboard and alarms read (docs/OBSERVABILITY.md), written out by hand.
const WHERE = { namespace: 'MysqlToPostgres', dimensions: [['service']], service: 'mysql-to-postgres' };

describe("the functions' metrics, as CloudWatch receives them", () => {
  let pair: ConnectionPair;
  const runId = `metrics-${process.pid}`;
  let item: Record<string, unknown>;

  before(async () => {
    pair = await openPair();
    await dropTables(pair, TABLE);
    await seedUsers(pair.source, { table: TABLE, rows: ROWS });
    const plan = await load('plan');
    const planned = (await plan(
      { input: { table: TABLE }, runId, execution: `local:${runId}` },
      lambdaContext('Plan'),
    )) as { items: number; policies: unknown };
    assert.equal(planned.items, 1);
    const page = (await (
      await load('read-items')
    )({ runId, from: 0 }, lambdaContext('ReadItems'))) as {
      items: unknown[];
    };
    item = { runId, execution: `local:${runId}`, table: TABLE, range: page.items[0], policies: planned.policies };
  });
  after(async () => {
    await pair.target.query('DELETE FROM migration.runs WHERE run_id = $1', [runId]);
    await dropTables(pair, TABLE);
    await closePair(pair);
  });

  test('CopyRange counts the rows it copied and its seconds; VerifyRange the rows it verified', async () => {
    const copied = await invoke(await load('copy-range'), 'CopyRange', item);
    assert.equal(copied.error, undefined);
    assert.equal(copied.emitted.length, 1);
    const { metrics, ...where } = copied.emitted[0]!;
    assert.deepEqual(where, WHERE);
    assert.deepEqual(Object.keys(metrics), ['RowsCopied', 'RangeSeconds']);
    assert.deepEqual(metrics.RowsCopied, ['Count', ROWS]);
    assert.equal(metrics.RangeSeconds![0], 'Seconds');
    assert.ok((metrics.RangeSeconds![1] as number) >= 0);

    const verified = await invoke(await load('verify-range'), 'VerifyRange', item);
    assert.equal(verified.error, undefined);
    assert.deepEqual(verified.emitted, [{ ...WHERE, metrics: { RowsVerified: ['Count', ROWS] } }]);
  });

  test('a mismatch counts one range error and one verification mismatch; Finish none not valid; Summarize the failed range', async () => {
    await pair.target.query(`UPDATE public.${TABLE} SET name = 'changed' WHERE id = 1`);
    const mismatched = await invoke(await load('verify-range'), 'VerifyRange', item);
    assert.equal(mismatched.error?.name, 'VerificationMismatchError');
    assert.deepEqual(mismatched.emitted, [
      { ...WHERE, metrics: { RangeErrors: ['Count', 1], VerificationMismatches: ['Count', 1] } },
    ]);

    // Finish builds nothing on a run whose data failed, and says it left no constraint NOT VALID.
    const finished = await invoke(await load('finish'), 'Finish', { runId, tables: [TABLE] });
    assert.equal(finished.error, undefined);
    assert.deepEqual(finished.emitted, [{ ...WHERE, metrics: { ConstraintsNotValid: ['Count', 0] } }]);

    const summarized = await invoke(await load('summarize'), 'Summarize', { runId });
    assert.equal(summarized.error?.name, 'RangesFailedError');
    assert.deepEqual(summarized.emitted, [{ ...WHERE, metrics: { RangesFailed: ['Count', 1] } }]);
  });
});
