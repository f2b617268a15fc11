import type { SourceValue } from './copy-encoder.js';
import type { ColumnPlan, Encoding } from './schema.js';

/**
 * One text form per value meaning, so a value read from MySQL and the same value read back
 * from PostgreSQL compare equal exactly when they mean the same thing. The target session
 * prints in fixed styles (UTC, ISO dates, hex bytea, shortest exact floats; see `openTarget`).
 */
export interface CanonicalForm {
  /** The value as the source connection reads it: text, or bytes for binary columns. */
  source(value: string | Buffer): string;
  /** The value as PostgreSQL prints it in text. */
  target(value: string): string;
}

/** A row in canonical form; NULL stays null so it never equals any text. */
export type CanonicalRow = (string | null)[];

const asText = (value: string | Buffer) => (typeof value === 'string' ? value : value.toString('utf8'));
const same: CanonicalForm = { source: asText, target: (value) => value };

// Fractional seconds: MySQL pads to the column's precision, PostgreSQL drops trailing zeros.
const withoutTrailingZeros = (text: string) => text.replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');

const decimal = (text: string) => (text.includes('.') ? withoutTrailingZeros(text) : text);

// Floats compare as the binary value they hold: MySQL prints 0.0000001 where PostgreSQL prints 1e-07.
const float = (round: (n: number) => number) => (text: string) => String(round(Number(text)));

/** JSON compares by content: jsonb reorders keys and rewrites whitespace. Numbers compare as doubles. */
function json(text: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return text;
  }
  return JSON.stringify(parsed, (_key, value: unknown) =>
    value && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : value,
  );
}

const textual = (canonical: (text: string) => string): CanonicalForm => ({
  source: (value) => canonical(asText(value)),
  target: canonical,
});

/** The canonical form of each encoding; a new encoding must say how its values compare. */
const CANONICAL: Record<Encoding, (column: ColumnPlan) => CanonicalForm> = {
  number: (column) =>
    textual(column.pgType === 'real' ? float(Math.fround) : column.pgType === 'double precision' ? float((n) => n) : decimal),
  text: (column) => (column.pgType === 'jsonb' ? textual(json) : same),
  // tinyint(1) holding anything but 0 or 1 keeps its number, so it never equals a boolean.
  boolean: () => ({ source: (value) => ({ '1': 't', '0': 'f' })[asText(value)] ?? asText(value), target: (value) => value }),
  bytea: () => ({
    source: (value) => '\\x' + (typeof value === 'string' ? Buffer.from(value, 'utf8') : value).toString('hex'),
    target: (value) => value,
  }),
  date: () => same,
  datetime: () => textual(withoutTrailingZeros),
  // The source session runs in UTC and the target session prints UTC as +00.
  timestamptz: () => ({ source: (value) => withoutTrailingZeros(asText(value)), target: (value) => withoutTrailingZeros(value.replace(/\+00$/, '')) }),
};

export function canonicalForms(columns: ColumnPlan[]): CanonicalForm[] {
  return columns.map((column) => CANONICAL[column.encoding](column));
}

export function canonicalSourceRow(forms: CanonicalForm[], row: SourceValue[]): CanonicalRow {
  return forms.map((form, i) => {
    const value = row[i];
    return value === null || value === undefined ? null : form.source(value);
  });
}

export function canonicalTargetRow(forms: CanonicalForm[], row: (string | null)[]): CanonicalRow {
  return forms.map((form, i) => {
    const value = row[i];
    return value === null || value === undefined ? null : form.target(value);
  });
}
