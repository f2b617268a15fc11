import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../infra/cdk/app.js';
import { STACK_CONTEXT_KEYS } from '../../infra/cdk/config.js';
import { ENTRY_METADATA } from '../../infra/cdk/stack.js';

// The README's "Deploying to AWS" section, held to the template it describes.
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const deploySection = readme.slice(readme.indexOf('## Deploying to AWS'), readme.indexOf('### Starting a run'));

const MAX_CONCURRENCY = 16;
const template = Template.fromStack(buildApp({ 'aws:cdk:bundling-stacks': [], maxConcurrency: MAX_CONCURRENCY }).stack);
const functions = Object.entries(
  template.findResources('AWS::Lambda::Function', { Metadata: { [ENTRY_METADATA]: Match.anyValue() } }),
).map(([id, fn]) => ({ name: id.replace(/[0-9A-F]{8}$/, ''), properties: fn.Properties }));

describe("the README's deploy section says what the template holds", () => {
  test('the concurrency quota it asks for covers every reserved execution and the 100 Lambda keeps unreserved', () => {
    const quota = deploySection.match(/must be at least (\d+) × `maxConcurrency` \+ 100 \((\d+) by default\)/);
    assert.ok(quota, 'the quota line');
    const reserved = functions.reduce((sum, fn) => sum + (fn.properties.ReservedConcurrentExecutions ?? 0), 0);
    assert.equal(Number(quota[1]) * MAX_CONCURRENCY, reserved);
    assert.equal(Number(quota[2]), reserved + 100);
  });

  test('"What gets deployed" names every function', () => {
    const deployed = deploySection.slice(deploySection.indexOf('What gets deployed'));
    assert.equal(functions.length, 10);
    for (const { name } of functions) assert.match(deployed, new RegExp(`\\b${name}\\b`), name);
  });

  test('it names every output of the stack', () => {
    const outputs = deploySection.slice(deploySection.indexOf('The stack outputs'));
    const names = Object.keys(template.toJSON().Outputs as object);
    assert.ok(names.length >= 4);
    for (const name of names) assert.match(outputs, new RegExp(`\`${name}\``), name);
  });

  test("it names the state machine's log group as the template does", () => {
    const [group] = Object.values(
      template.findResources('AWS::Logs::LogGroup', {
        Properties: { LogGroupName: Match.stringLikeRegexp('^/aws/vendedlogs/') },
      }),
    );
    assert.ok(readme.includes(`the state machine to \`${group!.Properties.LogGroupName}\``));
  });

  test('the context table has a row for every context key the stack reads', () => {
    const rows = deploySection.split('\n').filter((line) => line.startsWith('| `'));
    const documented = new Set(rows.flatMap((row) => [...row.split(' | ')[0]!.matchAll(/`(\w+)`/g)].map((m) => m[1])));
    assert.deepEqual(
      STACK_CONTEXT_KEYS.filter((key) => !documented.has(key)),
      [],
    );
  });
});
