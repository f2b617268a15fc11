import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../root.js';
import type { SynthesizedWorkflow } from './definition.js';

const CACHE_FILE = path.join(ROOT, 'node_modules', '.cache', 'mysql-to-postgres', 'workflow.json');

interface CacheEntry {
  key: string;
  definition: SynthesizedWorkflow['definition'];
  handlerEntries: [string, string][];
  queues: [string, string][];
}

/**
 * The synthesized workflow, as synthesizeWorkflow gives it, kept in node_modules/.cache between
 * runs: loading the CDK and synthesizing takes about a second, and the template changes only
 * when a source file, a locked dependency, cdk.json (its feature flags) or the context does.
 * Those make up the cache key, so any edit synthesizes afresh. A definition is validated (aws-local-stepfunctions' checks) when
 * it is synthesized, so a cached one is known to be valid.
 */
export async function loadWorkflow(context: Record<string, unknown> = {}): Promise<SynthesizedWorkflow> {
  const key = cacheKey(context);
  const cached = readCache();
  if (cached?.key === key) {
    return {
      definition: cached.definition,
      handlerEntries: new Map(cached.handlerEntries),
      queues: new Map(cached.queues),
    };
  }
  const [{ synthesizeWorkflow }, { StateMachine }] = await Promise.all([
    import('./definition.js'),
    import('aws-local-stepfunctions'),
  ]);
  const workflow = synthesizeWorkflow(context);
  new StateMachine(workflow.definition as never, { validationOptions: { checkArn: false } });
  writeCache({
    key,
    definition: workflow.definition,
    handlerEntries: [...workflow.handlerEntries],
    queues: [...workflow.queues],
  });
  return workflow;
}

function cacheKey(context: Record<string, unknown>): string {
  const hash = createHash('sha256');
  // The stack's environment comes from these (see infra/cdk/app.ts).
  hash.update(
    JSON.stringify([context, process.env.CDK_DEFAULT_ACCOUNT ?? null, process.env.CDK_DEFAULT_REGION ?? null]),
  );
  const sources = ['infra', 'functions'].flatMap((dir) =>
    readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts'))
      .map((file) => path.join(dir, file)),
  );
  for (const file of [...sources.sort(), 'package-lock.json', 'cdk.json'])
    hash.update(file).update(readFileSync(path.join(ROOT, file)));
  return hash.digest('hex');
}

function readCache(): CacheEntry | null {
  try {
    return JSON.parse(readFileSync(CACHE_FILE, 'utf8')) as CacheEntry;
  } catch {
    return null;
  }
}

function writeCache(entry: CacheEntry): void {
  mkdirSync(path.dirname(CACHE_FILE), { recursive: true });
  // Written aside and renamed, so a run reading at the same time sees the old file or the new one.
  const partial = `${CACHE_FILE}.${process.pid}`;
  writeFileSync(partial, JSON.stringify(entry));
  renameSync(partial, CACHE_FILE);
}
