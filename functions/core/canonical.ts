import { isZeroDate, type SourceValue } from './copy-encoder.js';
import type { Policies } from './policies.js';
import { type ColumnPlan, type Encoding, enumLabels } from './schema.js';

/**
 * One text form per value meaning, so a value read from MySQL and the same value read back
 * from PostgreSQL compare equal exactly when they mean the same thing. The target session
 * prints in fixed styles (UTC, ISO dates, hex bytea, shortest exact floats, postgres intervals;
 * see `openTarget`).
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

const asText = (value: string | Buffer) => (typeof value === 'string' ? value : value.toString('utf8'));
const same = (value: string) => value;

const form = (source: (text: string) => string | null, target: (text: string) => string): CanonicalForm => ({
  source: (value) => source(asText(value)),
  target,
});
/** Both sides print the value alike once `canonical` is applied. */
const alike = (canonical: (text: string) => string): CanonicalForm => form(canonical, canonical);

// Fractional seconds: MySQL pads to the column's precision, PostgreSQL drops trailing zeros.
const withoutTrailingZeros = (text: string) => (text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text);

/** An exact number as its shortest decimal: no leading or trailing zeros (ZEROFILL pads), no `-0`. */
function decimal(text: string): string {
  const match = /^([+-]?)0*(\d*?)(?:\.(\d*?)0*)?$/.exec(text);
  if (!match) return text;
  const [, sign, whole, fraction] = match;
  const digits = `${whole || '0'}${fraction ? `.${fraction}` : ''}`;
  return sign === '-' && digits !== '0' ? `-${digits}` : digits;
}

// Floats compare as the binary value they hold: MySQL prints 0.0000001 where PostgreSQL prints 1e-07.
const float = (round: (n: number) => number) => (text: string) => String(round(Number(text)));

/** JSON compares by content: jsonb reorders keys and rewrites whitespace. Numbers compare as doubles. */
function json(text: string, strip: (text: string) => string = same): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text, (_key, value: unknown) => (typeof value === 'string' ? strip(value) : value));
  } catch {
    return text;
  }
  return JSON.stringify(parsed, (_key, value: unknown) =>
    value && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : Number(a > b))))
      : value,
  );
}

/** PostgreSQL says MySQL's year 0 as 1 BC (the proleptic Gregorian calendar both use). */
function withoutEra(text: string): string {
  if (!text.endsWith(' BC')) return text;
  const year = Number(text.slice(0, 4));
  return String(1 - year).padStart(4, '0') + text.slice(4, -3);
}

/** The run's policies, as they act on a value before it is compared. */
function policyOf(policies: Policies) {
  return {
    /** A zero date arrives as NULL when the policy says so; as itself otherwise (and fails the copy). */
    date: (text: string, canonical: (text: string) => string) =>
      isZeroDate(text) && policies.zeroDates === 'null' ? null : canonical(text),
    nul: (text: string) => (policies.nulBytes === 'strip' ? text.replaceAll('\0', '') : text),
  };
}

/** How a number column's values compare: floats as the binary value they hold, others as decimals. */
function numberForm(pgType: string): (text: string) => string {
  switch (pgType) {
    case 'real':
      return float(Math.fround);
    case 'double precision':
      return float((n) => n);
    default:
      return decimal;
  }
}

/** A tinyint(1) as a boolean: anything but 0 or 1 keeps its number (and so differs), unless the policy reads it as true. */
function booleanForm(policies: Policies): (text: string) => string {
  return (text) => {
    if (text === '1') return 't';
    if (text === '0') return 'f';
    return policies.tinyint1 === 'nonzero-true' ? 't' : text;
  };
}

/** The canonical form of each encoding; a new encoding must say how its values compare. */
const CANONICAL: Record<Encoding, (column: ColumnPlan, policies: Policies) => CanonicalForm> = {
  number: (column) => alike(numberForm(column.pgType)),
  text: (_column, policies) => form(policyOf(policies).nul, same),
  enum: (column, policies) => {
    // '' is the value MySQL stores for an invalid label, unless the ENUM declares '' itself.
    const emptyIsInvalid = !enumLabels(column.source.columnType).includes('');
    return form((text) => (text === '' && emptyIsInvalid && policies.emptyEnum === 'null' ? null : text), same);
  },
  json: (_column, policies) => {
    const { nul } = policyOf(policies);
    return form(
      (text) => json(text, nul),
      (text) => json(text),
    );
  },
  boolean: (_column, policies) => form(booleanForm(policies), same),
  // BIT arrives as its unsigned integer; PostgreSQL prints its bits.
  bit: () =>
    form(
      (text) => BigInt(text).toString(),
      (bits) => BigInt(`0b${bits}`).toString(),
    ),
  bytea: () => ({
    source: (value) => '\\x' + (typeof value === 'string' ? Buffer.from(value, 'utf8') : value).toString('hex'),
    target: same,
  }),
  date: (_column, policies) => {
    const policy = policyOf(policies);
    return form((text) => policy.date(text, same), withoutEra);
  },
  datetime: (_column, policies) => {
    const policy = policyOf(policies);
    return form(
      (text) => policy.date(text, withoutTrailingZeros),
      (text) => withoutTrailingZeros(withoutEra(text)),
    );
  },
  // The source session runs in UTC and the target session prints UTC as +00.
  timestamptz: (_column, policies) => {
    const policy = policyOf(policies);
    return form(
      (text) => policy.date(text, withoutTrailingZeros),
      (text) => withoutTrailingZeros(withoutEra(text).replace(/\+00$/, '')),
    );
  },
  // TIME and interval both print signed hours past 24: `-838:59:59`.
  time: () => alike(withoutTrailingZeros),
  year: (column, policies) => {
    // YEAR(2) (MariaDB) prints two digits of 1970..2069.
    const twoDigits = column.source.columnType === 'year(2)';
    return form((text) => {
      if (twoDigits) return String(Number(text) + (Number(text) < 70 ? 2000 : 1900));
      return text === '0000' && policies.zeroDates === 'null' ? null : String(Number(text));
    }, same);
  },
};

export function canonicalForms(columns: ColumnPlan[], policies: Policies): CanonicalForm[] {
  return columns.map((column) => CANONICAL[column.encoding](column, policies));
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
