import { type Codec, exactly, keyText, same } from './codec.js';

const hex = (value: string | Buffer) =>
  '\\x' + (typeof value === 'string' ? Buffer.from(value, 'utf8') : value).toString('hex');

/**
 * BINARY, VARBINARY and the BLOBs as `bytea`: read as bytes, every byte kept (the zero bytes
 * that pad BINARY(n) included), written and compared in PostgreSQL's hex form.
 */
export const bytea: Codec<'bytea'> = {
  encoding: 'bytea',
  pgType: 'bytea',
  holds: exactly('bytea'),
  read: { arrives: 'bytes' },
  encoder: () => hex,
  canonical: () => ({ source: hex, target: same }),
  // The md5 of the bytes, in lower-case hex on both: a blob's digest is shorter than its hex.
  canonicalSql: () => ({ source: (x) => `MD5(${x})`, target: (x) => `md5(${x})` }),
  // Bytes compare bytewise on both sides; a boundary is their hex.
  key: {
    read: (x) => `HEX(${x})`,
    source: (x) => x,
    target: (x) => x,
    sourceLiteral: (value) => `X'${hexText(value)}'`,
    targetLiteral: (value) => `'\\x${hexText(value)}'::bytea`,
    // Canonically `\x` and lower-case hex: in byte order as the bytes are.
    order: 'bytes',
  },
  defaults: {
    expressions: [],
    literalsDropped: 'binary default dropped (information_schema does not give its bytes exactly)',
  },
};

const hexText = (value: string) => keyText(value, /^(?:[0-9A-Fa-f]{2})*$/, 'a binary key in hex');
