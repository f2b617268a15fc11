import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import {
  driverTlsOptions,
  endpointFromEnvironment,
  endpointFromUrl,
  parseRdsSecret,
  tlsFromEnvironment,
} from '../../functions/core/connections.js';

describe('TLS settings', () => {
  test('verify-full checks the certificate and the host name against the CA bundle; require only encrypts; off is plain', () => {
    assert.deepEqual(driverTlsOptions({ mode: 'verify-full', ca: 'PEM' }), {
      rejectUnauthorized: true,
      verifyIdentity: true,
      ca: 'PEM',
    });
    assert.deepEqual(driverTlsOptions({ mode: 'verify-full' }), { rejectUnauthorized: true, verifyIdentity: true });
    assert.deepEqual(driverTlsOptions({ mode: 'require' }), { rejectUnauthorized: false, verifyIdentity: false });
    assert.equal(driverTlsOptions({ mode: 'off' }), undefined);
    assert.equal(driverTlsOptions(undefined), undefined);
  });

  test('come from SOURCE_TLS / TARGET_TLS, with the CA bundle file read for verify-full only', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'tls-')), 'bundle.pem');
    writeFileSync(file, 'CERTIFICATES');
    const env = { SOURCE_TLS: 'verify-full', TARGET_TLS: 'require', DATABASE_CA_BUNDLE: file };
    assert.deepEqual(tlsFromEnvironment(env, 'source'), { mode: 'verify-full', ca: 'CERTIFICATES' });
    assert.deepEqual(tlsFromEnvironment(env, 'target'), { mode: 'require' });
    assert.deepEqual(tlsFromEnvironment({}, 'source'), { mode: 'off' });
  });

  test('refuse an unknown mode and an unreadable CA bundle, naming the variable', () => {
    assert.throws(
      () => tlsFromEnvironment({ TARGET_TLS: 'true' }, 'target'),
      /TARGET_TLS must be one of verify-full, require, off, not true/,
    );
    assert.throws(
      () => tlsFromEnvironment({ SOURCE_TLS: 'verify-full', DATABASE_CA_BUNDLE: '/nowhere/bundle.pem' }, 'source'),
      /DATABASE_CA_BUNDLE names \/nowhere\/bundle.pem, which cannot be read/,
    );
  });
});

describe('a database URL', () => {
  const caFile = path.join(mkdtempSync(path.join(tmpdir(), 'url-ca-')), 'ca.pem');
  writeFileSync(caFile, 'URL CERTIFICATES');
  const password = 'pa:ss@w/rd';
  const url = (query: string) => `postgres://app:${encodeURIComponent(password)}@db.internal:6432/shop${query}`;

  test('takes an IPv6 host in brackets, on either side', () => {
    assert.equal(endpointFromUrl('postgres://root@[::1]:5432/db', 'target', {}).host, '::1');
    assert.deepEqual(endpointFromUrl('mysql://root@[2001:db8::7]/db', 'source', {}), {
      host: '2001:db8::7',
      port: 3306,
      user: 'root',
      password: '',
      database: 'db',
      tls: { mode: 'off' },
    });
  });

  test("honours libpq's sslmode and sslrootcert, on either side", () => {
    assert.deepEqual(endpointFromUrl(url(`?sslmode=verify-full&sslrootcert=${caFile}`), 'target', {}).tls, {
      mode: 'verify-full',
      ca: 'URL CERTIFICATES',
    });
    assert.deepEqual(endpointFromUrl('mysql://root@h/db?sslmode=require', 'source', {}).tls, { mode: 'require' });
    assert.deepEqual(endpointFromUrl(url('?sslmode=disable'), 'target', {}).tls, { mode: 'off' });
    assert.equal(endpointFromUrl(url(''), 'target', {}).password, password);
  });

  test('takes the mode and the CA file from the environment (the TLS flags) when the URL gives none', () => {
    const env = { TARGET_TLS: 'verify-full', DATABASE_CA_BUNDLE: caFile };
    assert.deepEqual(endpointFromUrl(url(''), 'target', env).tls, { mode: 'verify-full', ca: 'URL CERTIFICATES' });
    assert.deepEqual(endpointFromUrl(url('?sslmode=verify-full'), 'target', env).tls?.mode, 'verify-full');
    assert.deepEqual(endpointFromUrl(url(`?sslrootcert=${caFile}`), 'target', env).tls?.mode, 'verify-full');
  });

  test('refuses what it would otherwise ignore or downgrade, naming what to change and never the password', () => {
    const refusals: [string, NodeJS.ProcessEnv, RegExp][] = [
      ['?sslmode=prefer', {}, /"target" URL has sslmode=prefer: use one of disable, require, verify-full/],
      ['?sslmode=verify-ca', {}, /sslmode=verify-ca: use one of/],
      ['?ssl=true&application_name=x', {}, /"target" URL has ssl, application_name, which this tool does not read/],
      [
        '?sslmode=require',
        { TARGET_TLS: 'verify-full' },
        /"target" URL says sslmode=require but TARGET_TLS \(--target-tls\) says verify-full/,
      ],
      ['?sslmode=verify-full', { TARGET_TLS: 'off' }, /says sslmode=verify-full but TARGET_TLS .* says off/],
      [
        `?sslmode=require&sslrootcert=${caFile}`,
        {},
        /sslrootcert, which only verify-full uses, but its TLS mode is require/,
      ],
      [`?sslrootcert=${caFile}`, {}, /its TLS mode is off/],
      [
        `?sslmode=verify-full&sslrootcert=${caFile}`,
        { DATABASE_CA_BUNDLE: '/etc/other.pem' },
        /sslrootcert=.* but DATABASE_CA_BUNDLE \(--ca-bundle\) is \/etc\/other.pem/,
      ],
      [
        '?sslmode=verify-full&sslrootcert=/nowhere/ca.pem',
        {},
        /URL's sslrootcert names \/nowhere\/ca.pem, which cannot be read/,
      ],
    ];
    for (const [query, env, message] of refusals) {
      assert.throws(
        () => endpointFromUrl(url(query), 'target', env),
        (error: Error) => {
          assert.equal(error.name, 'InputValidationError');
          assert.match(error.message, message);
          assert.ok(!error.message.includes(password) && !error.message.includes(encodeURIComponent(password)));
          return true;
        },
        query,
      );
    }
  });
});

describe('endpoints from the environment', () => {
  test('SOURCE_HOST / TARGET_HOST replace the host (an RDS Proxy endpoint) and keep the rest', async () => {
    const env = {
      SOURCE_URL: 'mysql://app:pw@db.internal:3307/shop',
      TARGET_URL: 'postgres://app@pg.internal/shop',
      SOURCE_HOST: 'shop.proxy-abc.eu-west-1.rds.amazonaws.com',
      TARGET_TLS: 'require',
    };
    assert.deepEqual(await endpointFromEnvironment('source', env), {
      host: 'shop.proxy-abc.eu-west-1.rds.amazonaws.com',
      port: 3307,
      user: 'app',
      password: 'pw',
      database: 'shop',
      tls: { mode: 'off' },
    });
    const target = await endpointFromEnvironment('target', env);
    assert.equal(target.host, 'pg.internal');
    assert.deepEqual(target.tls, { mode: 'require' });
  });

  test("one side is read without the other side's settings", async () => {
    const target = await endpointFromEnvironment('target', { TARGET_URL: 'postgres://app@pg.internal/shop' });
    assert.equal(target.host, 'pg.internal');
    await assert.rejects(
      endpointFromEnvironment('source', { TARGET_URL: 'postgres://app@pg.internal/shop' }),
      /No source database configured: set SOURCE_SECRET_ID \(in AWS\) or SOURCE_URL \(locally\)/,
    );
  });
});

describe('an RDS secret', () => {
  const password = 'Tr0ub4dor&3-in-the-secret';

  test('is read from its JSON, port as text or number', () => {
    assert.deepEqual(
      parseRdsSecret(JSON.stringify({ host: 'h', port: '5432', username: 'u', password, dbname: 'd' }), 'target'),
      {
        host: 'h',
        port: 5432,
        username: 'u',
        password,
        dbname: 'd',
      },
    );
  });

  test('that is malformed is refused without its text in the error', () => {
    for (const text of [
      `password=${password}`,
      `{"password":"${password}"`,
      JSON.stringify({ password, port: 'x' }),
      undefined,
    ]) {
      assert.throws(
        () => parseRdsSecret(text, 'source'),
        (error: Error) => {
          assert.equal(error.name, 'InputValidationError');
          assert.equal(
            error.message,
            'The source secret is not RDS secret JSON (username, password; host, port, dbname)',
          );
          assert.ok(!`${error.stack}${JSON.stringify(error)}`.includes(password));
          return true;
        },
      );
    }
  });
});

describe('endpoints from Secrets Manager', () => {
  const secretsManager = mockClient(SecretsManagerClient);
  after(() => secretsManager.restore());

  test('a secret RDS manages (username and password only) takes host and database from the environment, the port by side, and is read once', async () => {
    const id = `rds!db-${randomUUID()}`;
    secretsManager
      .on(GetSecretValueCommand, { SecretId: id })
      .resolves({ SecretString: JSON.stringify({ username: 'admin', password: 'pw' }) });
    const env = {
      SOURCE_SECRET_ID: id,
      SOURCE_HOST: 'shop.cluster-abc.eu-west-1.rds.amazonaws.com',
      SOURCE_DATABASE: 'shop',
    };
    assert.deepEqual(await endpointFromEnvironment('source', env), {
      host: 'shop.cluster-abc.eu-west-1.rds.amazonaws.com',
      port: 3306,
      user: 'admin',
      password: 'pw',
      database: 'shop',
      tls: { mode: 'off' },
    });
    await endpointFromEnvironment('source', env);
    assert.equal(secretsManager.commandCalls(GetSecretValueCommand, { SecretId: id }).length, 1, 'cached');
    await assert.rejects(
      endpointFromEnvironment('source', { ...env, SOURCE_HOST: '' }),
      /The source secret has no host and no SOURCE_HOST is set/,
    );
  });
});
