import { alike, asText, type Codec, exactly, LITERAL_DEFAULTS } from './codec.js';

// Floats compare as the binary value they hold: MySQL prints 0.0000001 where PostgreSQL prints 1e-07.
const asBinary = (round: (n: number) => number) => (text: string) => String(round(Number(text)));

/**
 * FLOAT as `real`, DOUBLE as `double precision`. MySQL prints a DOUBLE so it reads back exactly,
 * but a FLOAT rounded to 6 digits: read as a double, the FLOAT is exact, and `real` reads that
 * back to the same float. A `double precision` column holds a FLOAT too.
 */
export function float(bits: 32 | 64): Codec<'float'> {
  const single = bits === 32;
  return {
    encoding: 'float',
    pgType: single ? 'real' : 'double precision',
    holds: single
      ? (target) => target.name === 'real' || target.name === 'double precision'
      : exactly('double precision'),
    read: single ? { expression: (quoted) => `(${quoted} + 0e0)`, arrives: 'text' } : { arrives: 'text' },
    encoder: () => asText,
    canonical: () => alike(asBinary(single ? Math.fround : Number)),
    defaults: LITERAL_DEFAULTS,
  };
}
