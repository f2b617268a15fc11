import {
  calendarDate,
  calendarDefaults,
  calendarSql,
  expectedTimestamp,
  NOW,
  plainCalendarBytes,
  timestampPattern,
  withoutEra,
  withoutTrailingZeros,
} from './calendar.js';
import { AS_PRINTED, asText, type Codec, canonicalForm } from './codec.js';
import { atLeastAsPrecise, parsePgType } from './pg-type.js';

/**
 * TIMESTAMP(p) as `timestamp(p) with time zone`. The source session runs in UTC, so a value is
 * an instant said in UTC, exact once the offset `+00` is said; the target session prints UTC as
 * `+00` too. Zero dates are the `zeroDates` policy's.
 */
export function timestamptz(precision: number): Codec<'timestamptz'> {
  const mapped = parsePgType(`timestamp(${precision}) with time zone`);
  return {
    encoding: 'timestamptz',
    pgType: mapped.text,
    holds: (target) => atLeastAsPrecise(target, mapped),
    read: AS_PRINTED,
    encoder: (apply) => (value) => calendarDate(asText(value), apply, '+00'),
    canonical: (apply) =>
      canonicalForm(
        (text) => expectedTimestamp(text, apply),
        (text) => withoutTrailingZeros(withoutEra(text).replace(/\+00$/, '')),
      ),
    // Both sessions run in UTC (see `openSource`, `openTarget`).
    canonicalSql: (expect) => ({
      source: (x) => calendarSql(expect, x, 'none'),
      target: (x) => `to_char(${x}, '${timestampPattern(precision)}')`,
    }),
    defaults: calendarDefaults([[NOW, 'CURRENT_TIMESTAMP']]),
    verbatim: { when: plainCalendarBytes, suffix: '+00' },
  };
}
