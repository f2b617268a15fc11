import {
  calendarDate,
  calendarDefaults,
  calendarKey,
  calendarSql,
  plainCalendarBytes,
  unlessZeroDate,
  withoutEra,
} from './calendar.js';
import { AS_PRINTED, asText, type Codec, canonicalForm, exactly } from './codec.js';

/** DATE as `date`; zero dates are the `zeroDates` policy's. */
export const date: Codec<'date'> = {
  encoding: 'date',
  pgType: 'date',
  holds: exactly('date'),
  read: AS_PRINTED,
  encoder: (apply) => (value) => calendarDate(asText(value), apply),
  canonical: (apply) => canonicalForm((text) => unlessZeroDate(text, apply), withoutEra),
  // The target session's ISO DateStyle prints 1 BC as `0001-03-01 BC`.
  canonicalSql: (expect) => ({ source: (x) => calendarSql(expect, x, 'bc'), target: (x) => `${x}::text` }),
  key: calendarKey(/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/, 'date'),
  defaults: calendarDefaults([[/^(curdate|current_date)(\(\))?$/i, 'CURRENT_DATE']]),
  verbatim: { when: plainCalendarBytes },
};
