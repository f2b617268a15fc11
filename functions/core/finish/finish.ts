import * as z from 'zod';
import type { ConnectionPair } from '../connections.js';
import { classifyDatabaseError } from '../errors.js';
import { NAME, NAME_RULE, TARGET_SCHEMA } from '../identifiers.js';
import { renewLease } from '../lease.js';
import { dataOutcome } from '../summarize.js';
import { applyConstraint, applyObject, applySequence, type FinishedObject, notCarried } from './apply.js';
import { type FinishStatus, readFinishSummary, recordFinishedObject, recordFinishStatus } from './record.js';
import { readSourceObjects } from './source-objects.js';
import { planFinish } from './translate.js';

export const finishEventSchema = z.object({
  runId: z.string().min(1),
  /** The run's tables: their objects are built, and the foreign keys between them and the target's other tables. */
  tables: z.array(z.string().regex(NAME, NAME_RULE)).min(1),
});

export type FinishEvent = z.infer<typeof finishEventSchema>;

export interface FinishResult {
  runId: string;
  status: FinishStatus;
  created: number;
  present: number;
  updated: number;
  notValid: number;
  notCarried: number;
}

/**
 * Builds, once the run's data is in, what the application needs of the target beyond the rows:
 * sequences past the highest key, ON UPDATE CURRENT_TIMESTAMP triggers, secondary indexes,
 * checks, foreign keys (NOT VALID, then VALIDATE) and comments; and lists what is not carried,
 * the source's views and triggers among them. Skipped when the run's data failed, so no constraint
 * is built on half the rows. Repeatable: what the target has already is left as it is, and each
 * object is recorded in the ledger with what became of it.
 */
export async function finish(event: FinishEvent, { source, target }: ConnectionPair): Promise<FinishResult> {
  const { runId, tables } = finishEventSchema.parse(event);
  // Whatever stops it is recorded, so Summarize cannot take a run that never finished for one that did.
  try {
    const outcome = await dataOutcome(target, runId);
    if (!outcome.succeeded) {
      await recordFinishStatus(target, runId, 'skipped', outcome.why);
      return { runId, status: 'skipped', created: 0, present: 0, updated: 0, notValid: 0, notCarried: 0 };
    }
    await recordFinishStatus(target, runId, 'running');
    // A heartbeat: index builds on large tables take a while, and no other run may write meanwhile.
    for (const table of tables) await renewLease(target, table, runId);
    const plan = planFinish(await readSourceObjects(source, tables), TARGET_SCHEMA);
    let position = 0;
    const record = (object: FinishedObject) => recordFinishedObject(target, runId, position++, object);
    for (const sequence of plan.sequences) await record(await applySequence(target, sequence, TARGET_SCHEMA));
    for (const trigger of plan.onUpdateTriggers) await record(await applyObject(target, trigger, TARGET_SCHEMA));
    // Unique indexes first: a foreign key needs the key it references to be unique.
    const indexes = [...plan.indexes].sort(
      (a, b) => Number(b.create.startsWith('CREATE UNIQUE')) - Number(a.create.startsWith('CREATE UNIQUE')),
    );
    for (const index of indexes) await record(await applyObject(target, index, TARGET_SCHEMA));
    for (const check of plan.checks) await record(await applyConstraint(target, check, TARGET_SCHEMA));
    for (const key of plan.foreignKeys) await record(await applyConstraint(target, key, TARGET_SCHEMA));
    for (const comment of plan.comments) await record(await applyObject(target, comment, TARGET_SCHEMA));
    for (const object of plan.notCarried) await record(notCarried(object));
    await recordFinishStatus(target, runId, 'finished');
  } catch (error) {
    const named = classifyDatabaseError(error, 'target');
    await recordFinishStatus(target, runId, 'failed', `${named.name}: ${named.message}`).catch(() => {});
    throw named;
  }
  const { counts } = (await readFinishSummary(target, runId))!;
  return {
    runId,
    status: 'finished',
    created: counts.created,
    present: counts.present,
    updated: counts.updated,
    notValid: counts['not valid'],
    notCarried: counts['not carried'],
  };
}
