import {
  type ApplyPolicy,
  AS_ARRIVED,
  AS_PRINTED,
  asText,
  type Codec,
  type Covered,
  canonicalForm,
  type KeySql,
  keyText,
  LITERAL_DEFAULTS,
  same,
  unlessCovered,
} from './codec.js';
import { type PgType, parsePgType } from './pg-type.js';

const NUL_IN_TEXT: Covered = {
  policy: 'nulBytes',
  refused: () => 'text contains a NUL byte, which PostgreSQL text cannot hold',
  named: () => 'text with a NUL byte',
  changed: (text) => text.replaceAll('\0', ''),
};

const withoutNul = (text: string, apply: ApplyPolicy) => (text.includes('\0') ? apply(NUL_IN_TEXT, text) : text);

/**
 * Whether the target holds every value of a text type: `text` holds any; `character varying(n)`
 * holds what fits its length, and unbounded `character varying` holds any. Other types (`uuid`,
 * `inet`) only themselves.
 */
export function holdsText(target: PgType, mapped: PgType): boolean {
  const unbounded = target.name === 'text' || (target.name === 'character varying' && target.mods.length === 0);
  switch (mapped.name) {
    case 'text':
      return unbounded;
    case 'character varying':
      return unbounded || (target.name === 'character varying' && target.mods[0]! >= mapped.mods[0]!);
    default:
      return target.text === mapped.text;
  }
}

/**
 * Text in any charset (latin1, utf8mb3, utf8mb4), as mysql2 decodes it, in a text type of
 * PostgreSQL: `text`, `character varying(n)`, or `uuid`/`inet` for MariaDB's own types (both
 * sides print those alike). A NUL byte is the `nulBytes` policy's.
 */
export function text(pgType: string): Codec<'text'> {
  const mapped = parsePgType(pgType);
  return {
    encoding: 'text',
    pgType,
    holds: (target) => holdsText(target, mapped),
    read: AS_PRINTED,
    encoder: (apply) => (value) => withoutNul(asText(value), apply),
    canonical: (apply) => canonicalForm((text) => withoutNul(text, apply), same),
    // UTF-8 on both sides, whatever the source charset; `host()` prints an inet without PostgreSQL's `/128`.
    canonicalSql: (expect) => ({
      source: (x) => {
        const text = `CONVERT(${x} USING utf8mb4)`;
        const nul = 'CHAR(0 USING utf8mb4)';
        return unlessCovered(
          `LOCATE(${nul}, ${text}) > 0`,
          expect(NUL_IN_TEXT, text, `REPLACE(${text}, ${nul}, '')`),
          text,
        );
      },
      target: (x) => (mapped.name === 'inet' ? `host(${x})` : `${x}::text`),
      anyText: true,
    }),
    defaults: LITERAL_DEFAULTS,
    // UTF-8 as PostgreSQL stores it; a NUL byte, the policy's, never goes through.
    verbatim: AS_ARRIVED,
  };
}

// PostgreSQL has no varchar(0); MySQL's CHAR(0)/VARCHAR(0) hold only '' and NULL, which varchar(1) holds too.
/** CHAR(n) and VARCHAR(n): MySQL returns CHAR values without their trailing pad, so varchar(n) holds exactly what is read. */
export const varchar = (length: number | null): Codec<'text'> => ({
  ...text(`character varying(${Math.max(1, length ?? 1)})`),
  key: BYTE_ORDER_KEY,
});

/**
 * A CHAR or VARCHAR key in the order of its UTF-8 bytes, the one order both sides agree on: a
 * MySQL collation (case- and accent-insensitive, PAD SPACE) orders text as PostgreSQL's cannot.
 * MySQL's index on the column is in its collation, so a condition in byte order reads the table
 * rather than the index; PostgreSQL's `COLLATE "C"` is byte order in a UTF-8 database.
 */
const BYTE_ORDER_KEY: KeySql = {
  read: (x) => `CONVERT(${x} USING utf8mb4)`,
  source: (x) => `CAST(CONVERT(${x} USING utf8mb4) AS BINARY)`,
  target: (x) => `(${x} COLLATE "C")`,
  sourceLiteral: (value) => `X'${Buffer.from(value, 'utf8').toString('hex')}'`,
  targetLiteral: (value) => `'${keyText(value, /^[^\0]*$/, 'a text key').replaceAll("'", "''")}'`,
  order: 'bytes',
};
