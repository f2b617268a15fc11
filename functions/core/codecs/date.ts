import { calendarDate, calendarDefaults, unlessZeroDate, withoutEra } from './calendar.js';
import { AS_PRINTED, asText, type Codec, canonicalForm, exactly } from './codec.js';

/** DATE as `date`; zero dates are the `zeroDates` policy's. */
export const date: Codec<'date'> = {
  encoding: 'date',
  pgType: 'date',
  holds: exactly('date'),
  read: AS_PRINTED,
  encoder: (apply) => (value) => calendarDate(asText(value), apply),
  canonical: (apply) => canonicalForm((text) => unlessZeroDate(text, apply), withoutEra),
  defaults: calendarDefaults([[/^(curdate|current_date)(\(\))?$/i, 'CURRENT_DATE']]),
};
