import type { CanonicalForm } from '../canonical.js';
import {
  type Policies,
  type PolicyCounts,
  type PolicyName,
  policyEffect,
  STRICT_POLICIES,
  zeroPolicyCounts,
} from '../policies.js';
import type { PgType } from './pg-type.js';
import type { Encoding } from './type-table.js';

/**
 * How mysql2 hands a column's values over: `text` as the server prints them, `bytes` as they are
 * stored, `utf8` as text decoded from UTF-8 whatever charset the result claims (MySQL 8 marks
 * JSON results as binary).
 */
export type Arrival = 'text' | 'bytes' | 'utf8';

/** How the source reads a column. */
export interface SourceRead {
  /** The MySQL expression that reads the column exactly, from its quoted name; absent, the column itself does. */
  expression?: (quoted: string) => string;
  arrives: Arrival;
}

/** One non-NULL source value in PostgreSQL's text form; null stores NULL. */
export type Encode = (value: string | Buffer) => string | null;

/**
 * One way of carrying a column's values, with its parameters (a width, a precision, ENUM labels)
 * bound: everything the migration knows about such a column. The type table
 * (`type-table.ts`) picks one per source column.
 */
export interface Codec<E extends string = Encoding> {
  /** Its name, one per module of this folder: the type table's rows name the encodings there are. */
  readonly encoding: E;
  /** The target column's type, spelled as PostgreSQL's format_type() prints it. */
  readonly pgType: string;
  /**
   * Whether an existing target column of this type holds every value the source column can
   * have: the mapped type, or a wider one (a larger integer, a longer varchar, more fractional
   * digits).
   */
  holds(target: PgType): boolean;
  readonly read: SourceRead;
  /**
   * The COPY encoder of one column: made once per column, it turns each value into PostgreSQL's
   * text form (COPY escaping comes after, for every value alike), applying the run's policies
   * through `apply`.
   */
  encoder(apply: ApplyPolicy): Encode;
  /**
   * The canonical form verification compares: what a source value must arrive as, derived
   * through the same policy steps the encoder takes, and what PostgreSQL prints for it.
   */
  canonical(apply: ApplyPolicy): CanonicalForm;
  readonly defaults: Defaults;
  /**
   * The SQL each database computes for a value's canonical text under the run's policies, so a
   * range is verified by checksums computed where its rows lie (`range-checksum.ts`). Absent
   * where no SQL prints a value alike on both sides (floats, JSON): such columns are compared
   * row by row through `canonical`.
   */
  canonicalSql?(expect: ExpectSql): CanonicalSql;
  /** How a key column of this type bounds ranges; absent where no order is alike on both sides. */
  readonly key?: KeySql;
  /**
   * Values whose bytes, as they arrive, PostgreSQL reads as it reads what `encoder` makes of
   * them: the copy writes such bytes through (COPY-escaped, then `suffix`) without decoding them
   * or calling the encoder. Absent, every value goes through the encoder.
   */
  readonly verbatim?: Verbatim;
}

export interface Verbatim {
  /** Whether a value's bytes are written through; every value's are when absent. */
  when?: (bytes: Buffer) => boolean;
  /** ASCII said after the bytes (an offset). */
  suffix?: string;
}

/** Every value of the column is written through as it arrives (a value holding a NUL byte excepted). */
export const AS_ARRIVED: Verbatim = {};

/**
 * A key column in an order both databases agree on, for range boundaries: each boundary value is
 * JSON-safe text (`read` prints it), and becomes a literal on each side only through the checks here.
 */
export interface KeySql {
  /** MySQL's expression printing a value as a boundary's text. */
  read: (quoted: string) => string;
  /** The column, over the quoted name, as each side orders it (the same order on both). */
  source: (quoted: string) => string;
  target: (quoted: string) => string;
  /** A boundary's text as a literal of that order; throws on text of another shape. */
  sourceLiteral: (value: string) => string;
  targetLiteral: (value: string) => string;
  /**
   * How two canonical values of the column compare in that order, so rows both sides read in it
   * can be merged by key: as `numbers`, or as the `bytes` of their UTF-8 text (text, ISO dates, hex).
   */
  order: KeyOrder;
}

/** The order of a key column's canonical values (see KeySql). */
export type KeyOrder = 'numbers' | 'bytes';

/** A boundary's text checked against a pattern, so nothing else reaches the SQL. */
export function keyText(value: string, pattern: RegExp, what: string): string {
  if (!pattern.test(value)) throw new TypeError(`Not ${what}: ${JSON.stringify(value).slice(0, 40)}`);
  return value;
}

/**
 * One column's canonical text as SQL: `source` is MySQL's expression of what a source value
 * must arrive as, `target` PostgreSQL's of what it holds, each over the quoted column; equal
 * texts exactly when the values mean the same. NULL stays NULL.
 */
export interface CanonicalSql {
  source: (quoted: string) => string;
  target: (quoted: string) => string;
  /**
   * Whether the text may hold any character (text, labels): it is then hashed after its length,
   * so that no text can pass for a column boundary. Other texts never hold `|`.
   */
  anyText?: boolean;
}

/**
 * What the run's policies make of a value they cover, in MySQL's SQL: `value` itself (a policy
 * that refuses it: the range was never copied), `NULL`, or `changed` (the value as it arrives,
 * stripped or read as true), as {@link expectedPolicies} does in TypeScript.
 */
export type ExpectSql = (covered: Covered, value: string, changed?: string) => string;

export function expectedSql(policies: Policies): ExpectSql {
  return (covered, value, changed) => {
    switch (policyEffect(policies, covered.policy)) {
      case 'refuse':
        return value;
      case 'null':
        return 'NULL';
      case 'arrive':
        return changed ?? value;
    }
  };
}

/** `CASE WHEN when THEN covered ELSE value END`, or only `value` when the policy leaves covered values as they are. */
export const unlessCovered = (when: string, covered: string, value: string) =>
  covered === value ? value : `CASE WHEN ${when} THEN ${covered} ELSE ${value} END`;

/** The source defaults a codec carries into the target's CREATE TABLE. */
export interface Defaults {
  /** MySQL default expressions that mean the same as a PostgreSQL one (`curdate()` and `CURRENT_DATE`). */
  expressions: readonly (readonly [mysql: RegExp, postgres: string])[];
  /** Why literal defaults are dropped; null: a literal is carried as the codec encodes it under the strictest policies. */
  literalsDropped: string | null;
  /** Literal defaults whose rows arrive as NULL, so the target column must take NULL, and why. */
  arrivesAsNull?: { literal: (value: string) => boolean; because: string };
}

/** The defaults most codecs carry: literals, as they encode them, and no expression. */
export const LITERAL_DEFAULTS: Defaults = { expressions: [], literalsDropped: null };

/** A value PostgreSQL cannot hold as it is; the encoder's caller turns it into an error naming the row. */
export class Unrepresentable extends Error {}

/** A kind of value one of the run's policies covers, as a codec meets it. */
export interface Covered {
  policy: PolicyName;
  /** Why PostgreSQL cannot hold the value: the error when the policy refuses it. */
  refused: (value: string) => string;
  /** The value as the error names it when the policy makes it NULL in a NOT NULL column. */
  named: (value: string) => string;
  /** What the policy makes of a value it lets arrive (stripped of NULs, read as true); the value itself if absent. */
  changed?: (value: string) => string;
}

/** What the run's policies make of a value they cover: its text, or null for NULL. */
export type ApplyPolicy = (covered: Covered, value: string) => string | null;

/**
 * The policies as COPY applies them: a refused value throws, NULL throws where the target column
 * refuses it, and every value a policy handled is counted.
 */
export function copyPolicies(policies: Policies, counts: PolicyCounts, nullable: boolean): ApplyPolicy {
  return (covered, value) => {
    const { policy } = covered;
    switch (policyEffect(policies, policy)) {
      case 'refuse':
        throw new Unrepresentable(`${covered.refused(value)} (${policy}: ${policies[policy]})`);
      case 'null':
        if (!nullable) {
          throw new Unrepresentable(
            `${covered.named(value)} becomes NULL (${policy}: ${policies[policy]}), but the target column is NOT NULL: allow NULL in the target column, or fix the source value`,
          );
        }
        counts[policy]++;
        return null;
      case 'arrive':
        counts[policy]++;
        return covered.changed ? covered.changed(value) : value;
    }
  };
}

/**
 * The policies as verification expects their work: what a value must have arrived as. A value a
 * policy refuses is expected as itself: its range was never copied, so nothing arrived.
 */
export function expectedPolicies(policies: Policies): ApplyPolicy {
  return (covered, value) => {
    switch (policyEffect(policies, covered.policy)) {
      case 'refuse':
        return value;
      case 'null':
        return null;
      case 'arrive':
        return covered.changed ? covered.changed(value) : value;
    }
  };
}

/** One value in PostgreSQL's text form under the strictest policies, or why it has none (for column defaults). */
export function encodeStrictly(codec: Codec, value: string): { text: string } | { reason: string } {
  try {
    const text = codec.encoder(copyPolicies(STRICT_POLICIES, zeroPolicyCounts(), true))(value);
    return text === null ? { reason: 'it would become NULL' } : { text };
  } catch (error) {
    if (error instanceof Unrepresentable) return { reason: error.message };
    throw error;
  }
}

/** A column the server prints as PostgreSQL reads it. */
export const AS_PRINTED: SourceRead = { arrives: 'text' };

/** A source value as text: text arrives as it is, bytes are UTF-8. */
export const asText = (value: string | Buffer) => (typeof value === 'string' ? value : value.toString('utf8'));

export const same = (text: string) => text;

/** A canonical form from its two sides, each taking text. */
export const canonicalForm = (
  source: (text: string) => string | null,
  target: (text: string) => string,
): CanonicalForm => ({ source: (value) => source(asText(value)), target });

/** Both sides print the value alike once `canonical` is applied. */
export const alike = (canonical: (text: string) => string): CanonicalForm => canonicalForm(canonical, canonical);

/** Only the target type this codec maps to holds its values. */
export const exactly =
  (pgType: string) =>
  (target: PgType): boolean =>
    target.text === pgType;
