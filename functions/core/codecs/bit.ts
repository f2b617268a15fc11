import { asText, type Codec, canonicalForm, LITERAL_DEFAULTS, type SourceRead } from './codec.js';

/** BIT arrives as raw bytes; read as an unsigned integer it is exact up to BIT(64). */
export const BIT_AS_INTEGER: SourceRead = { expression: (quoted) => `(${quoted} + 0)`, arrives: 'text' };

/**
 * BIT(n) as bit(n), every bit kept; a `bit varying` of at least n bits holds it too. It compares
 * as the unsigned integer its bits make.
 */
export function bit(width: number): Codec<'bit'> {
  return {
    encoding: 'bit',
    pgType: `bit(${width})`,
    holds: (target) =>
      (target.name === 'bit' && target.mods[0] === width) ||
      (target.name === 'bit varying' && (target.mods.length === 0 || target.mods[0]! >= width)),
    read: BIT_AS_INTEGER,
    encoder: () => (value) => BigInt(asText(value)).toString(2).padStart(width, '0'),
    canonical: () =>
      canonicalForm(
        (text) => BigInt(text).toString(),
        (bits) => BigInt(`0b${bits}`).toString(),
      ),
    // PostgreSQL prints the bits, every one of the n.
    canonicalSql: () => ({ source: (x) => `LPAD(BIN(${x} + 0), ${width}, '0')`, target: (x) => `${x}::text` }),
    defaults: LITERAL_DEFAULTS,
  };
}
