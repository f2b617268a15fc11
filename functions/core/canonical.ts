import { expectedPolicies } from './codecs/codec.js';
import type { SourceValue } from './copy-encoder.js';
import type { Policies } from './policies.js';
import type { ColumnPlan } from './schema.js';

/**
 * One text form per value meaning, so a value read from MySQL and the same value read back
 * from PostgreSQL compare equal exactly when they mean the same thing. Each column's codec gives
 * its form. The target session prints in fixed styles (UTC, ISO dates, hex bytea, shortest exact
 * floats, postgres intervals; see `openTarget`).
 */
export interface CanonicalForm {
  /**
   * What the source's value must arrive as, in canonical form: its meaning, after the run's
   * policies (null where a policy makes it NULL, without a NUL where one strips it).
   */
  source(value: string | Buffer): string | null;
  /** The value as PostgreSQL prints it in text. */
  target(value: string): string;
}

/** A row in canonical form; NULL stays null so it never equals any text. */
export type CanonicalRow = (string | null)[];

/** Each column's canonical form under the run's policies. */
export function canonicalForms(columns: ColumnPlan[], policies: Policies): CanonicalForm[] {
  const expected = expectedPolicies(policies);
  return columns.map((column) => column.codec.canonical(expected));
}

/** The row in canonical form, in place: rows are read to be compared once, and a copy of each would be garbage. */
export function canonicalSourceRow(forms: CanonicalForm[], row: SourceValue[]): CanonicalRow {
  const canonical = row as (SourceValue | string)[];
  for (let i = 0; i < forms.length; i++) {
    const value = row[i];
    canonical[i] = value === null || value === undefined ? null : forms[i]!.source(value);
  }
  return canonical as CanonicalRow;
}

/** The row in canonical form, in place, as {@link canonicalSourceRow}. */
export function canonicalTargetRow(forms: CanonicalForm[], row: (string | null)[]): CanonicalRow {
  for (let i = 0; i < forms.length; i++) {
    const value = row[i];
    row[i] = value === null || value === undefined ? null : forms[i]!.target(value);
  }
  return row;
}
