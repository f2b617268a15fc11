import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import {
  type ConnectionPair,
  closePair,
  closeSource,
  closeTarget,
  endpointFromUrl,
  openSource,
  openTarget,
} from '../../functions/core/connections.js';
import { seedUsers } from '../../infra/local/seed.js';
import { assertTargetExact } from '../support/exactness.js';
import { TlsServers } from '../support/tls-servers.js';

type Side = 'source' | 'target';
const SIDES: Side[] = ['source', 'target'];
const TABLE = 'tls_users';
const ROWS = 2_000;

// The PostgreSQL and MariaDB here are the test's own, started from the machine's server packages
// (test/support/tls-servers.ts): TLS-only with a certificate of a CA made for the test, or
// without TLS at all. Their certificate names localhost and ::1, not 127.0.0.1.
describe('TLS, against real servers with and without it', () => {
  let servers: TlsServers;

  before(async () => {
    servers = await TlsServers.create();
  });
  after(async () => {
    await servers?.remove();
  });

  const url = (side: Side, host: string, query = '') => {
    const port = side === 'source' ? servers.mariadb.port : servers.postgres.port;
    const scheme = side === 'source' ? 'mysql' : 'postgres';
    return `${scheme}://migrator:${encodeURIComponent(servers.password)}@${host}:${port}/shop${query}`;
  };
  const verifyFull = (ca = servers.certificates.ca) => `?sslmode=verify-full&sslrootcert=${ca}`;

  /** Connects as the product does, says whether the session is encrypted, and closes. */
  const connect = async (side: Side, address: string): Promise<boolean> => {
    const endpoint = endpointFromUrl(address, side, {});
    if (side === 'source') {
      const source = await openSource(endpoint);
      try {
        const [[status]] = (await source.promise().query("SHOW SESSION STATUS LIKE 'Ssl_cipher'")) as unknown as [
          [{ Value: string }],
        ];
        return status.Value !== '';
      } finally {
        await closeSource(source);
      }
    }
    const target = await openTarget(endpoint);
    try {
      const { rows } = await target.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
      return rows[0].ssl === true;
    } finally {
      await closeTarget(target);
    }
  };

  describe('servers without TLS', () => {
    before(() => servers.start('plain'));

    for (const side of SIDES) {
      test(`${side}: require and verify-full refuse the server, never fall back to plain text; off connects`, async () => {
        await assert.rejects(connect(side, url(side, 'localhost', '?sslmode=require')), /\b(SSL|secure connection)\b/);
        await assert.rejects(connect(side, url(side, 'localhost', verifyFull())), /\b(SSL|secure connection)\b/);
        assert.equal(await connect(side, url(side, 'localhost', '?sslmode=disable')), false);
      });
    }
  });

  describe('TLS-only servers', () => {
    before(() => servers.start('tls-only'));

    for (const side of SIDES) {
      test(`${side}: verify-full connects, encrypted, with the CA that signed the server, by name and by IPv6 address`, async () => {
        assert.equal(await connect(side, url(side, 'localhost', verifyFull())), true);
        assert.equal(await connect(side, url(side, '[::1]', verifyFull())), true);
      });

      test(`${side}: verify-full refuses a server whose certificate another CA signed`, async () => {
        await assert.rejects(
          connect(side, url(side, 'localhost', verifyFull(servers.certificates.wrongCa))),
          /certificate/,
        );
      });

      test(`${side}: verify-full refuses a server whose certificate names another host`, async () => {
        await assert.rejects(
          connect(side, url(side, '127.0.0.1', verifyFull())),
          /IP: 127\.0\.0\.1 is not in the cert's list/,
        );
      });

      test(`${side}: require encrypts without checking the certificate or the name`, async () => {
        assert.equal(await connect(side, url(side, '127.0.0.1', '?sslmode=require')), true);
      });

      test(`${side}: off is refused by a server that takes TLS only`, async () => {
        // MariaDB answers a plain login to a TLS-only server as a denied one; the same login over TLS succeeds above.
        await assert.rejects(
          connect(side, url(side, 'localhost', '?sslmode=disable')),
          side === 'source' ? /Access denied for user 'migrator'/ : /no pg_hba\.conf entry .* no encryption/,
        );
      });
    }

    describe('npm run migrate', () => {
      let pair: ConnectionPair;
      before(async () => {
        const [source, target] = await Promise.all([
          openSource(endpointFromUrl(url('source', 'localhost', verifyFull()), 'source', {})),
          openTarget(endpointFromUrl(url('target', 'localhost', verifyFull()), 'target', {})),
        ]);
        pair = { source, target };
        await seedUsers(source, { table: TABLE, rows: ROWS });
      });
      after(async () => {
        if (pair) await closePair(pair);
      });

      /** Runs the command with no TLS variables of the test's own, and with the functions' debug logs on. */
      const migrate = (args: string[]) =>
        promisify(execFile)(process.execPath, ['--import', 'tsx', 'infra/cli/migrate.ts', '--table', TABLE, ...args], {
          env: {
            ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !/_TLS$|CA_BUNDLE/.test(name))),
            POWERTOOLS_LOG_LEVEL: 'DEBUG',
            FORCE_COLOR: '0',
          },
          timeout: 120_000,
        }).then(
          ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
          (error: { code: number; stdout: string; stderr: string }) => error,
        );
      const assertNoPassword = (output: string) => {
        for (const form of [servers.password, encodeURIComponent(servers.password)])
          assert.ok(!output.includes(form), 'the password appears in the output');
      };

      test('with --source-tls and --target-tls verify-full and --ca-bundle, copies exactly, and no output holds the password', async () => {
        const run = await migrate([
          '--source',
          url('source', 'localhost'),
          '--target',
          url('target', 'localhost'),
          '--source-tls',
          'verify-full',
          '--target-tls',
          'verify-full',
          '--ca-bundle',
          servers.certificates.ca,
          '--chunk-rows',
          '500',
          '--json',
        ]);
        assert.equal(run.code, 0, run.stderr);
        // The summary, read back from the TLS-only target by the command itself.
        const summary = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
        assert.deepEqual(
          { status: summary.status, ranges: summary.ranges, rows: summary.rows, verifiedRows: summary.verifiedRows },
          { status: 'succeeded', ranges: 4, rows: ROWS, verifiedRows: ROWS },
        );
        // The functions did log at DEBUG level, so there was output to leak into.
        assert.match(run.stdout, /"level":"(DEBUG|INFO)"/);
        assertNoPassword(run.stdout + run.stderr);
        await assertTargetExact(pair, TABLE);
      });

      test("--retry-failed looks the last run up over TLS, here as the URLs' sslmode and an IPv6 host say", async () => {
        const run = await migrate([
          '--source',
          url('source', 'localhost', verifyFull()),
          '--target',
          url('target', '[::1]', verifyFull()),
          '--retry-failed',
        ]);
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stderr, new RegExp(`Run run-\\S+ of ${TABLE} left no range unfinished: nothing to retry`));
        assertNoPassword(run.stdout + run.stderr);
      });

      test("a URL's sslmode=verify-full with a CA that did not sign the server stops the run before anything is copied", async () => {
        await pair.target.query(`DROP TABLE public.${TABLE}`);
        const run = await migrate([
          '--source',
          url('source', 'localhost', verifyFull()),
          '--target',
          url('target', 'localhost', verifyFull(servers.certificates.wrongCa)),
          '--json',
        ]);
        // Found before the run: the target cannot be reached as the flags say.
        assert.equal(run.code, 4);
        const outcome = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
        assert.equal(outcome.status, 'failed');
        assert.match(outcome.error.message, /target: .*certificate/);
        assertNoPassword(run.stdout + run.stderr);
        const { rows } = await pair.target.query('SELECT to_regclass($1) AS table', [`public.${TABLE}`]);
        assert.deepEqual(rows, [{ table: null }]);
      });
    });
  });
});
