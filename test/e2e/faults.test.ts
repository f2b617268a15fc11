import assert from 'node:assert/strict';
import * as net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import type { ConnectionPair } from '../../functions/core/connections.js';
import type { FailedBatchMessage } from '../../functions/core/failed-batch.js';
import { DEFAULT_POLICIES } from '../../functions/core/policies.js';
import { redrive } from '../../functions/core/redrive.js';
import { describeSourceTable } from '../../functions/core/schema.js';
import { prepareTargetTable } from '../../functions/core/target-table.js';
import { STATE } from '../../infra/cdk/states.js';
import { main as migrate } from '../../infra/cli/migrate.js';
import { migrateLocally } from '../../infra/local/local-migration.js';
import { startLocalQueue } from '../../infra/local/queue.js';
import { runLocal, type WorkflowEvent } from '../../infra/local/runner.js';
import { seededId, seedUsers } from '../../infra/local/seed.js';
import { closePair, dropTables, openPair, readBothSides, SOURCE_URL, TARGET_URL } from '../support/databases.js';
import { within } from '../support/deadline.js';
import { failedBatch, STATE_MACHINE, startedInput } from '../support/failed-batches.js';

// Retries wait this long instead of the definition's seconds.
const RETRY_MS = 50;

/** Runs the workflow locally and keeps its events, to tell which faults were retried. */
async function migrateRecording(
  input: Record<string, unknown>,
  options: { targetUrl?: string; lambdaTimeoutMs?: number; onEvent?: (event: WorkflowEvent) => void } = {},
) {
  const events: WorkflowEvent[] = [];
  const outcome = await migrateLocally({
    sourceUrl: SOURCE_URL,
    targetUrl: options.targetUrl ?? TARGET_URL,
    input,
    retryIntervalMs: RETRY_MS,
    lambdaTimeoutMs: options.lambdaTimeoutMs,
    onEvent: (event) => {
      events.push(event);
      options.onEvent?.(event);
    },
  });
  const count = (type: string, state: string) =>
    events.filter((e) => e.type === type && 'state' in e && e.state?.name === state).length;
  return { ...outcome, count };
}

/** The target holds exactly the source's rows: same count, same values, no key twice. */
async function assertExact(pair: ConnectionPair, table: string): Promise<void> {
  const both = await readBothSides(pair, table);
  assert.equal(both.target.length, both.source.length);
  assert.equal(new Set(both.target.map((row) => row[0])).size, both.target.length);
  assert.deepEqual(both.target, both.source);
}

describe('faults injected while the workflow runs against the real databases', () => {
  let pair: ConnectionPair;
  before(async () => {
    pair = await openPair();
  });
  after(() => closePair(pair));

  describe('a connection dropped while a range streams', () => {
    const TABLE = 'faults_stream';
    const ROWS = 16_000;
    // The row at which the target holds the COPY (pg_sleep in a trigger) until the fault is injected.
    const HELD_AT = 500;

    before(async () => {
      await dropTables(pair, TABLE);
      await seedUsers(pair.source, { table: TABLE, rows: ROWS });
      // Wide rows, so the source is still sending (not all in socket buffers) when the target holds.
      await pair.source
        .promise()
        .query(`UPDATE ${TABLE} SET bio = CONCAT(bio, REPEAT('.', 2000)) WHERE bio LIKE 'bio of user%'`);
      await prepareTargetTable(pair.target, await describeSourceTable(pair.source, TABLE, pair.target), 'public');
      await pair.target.query(`CREATE TABLE IF NOT EXISTS ${TABLE}_released (released boolean)`);
      await pair.target.query(`
        CREATE OR REPLACE FUNCTION ${TABLE}_hold() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.id = ${HELD_AT} THEN
            IF NOT EXISTS (SELECT 1 FROM ${TABLE}_released) THEN PERFORM pg_sleep(1.5); END IF;
          END IF;
          RETURN NEW;
        END $$`);
      await pair.target.query(
        `CREATE TRIGGER ${TABLE}_hold BEFORE INSERT ON public.${TABLE} FOR EACH ROW EXECUTE FUNCTION ${TABLE}_hold()`,
      );
    });
    after(async () => {
      await dropTables(pair, TABLE);
      await pair.target.query(`DROP TABLE IF EXISTS ${TABLE}_released; DROP FUNCTION IF EXISTS ${TABLE}_hold()`);
    });

    /** Waits until the range's COPY is held mid-stream, injects the fault once, and lets later attempts through. */
    async function whileHeld(inject: (copyBackend: number) => Promise<void>): Promise<void> {
      await pair.target.query(`DELETE FROM ${TABLE}_released`);
      for (;;) {
        const { rows } = await pair.target.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep' AND query LIKE 'COPY %${TABLE}%'`,
        );
        if (rows[0]) {
          await inject(rows[0].pid);
          await pair.target.query(`INSERT INTO ${TABLE}_released VALUES (true)`);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }

    test('the MySQL connection killed mid-stream (KILL CONNECTION) is retried and the target is exact', async () => {
      let killed = 0;
      const fault = whileHeld(async () => {
        const [threads] = await pair.source
          .promise()
          .query(
            `SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND INFO LIKE 'SELECT %FROM \`${TABLE}\`%' AND ID <> CONNECTION_ID()`,
          );
        for (const { id } of threads as { id: number }[]) {
          await pair.source.promise().query(`KILL CONNECTION ${Number(id)}`);
          killed++;
        }
      });
      const outcome = await migrateRecording({ table: TABLE, chunkRows: 10_000, concurrency: 1 });
      await fault;
      assert.equal(killed, 1, 'the range was still streaming from MySQL when the target held it');
      assert.equal(outcome.run.status, 'SUCCEEDED', JSON.stringify(outcome.run.error));
      assert.ok(outcome.count('StateRetried', STATE.copyRange) >= 1);
      assert.equal(outcome.summary?.rows, ROWS);
      await assertExact(pair, TABLE);
    });

    test('the PostgreSQL backend of a running COPY terminated (pg_terminate_backend) is retried and the target is exact', async () => {
      const fault = whileHeld(async (backend) => {
        await pair.target.query('SELECT pg_terminate_backend($1)', [backend]);
      });
      const outcome = await migrateRecording({ table: TABLE, chunkRows: 10_000, concurrency: 1 });
      await fault;
      assert.equal(outcome.run.status, 'SUCCEEDED', JSON.stringify(outcome.run.error));
      assert.ok(outcome.count('StateRetried', STATE.copyRange) >= 1);
      assert.equal(outcome.summary?.rows, ROWS);
      await assertExact(pair, TABLE);
    });
  });

  test('the target unreachable when the ranges start (connection refused), then back, is retried and the target is exact', async () => {
    const TABLE = 'faults_refused';
    await dropTables(pair, TABLE);
    await seedUsers(pair.source, { table: TABLE, rows: 3_000 });
    const target = new URL(TARGET_URL);
    // A TCP proxy in front of PostgreSQL: it lets Plan and ReadItems in (a connection each), stops
    // listening when the second closes (so the ranges' connections are refused), and listens again
    // once a range was retried.
    const sockets = new Set<net.Socket>();
    const proxy = net.createServer((client) => {
      const server = net.connect(Number(target.port || 5432), target.hostname);
      for (const socket of [client, server]) {
        sockets.add(socket);
        socket.on('error', () => {});
        socket.on('close', () => sockets.delete(socket));
      }
      client.pipe(server).pipe(client);
      if (beforeRanges > 0) {
        client.once('close', () => {
          if (--beforeRanges === 0) proxy.close();
        });
      }
    });
    let beforeRanges = 2;
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const port = (proxy.address() as net.AddressInfo).port;
    const proxied = new URL(TARGET_URL);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(port);
    try {
      const outcome = await migrateRecording(
        { table: TABLE, chunkRows: 1_000, concurrency: 3 },
        {
          targetUrl: proxied.toString(),
          onEvent: (event) => {
            if (
              event.type === 'StateRetried' &&
              'state' in event &&
              event.state?.name === STATE.copyRange &&
              !proxy.listening
            )
              proxy.listen(port, '127.0.0.1');
          },
        },
      );
      assert.equal(outcome.run.status, 'SUCCEEDED', JSON.stringify(outcome.run.error));
      assert.ok(outcome.count('StateRetried', STATE.copyRange) >= 1);
      assert.equal(outcome.summary?.failed, 0);
      await assertExact(pair, TABLE);
    } finally {
      proxy.close();
      for (const socket of sockets) socket.destroy();
      await dropTables(pair, TABLE);
    }
  });

  test('a row the target refuses fails only its range, which reaches the queue, and after the fix one redrive completes the table', async () => {
    const TABLE = 'faults_poison';
    const ROWS = 3_000;
    const poisoned = String(seededId(1_500, ROWS));
    await dropTables(pair, TABLE);
    await seedUsers(pair.source, { table: TABLE, rows: ROWS });
    await prepareTargetTable(pair.target, await describeSourceTable(pair.source, TABLE, pair.target), 'public');
    await pair.target.query(`ALTER TABLE public.${TABLE} ADD CONSTRAINT ${TABLE}_refuses CHECK (name <> 'refused')`);
    await pair.source.promise().query(`UPDATE ${TABLE} SET name = 'refused' WHERE id = ${poisoned}`);
    const queue = await startLocalQueue();
    const sfn = mockClient(SFNClient);
    try {
      const events: WorkflowEvent[] = [];
      const local = {
        sourceUrl: SOURCE_URL,
        targetUrl: TARGET_URL,
        failedBatches: async () => queue,
        retryIntervalMs: RETRY_MS,
      };
      const failed = await runLocal({
        ...local,
        input: { table: TABLE, chunkRows: 1_000 },
        onEvent: (event) => events.push(event),
      });
      assert.equal(failed.status, 'FAILED');
      assert.equal(failed.error?.name, 'RangesFailedError');
      assert.ok(!events.some((e) => e.type === 'StateRetried'), 'a refused row is not retried');
      const described = events.filter(
        (e) => e.type === 'StateExited' && 'state' in e && e.state?.name === STATE.describeFailure,
      );
      assert.equal(described.length, 1, "only the refused row's range failed");
      const message = (described[0] as { state: { output: FailedBatchMessage } }).state.output;
      // PostgreSQL names the refused row by its COPY line; the range finds its key.
      assert.deepEqual([message.error.name, message.key, message.attempts], ['ValueConversionError', poisoned, 1]);
      // The row's value ('refused') and PostgreSQL's words about it stay in the ledger, off the queue.
      assert.doesNotMatch(JSON.stringify(message), /refused/);

      // Another table's failure waits on the same queue and must stay there.
      await queue.sqs.send(
        new SendMessageCommand({
          QueueUrl: queue.queueUrl,
          MessageBody: JSON.stringify(failedBatch('faults_other', 0, null, '10')),
        }),
      );
      sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:redrive', startDate: new Date() });
      await pair.source.promise().query(`UPDATE ${TABLE} SET name = 'fixed' WHERE id = ${poisoned}`);
      const targets = {
        sqs: queue.sqs,
        sfn: new SFNClient({ region: 'us-east-1' }),
        queueUrl: queue.queueUrl,
        stateMachineArn: STATE_MACHINE,
      };
      const redriven = await redrive({ table: TABLE }, targets, 0);

      assert.equal(redriven.messages, 1);
      const [input] = startedInput(sfn) as Record<string, unknown>[];
      assert.deepEqual(input, {
        table: TABLE,
        ranges: [{ lo: String(seededId(1_000, ROWS)), hi: String(seededId(2_000, ROWS)) }],
        policies: DEFAULT_POLICIES,
      });
      // The new execution, run here by the local engine with exactly the input redrive started.
      const completed = await runLocal({ ...local, input: input! });
      assert.equal(completed.status, 'SUCCEEDED', JSON.stringify(completed.error));
      await assertExact(pair, TABLE);

      const left = (await queue.drain()) as FailedBatchMessage[];
      assert.deepEqual(
        left.map((message) => message.table),
        ['faults_other'],
      );
    } finally {
      sfn.restore();
      await queue.stop();
      await dropTables(pair, TABLE);
    }
  });

  test('a failed range the queue cannot take is retried, then the run still ends in Summarize, failed, and frees its table', async () => {
    const TABLE = 'faults_no_queue';
    const ROWS = 2_000;
    const poisoned = String(seededId(1_500, ROWS));
    await dropTables(pair, TABLE);
    await seedUsers(pair.source, { table: TABLE, rows: ROWS });
    await pair.source.promise().query(`UPDATE ${TABLE} SET is_active = 2 WHERE id = ${poisoned}`);
    try {
      const events: WorkflowEvent[] = [];
      let sends = 0;
      const run = await runLocal({
        sourceUrl: SOURCE_URL,
        targetUrl: TARGET_URL,
        // One range at a time: the first is done before the second fails.
        input: { table: TABLE, chunkRows: 1_000, concurrency: 1 },
        retryIntervalMs: RETRY_MS,
        // SQS down for the whole run.
        failedBatches: async () => {
          sends++;
          throw new Error('SQS is unavailable');
        },
        onEvent: (event) => events.push(event),
      });
      const entered = (state: string) =>
        events.filter((e) => e.type === 'StateEntered' && 'state' in e && e.state?.name === state).length;
      assert.ok(sends > 1, 'the send was retried');
      assert.equal(entered(STATE.failureNotQueued), 1);
      assert.equal(entered(STATE.summarize), 1, 'the run reached Summarize');
      assert.equal(run.status, 'FAILED');
      assert.equal(run.error?.name, 'RangesFailedError', run.error?.message);
      const { rows: leases } = await pair.target.query('SELECT 1 FROM migration.leases WHERE table_name = $1', [TABLE]);
      assert.deepEqual(leases, [], "the table's lease is released");
      const { rows: ranges } = await pair.target.query(
        'SELECT status FROM migration.ranges WHERE run_id = $1 ORDER BY range_index',
        [run.runId],
      );
      assert.deepEqual(
        ranges.map((r) => r.status),
        ['copied', 'failed'],
      );
    } finally {
      await dropTables(pair, TABLE);
    }
  });

  test('the failed-batch message names the run, the range, the error class, the failing key and the attempts', async () => {
    const TABLE = 'faults_message';
    const ROWS = 2_000;
    const poisoned = String(seededId(1_234, ROWS));
    await dropTables(pair, TABLE);
    await seedUsers(pair.source, { table: TABLE, rows: ROWS });
    await pair.source.promise().query(`UPDATE ${TABLE} SET is_active = 2 WHERE id = ${poisoned}`);
    try {
      const outcome = await migrateRecording({ table: TABLE, chunkRows: 1_000 });
      assert.equal(outcome.failedBatches.length, 1);
      const [message] = outcome.failedBatches as FailedBatchMessage[];
      assert.deepEqual(
        { ...message!, time: undefined },
        {
          version: 1,
          execution: outcome.run.execution,
          runId: outcome.run.runId,
          table: TABLE,
          range: { index: 1, lo: String(seededId(1_000, ROWS)), hi: null },
          policies: DEFAULT_POLICIES,
          error: {
            name: 'ValueConversionError',
            message: `${TABLE}.is_active at key ${poisoned}: the value cannot be represented in PostgreSQL (the ledger has the reason)`,
          },
          key: poisoned,
          attempts: 1,
          time: undefined,
        },
      );
      assert.ok(Math.abs(Date.parse(message!.time) - Date.now()) < 60_000);
    } finally {
      await dropTables(pair, TABLE);
    }
  });

  test('after a partial failure, `migrate --retry-failed` copies exactly the failed range and the target is exact', async (t) => {
    const TABLE = 'faults_rerun';
    const ROWS = 3_000;
    const poisoned = seededId(2_345, ROWS);
    await dropTables(pair, TABLE);
    await seedUsers(pair.source, { table: TABLE, rows: ROWS });
    await pair.source.promise().query(`UPDATE ${TABLE} SET created_at = '0000-00-00 00:00:00' WHERE id = ${poisoned}`);
    const printed: string[] = [];
    t.mock.method(console, 'log', (line: string) => printed.push(line));
    t.mock.method(console, 'error', () => {});
    const flags = ['--source', SOURCE_URL, '--target', TARGET_URL, '--table', TABLE, '--chunk-rows', '1000', '--json'];
    const summary = () =>
      JSON.parse(printed.at(-1)!) as {
        status: string;
        ranges: number;
        rows: number;
        failedRanges: { lo: string; hi: string | null }[];
      };
    try {
      assert.equal(await migrate(flags), 1);
      const first = summary();
      assert.deepEqual([first.ranges, first.rows, first.failedRanges.length], [3, 2_000, 1]);

      await pair.source
        .promise()
        .query(`UPDATE ${TABLE} SET created_at = '2021-01-01 00:00:00' WHERE id = ${poisoned}`);
      assert.equal(await migrate([...flags, '--retry-failed']), 0);
      const retried = summary();
      assert.deepEqual([retried.status, retried.ranges, retried.rows], ['succeeded', 1, 1_000]);
      const { rows } = await pair.target.query(
        `SELECT lo::text, hi::text FROM migration.ranges r JOIN migration.runs USING (run_id) WHERE r.table_name = $1 ORDER BY started_at DESC LIMIT 1`,
        [TABLE],
      );
      assert.deepEqual(rows, [{ lo: first.failedRanges[0]!.lo, hi: first.failedRanges[0]!.hi }]);
      await assertExact(pair, TABLE);

      // Nothing left to retry.
      assert.equal(await migrate([...flags, '--retry-failed']), 0);
    } finally {
      await dropTables(pair, TABLE);
    }
  });

  test('`migrate` against a database that cannot be reached ends at once in one line naming it, exit 4, even with --retry-failed', async (t) => {
    // A port nothing listens on.
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const target = new URL(TARGET_URL);
    target.hostname = '127.0.0.1';
    target.port = String(port);
    target.password = 'not-to-be-printed';
    const errors: string[] = [];
    t.mock.method(console, 'error', (line: string) => errors.push(line));
    t.mock.method(console, 'log', (line: string) => errors.push(line));
    for (const extra of [[], ['--retry-failed']]) {
      errors.length = 0;
      const flags = ['--source', SOURCE_URL, '--target', target.toString(), '--table', 'faults_nowhere', ...extra];
      assert.equal(await within(8_000, 'migrate to refuse the unreachable target', migrate(flags)), 4);
      assert.equal(errors.length, 1, errors.join('\n'));
      assert.match(
        errors[0]!,
        new RegExp(
          `^Cannot connect to the target database \\S+ at 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED.*Check that the server is running`,
        ),
      );
      assert.doesNotMatch(errors[0]!, /not-to-be-printed|\n\s+at /);
    }
  });

  test('a tiny time budget makes every invocation hand back a continuation, and the ranges still land exactly once', async () => {
    const TABLE = 'faults_budget';
    await dropTables(pair, TABLE);
    await seedUsers(pair.source, { table: TABLE, rows: 60 });
    // Each invocation has 1 s and keeps 1 s for committing: it copies one row, then hands back.
    process.env.COPY_TIME_MARGIN_MS = '1000';
    try {
      const outcome = await migrateRecording({ table: TABLE, chunkRows: 25 }, { lambdaTimeoutMs: 1_000 });
      assert.equal(outcome.run.status, 'SUCCEEDED', JSON.stringify(outcome.run.error));
      assert.equal(outcome.count('StateEntered', STATE.resumeRange), 60 - 3);
      const { rows } = await pair.target.query(
        'SELECT status, rows::int, attempts, resume_key FROM migration.ranges WHERE run_id = $1 ORDER BY range_index',
        [outcome.run.runId],
      );
      assert.deepEqual(
        rows,
        [25, 25, 10].map((count) => ({ status: 'copied', rows: count, attempts: 1, resume_key: null })),
      );
      await assertExact(pair, TABLE);
    } finally {
      delete process.env.COPY_TIME_MARGIN_MS;
      await dropTables(pair, TABLE);
    }
  });
});
