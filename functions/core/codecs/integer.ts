import { AS_ARRIVED, AS_PRINTED, alike, asText, type Codec, type KeySql, keyText, LITERAL_DEFAULTS } from './codec.js';
import { shortestDecimal } from './numeric.js';
import { holdsIntegers, integerType, signedRange, unsignedRange } from './pg-type.js';

/**
 * MySQL's integers, by width and sign: the smallest PostgreSQL type that holds the whole range
 * (an unsigned one moves up a width; BIGINT UNSIGNED needs numeric(20,0)), and an existing
 * column is judged by the same range. MySQL prints integers as PostgreSQL reads them; ZEROFILL
 * pads only the display, and the canonical form drops it.
 */
export function integer(bits: number, unsigned: boolean): Codec<'integer'> {
  const range = unsigned ? unsignedRange(bits) : signedRange(bits);
  return {
    encoding: 'integer',
    pgType: integerType(range),
    holds: (target) => holdsIntegers(target, range),
    read: AS_PRINTED,
    encoder: () => asText,
    canonical: () => alike(shortestDecimal),
    // `+ 0` drops ZEROFILL's padding.
    canonicalSql: () => ({ source: (x) => `(${x} + 0)`, target: (x) => `${x}::text` }),
    key: INTEGER_KEY,
    defaults: LITERAL_DEFAULTS,
    verbatim: AS_ARRIVED,
  };
}

const integerText = (value: string) => keyText(value, /^-?[0-9]{1,20}$/, 'an integer key');

/** An integer key compares alike on both sides, its index serving each. */
const INTEGER_KEY: KeySql = {
  read: (x) => `CAST(${x} AS CHAR)`,
  source: (x) => x,
  target: (x) => x,
  sourceLiteral: integerText,
  targetLiteral: integerText,
  order: 'numbers',
};
