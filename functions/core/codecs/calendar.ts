import {
  type ApplyPolicy,
  type Covered,
  type Defaults,
  type ExpectSql,
  type KeySql,
  keyText,
  Unrepresentable,
} from './codec.js';

/** A month or day of 00: MySQL's zero dates (`0000-00-00`, `2020-00-15`), which no calendar has. */
export function isZeroDate(text: string): boolean {
  return text.slice(5, 7) === '00' || text.slice(8, 10) === '00';
}

const ZERO_DATE: Covered = {
  policy: 'zeroDates',
  refused: (text) => `zero date ${text} has no PostgreSQL equivalent`,
  named: (text) => `zero date ${text}`,
};

/** A DATE, DATETIME or TIMESTAMP as the `zeroDates` policy leaves it: a zero date is the policy's. */
export const unlessZeroDate = (text: string, apply: ApplyPolicy) => (isZeroDate(text) ? apply(ZERO_DATE, text) : text);

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeapYear = (year: number) => year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);

/**
 * A MySQL DATE or DATETIME in PostgreSQL's form, `offset` said before the era. A day its month
 * lacks (stored under ALLOW_INVALID_DATES) is refused; MySQL's year 0 is the proleptic Gregorian
 * year PostgreSQL calls 1 BC.
 */
export function calendarDate(text: string, apply: ApplyPolicy, offset = ''): string | null {
  if (isZeroDate(text)) return apply(ZERO_DATE, text);
  const day = Number(text.slice(8, 10));
  if (day > 28) {
    const month = Number(text.slice(5, 7));
    const last = month === 2 && isLeapYear(Number(text.slice(0, 4))) ? 29 : DAYS_IN_MONTH[month - 1]!;
    if (day > last) throw new Unrepresentable(`${text} is not a calendar date (stored under ALLOW_INVALID_DATES)`);
  }
  if (text.startsWith('0000-')) return `0001${text.slice(4)}${offset} BC`;
  return text + offset;
}

const DIGIT_0 = '0'.charCodeAt(0);

/**
 * A DATE, DATETIME or TIMESTAMP whose bytes (`YYYY-MM-DD...`) PostgreSQL reads as they are, so
 * {@link calendarDate} would only add the offset: a year after 0, a month, a day below 29 (any
 * month has it).
 */
export function plainCalendarBytes(bytes: Buffer): boolean {
  const yearZero = bytes[0] === DIGIT_0 && bytes[1] === DIGIT_0 && bytes[2] === DIGIT_0 && bytes[3] === DIGIT_0;
  const monthZero = bytes[5] === DIGIT_0 && bytes[6] === DIGIT_0;
  const day = (bytes[8]! - DIGIT_0) * 10 + (bytes[9]! - DIGIT_0);
  return !yearZero && !monthZero && day >= 1 && day <= 28;
}

/** PostgreSQL says MySQL's year 0 as 1 BC: the year as MySQL says it. */
export function withoutEra(text: string): string {
  if (!text.endsWith(' BC')) return text;
  const year = Number(text.slice(0, 4));
  return String(1 - year).padStart(4, '0') + text.slice(4, -3);
}

/** Fractional seconds: MySQL pads them to the column's precision, PostgreSQL drops trailing zeros. */
export const withoutTrailingZeros = (text: string) =>
  text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;

/** A DATETIME or TIMESTAMP as it must arrive, in canonical form: after the `zeroDates` policy, fractional zeros dropped. */
export function expectedTimestamp(text: string, apply: ApplyPolicy): string | null {
  const arrived = unlessZeroDate(text, apply);
  return arrived === null ? null : withoutTrailingZeros(arrived);
}

/** MySQL's "now" in a default. */
export const NOW = /^(current_timestamp|now|localtimestamp|localtime)(\(\d?\))?$/i;

/**
 * The defaults of a calendar column: `expressions`, and literals; a zero-date literal cannot be
 * a default in PostgreSQL, and rows that took it hold a zero date, which arrives as NULL.
 */
export const calendarDefaults = (expressions: Defaults['expressions']): Defaults => ({
  expressions,
  literalsDropped: null,
  arrivesAsNull: {
    literal: isZeroDate,
    because: 'rows holding the zero-date default can arrive as NULL (zeroDates: null)',
  },
});

/**
 * A DATE, DATETIME or TIMESTAMP's canonical text in MySQL's SQL, as MySQL prints it (the
 * fraction to the column's precision, in UTC), the zero date after the `zeroDates` policy. With
 * `era`, MySQL's year 0 is said as PostgreSQL says it (`0001-03-01 BC`) and other dates end in
 * ` AD`, as PostgreSQL's `to_char(..., 'BC')` prints them.
 */
export function calendarSql(expect: ExpectSql, x: string, era: 'none' | 'bc' | 'ad-bc'): string {
  const text = `CAST(${x} AS CHAR)`;
  // A TIMESTAMP's only zero value is all zeros, and a comparison is cheaper than taking it apart.
  if (era === 'none') return `CASE WHEN ${x} = '0000-00-00 00:00:00' THEN ${expect(ZERO_DATE, text)} ELSE ${text} END`;
  const zero = `WHEN MONTH(${x}) = 0 OR DAYOFMONTH(${x}) = 0 THEN ${expect(ZERO_DATE, text)}`;
  const bc = `WHEN ${x} < '0001-01-01' THEN CONCAT('0001', SUBSTRING(${text}, 5), ' BC')`;
  return `CASE ${zero} ${bc} ELSE ${era === 'bc' ? text : `CONCAT(${text}, ' AD')`} END`;
}

/** PostgreSQL's `to_char` pattern of a timestamp with `precision` fractional digits, as MySQL prints one. */
export const timestampPattern = (precision: number) => `YYYY-MM-DD HH24:MI:SS${precision > 0 ? `.FF${precision}` : ''}`;

/**
 * A DATE or DATETIME key: ISO text, which each side compares as its own date or timestamp (the
 * index serving both); `pgType` is the target's type the literal is cast to.
 */
export function calendarKey(pattern: RegExp, pgType: 'date' | 'timestamp'): KeySql {
  const text = (value: string) => keyText(value, pattern, `a ${pgType} key`);
  return {
    read: (x) => `CAST(${x} AS CHAR)`,
    source: (x) => x,
    target: (x) => x,
    sourceLiteral: (value) => `'${text(value)}'`,
    targetLiteral: (value) => `'${text(value)}'::${pgType}`,
    // Canonically ISO text with year 0 as `0000` (PostgreSQL's 1 BC): in byte order as in time.
    order: 'bytes',
  };
}
