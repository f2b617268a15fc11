import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolveRunSettings } from '../../functions/core/input.js';
import { DEFAULT_POLICIES } from '../../functions/core/policies.js';
import { migrateFlags } from '../../infra/cli/migrate.js';

const DEFAULTS = { tables: ['users'], chunkRows: 1000, concurrency: 2 };
const URLS = [
  '--source',
  'mysql://root@127.0.0.1:3306/test',
  '--target',
  'postgres://root@127.0.0.1:5432/test',
  '--table',
  'users',
];

describe('policies in the execution input', () => {
  test('are optional: each one left out takes its default', () => {
    assert.deepEqual(DEFAULT_POLICIES, {
      zeroDates: 'null',
      nulBytes: 'fail',
      tinyint1: 'fail',
      emptyEnum: 'keep',
      spatial: 'bytea',
    });
    assert.deepEqual(resolveRunSettings({}, DEFAULTS).policies, DEFAULT_POLICIES);
    assert.deepEqual(resolveRunSettings({ policies: { nulBytes: 'strip' } }, DEFAULTS).policies, {
      ...DEFAULT_POLICIES,
      nulBytes: 'strip',
    });
  });

  test('a value that is not one of the choices is refused naming the policy and its choices', () => {
    assert.throws(() => resolveRunSettings({ policies: { zeroDates: 'epoch', tinyint1: true } }, DEFAULTS), {
      name: 'InputValidationError',
      message:
        'Invalid execution input: "policies.zeroDates" must be one of null, fail; "policies.tinyint1" must be one of fail, nonzero-true',
    });
  });

  test('an unknown policy is refused naming it and the known ones', () => {
    assert.throws(() => resolveRunSettings({ policies: { zeroDate: 'null' } }, DEFAULTS), {
      name: 'InputValidationError',
      message:
        'Invalid execution input: unknown field "policies.zeroDate": remove it (known fields: zeroDates, nulBytes, tinyint1, emptyEnum, spatial)',
    });
  });
});

describe('policy flags of the migrate command', () => {
  test('become the policies of the execution input; without them the input has no policies field', () => {
    const { input } = migrateFlags([
      ...URLS,
      '--zero-dates',
      'fail',
      '--nul-bytes',
      'strip',
      '--tinyint1',
      'nonzero-true',
    ]);
    assert.deepEqual(input.policies, { zeroDates: 'fail', nulBytes: 'strip', tinyint1: 'nonzero-true' });
    assert.equal(migrateFlags(URLS).input.policies, undefined);
  });

  test('a wrong choice is refused naming the flag', () => {
    assert.throws(() => migrateFlags([...URLS, '--empty-enum', 'drop']), {
      message: /^--empty-enum must be one of keep, null, fail\n/,
    });
  });
});
