import {
  calendarDate,
  calendarDefaults,
  calendarKey,
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
 * DATETIME(p) as `timestamp(p) without time zone`, fractional seconds kept; an existing column
 * with more fractional digits holds it too. Zero dates are the `zeroDates` policy's.
 */
export function datetime(precision: number): Codec<'datetime'> {
  const mapped = parsePgType(`timestamp(${precision}) without time zone`);
  return {
    encoding: 'datetime',
    pgType: mapped.text,
    holds: (target) => atLeastAsPrecise(target, mapped),
    read: AS_PRINTED,
    encoder: (apply) => (value) => calendarDate(asText(value), apply),
    canonical: (apply) =>
      canonicalForm(
        (text) => expectedTimestamp(text, apply),
        (text) => withoutTrailingZeros(withoutEra(text)),
      ),
    canonicalSql: (expect) => ({
      source: (x) => calendarSql(expect, x, 'ad-bc'),
      target: (x) => `to_char(${x}, '${timestampPattern(precision)} BC')`,
    }),
    key: calendarKey(/^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?$/, 'timestamp'),
    // DATETIME's "now" is the session's wall-clock time, as LOCALTIMESTAMP is in PostgreSQL.
    defaults: calendarDefaults([[NOW, 'LOCALTIMESTAMP']]),
    verbatim: { when: plainCalendarBytes },
  };
}
