import {
  type ApplyPolicy,
  AS_PRINTED,
  asText,
  type Codec,
  type Covered,
  canonicalForm,
  exactly,
  LITERAL_DEFAULTS,
  type SourceRead,
  same,
} from './codec.js';

const NEITHER_0_NOR_1: Covered = {
  policy: 'tinyint1',
  refused: (text) => `tinyint(1) holds ${text}, which is neither 0 nor 1 and would not survive as a boolean`,
  named: (text) => `tinyint(1) ${text}`,
  // As MySQL's IF() reads it.
  changed: () => 't',
};

const asBoolean = (text: string, apply: ApplyPolicy) => {
  if (text === '1') return 't';
  if (text === '0') return 'f';
  return apply(NEITHER_0_NOR_1, text);
};

/**
 * MySQL's booleans, tinyint(1) and BIT(1), as `boolean`: 1 is true and 0 false; a tinyint(1)
 * holding anything else is the `tinyint1` policy's (and, refused, keeps its number in the
 * canonical form, so it never matches).
 */
export function boolean(read: SourceRead = AS_PRINTED): Codec<'boolean'> {
  return {
    encoding: 'boolean',
    pgType: 'boolean',
    holds: exactly('boolean'),
    read,
    encoder: (apply) => (value) => asBoolean(asText(value), apply),
    canonical: (apply) => canonicalForm((text) => asBoolean(text, apply), same),
    // PostgreSQL prints a boolean as `true`/`false`; `+ 0` reads BIT(1) as its number.
    canonicalSql: (expect) => ({
      source: (x) =>
        `CASE ${x} + 0 WHEN 1 THEN 'true' WHEN 0 THEN 'false' ELSE ${expect(NEITHER_0_NOR_1, `CAST(${x} + 0 AS CHAR)`, "'true'")} END`,
      target: (x) => `${x}::text`,
    }),
    defaults: LITERAL_DEFAULTS,
    // PostgreSQL reads 1 and 0 as true and false.
    verbatim: { when: (bytes) => bytes.length === 1 && (bytes[0] === ONE || bytes[0] === ZERO) },
  };
}

const ONE = '1'.charCodeAt(0);
const ZERO = '0'.charCodeAt(0);
