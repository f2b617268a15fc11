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
import { parsePgType } from './pg-type.js';
import { holdsText } from './text.js';

const EMPTY_VALUE: Covered = {
  policy: 'emptyEnum',
  refused: () => "the empty ENUM value (stored for an invalid label) is not one of the column's labels",
  named: () => 'the empty ENUM value',
};

const TEXT = parsePgType('text');

/**
 * ENUM as `text`, each value its label. The empty value MySQL stores for an invalid label (in
 * non-strict mode) is the `emptyEnum` policy's, unless the ENUM declares '' as a label itself.
 */
export function enumeration(labels: string[]): Codec<'enum'> {
  const emptyIsInvalid = !labels.includes('');
  const label = (text: string, apply: ApplyPolicy) => (text === '' && emptyIsInvalid ? apply(EMPTY_VALUE, text) : text);
  return {
    encoding: 'enum',
    pgType: TEXT.text,
    holds: (target) => holdsText(target, TEXT),
    read: AS_PRINTED,
    encoder: (apply) => (value) => label(asText(value), apply),
    canonical: (apply) => canonicalForm((text) => label(text, apply), same),
    // The empty value MySQL stores for an invalid label is the one numbered 0.
    canonicalSql: (expect) => ({
      source: (x) => {
        const text = `CONVERT(${x} USING utf8mb4)`;
        return emptyIsInvalid ? unlessCovered(`${x} + 0 = 0`, expect(EMPTY_VALUE, text), text) : text;
      },
      target: (x) => `${x}::text`,
      anyText: true,
    }),
    defaults: LITERAL_DEFAULTS,
    verbatim: { when: (bytes) => bytes.length > 0 || !emptyIsInvalid },
  };
}
