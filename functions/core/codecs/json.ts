import {
  type ApplyPolicy,
  asText,
  type Codec,
  type Covered,
  canonicalForm,
  LITERAL_DEFAULTS,
  Unrepresentable,
} from './codec.js';

// `\u0000` in JSON text, unless its backslash is itself escaped (`\\u0000` is the six characters).
const JSON_NUL = /(?<=(?<!\\)(?:\\\\)*)\\u0000/g;

const NUL_IN_JSON: Covered = {
  policy: 'nulBytes',
  refused: () => 'JSON holds \\u0000 in a string, which jsonb cannot hold',
  named: () => 'JSON holding \\u0000',
  changed: (text) => text.replace(JSON_NUL, ''),
};

const withoutNul = (text: string, apply: ApplyPolicy) =>
  text.includes('\\u0000') && text.search(JSON_NUL) !== -1 ? apply(NUL_IN_JSON, text) : text;

/**
 * The first key that appears twice in one JSON object, or null. MariaDB's JSON is text and keeps
 * both (its functions read the first), while jsonb keeps only the last: the meaning would change.
 */
export function duplicateJsonKey(json: string): string | null {
  // The keys of each open object, null for an open array.
  const open: (Set<string> | null)[] = [];
  let expectingKey = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '"') {
      let end = i + 1;
      while (json[end] !== '"') end += json[end] === '\\' ? 2 : 1;
      if (expectingKey) {
        const key = JSON.parse(json.slice(i, end + 1)) as string;
        const keys = open.at(-1)!;
        if (keys.has(key)) return key;
        keys.add(key);
        expectingKey = false;
      }
      i = end;
    } else if (c === '{' || c === '[') {
      open.push(c === '{' ? new Set() : null);
      expectingKey = c === '{';
    } else if (c === '}' || c === ']') {
      open.pop();
    } else if (c === ',') {
      expectingKey = open.at(-1) instanceof Set;
    }
  }
  return null;
}

/** JSON compares by content: jsonb reorders keys and rewrites whitespace. Numbers compare as doubles. */
function sortedJson(text: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return text;
  }
  return JSON.stringify(parsed, (_key, value: unknown) =>
    value && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : Number(a > b))))
      : value,
  );
}

/**
 * JSON (MySQL's type, or MariaDB's LONGTEXT with a json_valid() check) as `jsonb`, read as UTF-8;
 * an existing `json` column holds it too. `\u0000` in a string is the `nulBytes` policy's; an
 * object with a key twice is refused.
 */
export const json: Codec<'json'> = {
  encoding: 'json',
  pgType: 'jsonb',
  holds: (target) => target.name === 'jsonb' || target.name === 'json',
  read: { arrives: 'utf8' },
  encoder: (apply) => (value) => {
    const text = withoutNul(asText(value), apply);
    const duplicate = text?.includes('{') ? duplicateJsonKey(text) : null;
    if (duplicate !== null) {
      throw new Unrepresentable(
        `JSON object has the key ${JSON.stringify(duplicate)} twice: MariaDB reads the first, jsonb would keep only the last`,
      );
    }
    return text;
  },
  canonical: (apply) =>
    canonicalForm((text) => {
      const arrived = withoutNul(text, apply);
      return arrived === null ? null : sortedJson(arrived);
    }, sortedJson),
  defaults: LITERAL_DEFAULTS,
};
