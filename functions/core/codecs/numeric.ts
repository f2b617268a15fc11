import { AS_ARRIVED, AS_PRINTED, alike, asText, type Codec, type KeySql, keyText, LITERAL_DEFAULTS } from './codec.js';
import { holdsIntegers, numericHolds } from './pg-type.js';

/** An exact number as its shortest decimal: no leading or trailing zeros (ZEROFILL pads), no `-0`. */
export function shortestDecimal(text: string): string {
  const match = /^([+-]?)0*(\d*?)(?:\.(\d*?)0*)?$/.exec(text);
  if (!match) return text;
  const [, sign, whole, fraction] = match;
  const digits = `${whole || '0'}${fraction ? `.${fraction}` : ''}`;
  return sign === '-' && digits !== '0' ? `-${digits}` : digits;
}

/**
 * DECIMAL(p,s) as numeric(p,s), exact up to DECIMAL(65,30): MySQL prints it as PostgreSQL reads
 * it. An existing numeric column with as many integer and fraction digits holds it, and so does
 * an integer column wide enough for a DECIMAL(p,0).
 */
export function numeric(precision: number, scale: number): Codec<'numeric'> {
  const largest = 10n ** BigInt(precision) - 1n;
  return {
    encoding: 'numeric',
    pgType: `numeric(${precision},${scale})`,
    holds: (target) =>
      numericHolds(target, precision - scale, scale) || (scale === 0 && holdsIntegers(target, [-largest, largest])),
    read: AS_PRINTED,
    encoder: () => asText,
    canonical: () => alike(shortestDecimal),
    // Both print the column's scale; `+ 0` drops ZEROFILL's padding and keeps the scale.
    canonicalSql: () => ({ source: (x) => `(${x} + 0)`, target: (x) => `${x}::text` }),
    key: DECIMAL_KEY,
    defaults: LITERAL_DEFAULTS,
    verbatim: AS_ARRIVED,
  };
}

const decimalText = (value: string) => keyText(value, /^-?[0-9]{1,65}(\.[0-9]{1,30})?$/, 'a decimal key');

/** A decimal key compares as an exact number on both sides (a quoted literal would be a double in MySQL). */
const DECIMAL_KEY: KeySql = {
  read: (x) => `CAST(${x} AS CHAR)`,
  source: (x) => x,
  target: (x) => x,
  sourceLiteral: decimalText,
  targetLiteral: decimalText,
  order: 'numbers',
};
