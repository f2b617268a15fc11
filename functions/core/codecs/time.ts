import { withoutTrailingZeros } from './calendar.js';
import { AS_PRINTED, alike, asText, type Codec, LITERAL_DEFAULTS } from './codec.js';
import { atLeastAsPrecise, parsePgType } from './pg-type.js';

/**
 * TIME(p) as `interval(p)`: MySQL's TIME spans -838:59:59 to 838:59:59, which `time` cannot
 * hold, and both print signed hours past 24 alike (`-838:59:59`).
 */
export function time(precision: number): Codec<'time'> {
  const mapped = parsePgType(`interval(${precision})`);
  return {
    encoding: 'time',
    pgType: mapped.text,
    holds: (target) => atLeastAsPrecise(target, mapped),
    read: AS_PRINTED,
    encoder: () => asText,
    canonical: () => alike(withoutTrailingZeros),
    // MySQL pads the fraction to the precision, PostgreSQL drops its trailing zeros.
    canonicalSql: () => ({
      source: (x) => (precision > 0 ? `TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM ${x}))` : `CAST(${x} AS CHAR)`),
      target: (x) => `${x}::text`,
    }),
    defaults: LITERAL_DEFAULTS,
  };
}
