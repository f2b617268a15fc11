import {
  type ApplyPolicy,
  AS_PRINTED,
  asText,
  type Codec,
  type Covered,
  canonicalForm,
  LITERAL_DEFAULTS,
  same,
  unlessCovered,
} from './codec.js';
import { holdsIntegers, type IntegerRange, integerType } from './pg-type.js';

const YEAR_ZERO: Covered = {
  policy: 'zeroDates',
  refused: () => 'zero date year 0000 has no PostgreSQL equivalent',
  named: () => 'zero date year 0000',
};

const YEARS: IntegerRange = [0n, 2155n];

/**
 * YEAR (1901 to 2155, and 0000) as the smallest integer type; YEAR 0000 is the `zeroDates`
 * policy's, and MariaDB's YEAR(2), which prints two digits, means 1970 to 2069.
 */
export function year(twoDigits: boolean): Codec<'year'> {
  const fourDigits = (text: string, apply: ApplyPolicy) => {
    if (twoDigits) return String(Number(text) + (Number(text) < 70 ? 2000 : 1900));
    return text === '0000' ? apply(YEAR_ZERO, text) : text;
  };
  return {
    encoding: 'year',
    pgType: integerType(YEARS),
    holds: (target) => holdsIntegers(target, YEARS),
    read: AS_PRINTED,
    encoder: (apply) => (value) => fourDigits(asText(value), apply),
    canonical: (apply) =>
      canonicalForm((text) => {
        const arrived = fourDigits(text, apply);
        return arrived === null ? null : String(Number(arrived));
      }, same),
    // `+ 0` reads YEAR(2) as its four-digit year too.
    canonicalSql: (expect) => ({
      source: (x) =>
        twoDigits ? `(${x} + 0)` : unlessCovered(`${x} + 0 = 0`, expect(YEAR_ZERO, `(${x} + 0)`), `(${x} + 0)`),
      target: (x) => `${x}::text`,
    }),
    defaults: LITERAL_DEFAULTS,
  };
}
