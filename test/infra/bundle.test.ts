import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { buildApp, STACK_NAME } from '../../infra/cdk/app.js';
import { ENTRY_METADATA } from '../../infra/cdk/stack.js';

const MAX_COPY_RANGE_BUNDLE_BYTES = 1_000_000;

describe('the bundled CopyRange function', () => {
  let outdir: string;
  let bundle: string;
  let applyChanges: string;

  before(() => {
    outdir = mkdtempSync(path.join(os.tmpdir(), 'bundle-test-'));
    // A real synth with esbuild bundling, as `cdk synth` does it (template checks aside).
    const { app } = buildApp({ 'aws:cdk:enable-asset-metadata': true }, { outdir, validate: false });
    const stack = app.synth().getStackByName(STACK_NAME);
    const functions = Object.values(
      stack.template.Resources as Record<string, { Type: string; Metadata?: Record<string, string> }>,
    );
    const copyRange = functions.find(
      (r) => r.Type === 'AWS::Lambda::Function' && r.Metadata?.[ENTRY_METADATA] === 'functions/copy-range/handler.ts',
    );
    bundle = path.join(outdir, copyRange!.Metadata!['aws:asset:path']!, 'index.js');
    const apply = functions.find((r) => r.Metadata?.[ENTRY_METADATA] === 'functions/apply-changes/handler.ts');
    applyChanges = path.join(outdir, apply!.Metadata!['aws:asset:path']!, 'index.js');
  });
  after(() => rmSync(outdir, { recursive: true, force: true }));

  test('is under 1 MB, so it loads quickly on a cold start', () => {
    const bytes = statSync(bundle).size;
    assert.ok(
      bytes < MAX_COPY_RANGE_BUNDLE_BYTES,
      `the CopyRange bundle is ${Math.round(bytes / 1000)} KB: bundle it with --metafile to see what grew ` +
        '(the full zod build alone is 450 KB: modules CopyRange imports use zod/mini)',
    );
  });

  test('loads with nothing from outside but the AWS SDK the Lambda runtime provides', async () => {
    // Beside the bundle, as in the runtime, only @aws-sdk can be found; everything else must be inside.
    mkdirSync(path.join(outdir, 'node_modules'));
    symlinkSync(path.resolve('node_modules/@aws-sdk'), path.join(outdir, 'node_modules/@aws-sdk'));
    // ApplyChanges too: the binlog reader is an ES module bundled into CommonJS.
    for (const file of [bundle, applyChanges]) {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['-e', `process.stdout.write(typeof require(${JSON.stringify(file)}).handler)`],
        { cwd: outdir },
      );
      assert.equal(stdout, 'function', file);
    }
  });
});
