import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tls from 'node:tls';
import { driverTlsOptions, tlsFromEnvironment } from '../../functions/core/connections.js';
import { RDS_PROXY_CAS } from '../../infra/cdk/stack.js';
import { ROOT } from '../../infra/root.js';

/** The PEM certificates of a file, comments aside. */
const certificatesIn = (pem: string) =>
  (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map(
    (block) => new X509Certificate(block),
  );
const commonName = (certificate: X509Certificate) => certificate.subject.match(/^CN=(.+)$/m)![1];

describe('the RDS Proxy roots every function ships (infra/cdk/rds-proxy-ca.pem)', () => {
  const shipped = certificatesIn(readFileSync(path.join(ROOT, RDS_PROXY_CAS), 'utf8'));

  test('are the Amazon Trust Services roots and the Starfield root an ACM certificate chains to', () => {
    assert.deepEqual(shipped.map(commonName), [
      'Amazon Root CA 1',
      'Amazon Root CA 2',
      'Amazon Root CA 3',
      'Amazon Root CA 4',
      'Starfield Services Root Certificate Authority - G2',
    ]);
    for (const certificate of shipped) assert.ok(certificate.ca && certificate.checkIssued(certificate));
  });

  test("are, byte for byte, the certificates Node.js's own list of trusted roots holds under those names", () => {
    const nodeRoots = new Set(tls.rootCertificates.map((pem) => new X509Certificate(pem).fingerprint256));
    for (const certificate of shipped) assert.ok(nodeRoots.has(certificate.fingerprint256), commonName(certificate));
  });

  test('are valid for years yet', () => {
    const inFiveYears = Date.now() + 5 * 365 * 86_400_000;
    for (const certificate of shipped)
      assert.ok(Date.parse(certificate.validTo) > inFiveYears, commonName(certificate));
  });
});

/**
 * A CA bundle given to the drivers replaces Node's list of trusted roots. Two local CAs stand in for
 * the RDS CA (which signs a database's certificate) and for an Amazon root (which an RDS Proxy's
 * certificate chains to), and a TLS server presents a certificate from either.
 */
describe('verify-full with DATABASE_CA_BUNDLE naming the RDS CAs and the proxy roots', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'proxy-tls-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const servers: tls.Server[] = [];
  const ports: Record<string, number> = {};

  /** A self-signed CA in `<name>.pem`, its key in `<name>.key`. */
  const authority = (name: string) =>
    openssl(
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2'],
      ...['-keyout', `${name}.key`, '-out', `${name}.pem`, '-subj', `/CN=${name}`],
      ...['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign'],
    );
  /** A server certificate for localhost, issued by `ca`, served on a port of its own. */
  const serve = async (ca: string) => {
    writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=DNS:localhost\n');
    openssl(
      ...['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
      ...['-keyout', `${ca}-server.key`, '-out', `${ca}-server.csr`, '-subj', '/CN=localhost'],
    );
    openssl(
      ...['x509', '-req', '-in', `${ca}-server.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial'],
      ...['-days', '2', '-extfile', 'san.ext', '-out', `${ca}-server.pem`],
    );
    const server = tls.createServer(
      {
        key: readFileSync(path.join(dir, `${ca}-server.key`)),
        cert: readFileSync(path.join(dir, `${ca}-server.pem`)),
      },
      (socket) => socket.end(),
    );
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    ports[ca] = (server.address() as AddressInfo).port;
  };

  before(async () => {
    authority('rds-ca');
    authority('amazon-root');
    await serve('rds-ca');
    await serve('amazon-root');
  });
  after(() => {
    for (const server of servers) server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Connects as the drivers do, with the TLS settings the functions read from their environment. */
  async function handshake(server: string, bundle: string[], servername = 'localhost'): Promise<void> {
    const settings = tlsFromEnvironment(
      { SOURCE_TLS: 'verify-full', DATABASE_CA_BUNDLE: bundle.map((file) => path.join(dir, file)).join(':') },
      'source',
    );
    const socket = tls.connect({ host: '127.0.0.1', port: ports[server], servername, ...driverTlsOptions(settings) });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('secureConnect', resolve);
        socket.once('error', reject);
        socket.setTimeout(5_000, () => reject(new Error('no TLS handshake within 5 s')));
      });
    } finally {
      socket.destroy();
    }
  }

  test("the RDS CAs alone refuse the proxy's certificate", async () => {
    await assert.rejects(handshake('amazon-root', ['rds-ca.pem']), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  });

  test('both files trust the database and the proxy, and still check the host name', async () => {
    const bundle = ['rds-ca.pem', 'amazon-root.pem'];
    await handshake('rds-ca', bundle);
    await handshake('amazon-root', bundle);
    await assert.rejects(
      handshake('amazon-root', bundle, 'elsewhere.example'),
      /does not match certificate's altnames/,
    );
  });

  test('a bundle file with comments between its certificates, as the shipped proxy file has, is read whole', async () => {
    const proxyRoots = readFileSync(path.join(ROOT, RDS_PROXY_CAS), 'utf8');
    const standIn = readFileSync(path.join(dir, 'amazon-root.pem'), 'utf8');
    writeFileSync(path.join(dir, 'commented.pem'), [proxyRoots, '# A stand-in root', standIn].join('\n'));
    await handshake('amazon-root', ['rds-ca.pem', 'commented.pem']);
  });
});
