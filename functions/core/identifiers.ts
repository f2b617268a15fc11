/**
 * Any table or column name MySQL allows: 1 to 64 characters, no NUL, not ending in a space.
 * Names are always quoted (quoteMysql, quotePg), so hyphens, spaces, quotes, upper case and
 * non-ASCII letters reach SQL only as names. The target keeps the name exactly as it is.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is the one character MySQL names cannot hold.
export const NAME = /^(?![\s\S]* $)[^\u0000]{1,64}$/u;

/** Why a name is refused, for schema messages. */
export const NAME_RULE = 'must be a MySQL name: 1 to 64 characters, no NUL, not ending in a space';

/** The target table is created in, and read from, this schema. */
export const TARGET_SCHEMA = 'public';

/** Quotes a name for MySQL: backticks, with backticks inside doubled. */
export function quoteMysql(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}

/** Quotes a name for PostgreSQL: double quotes, with double quotes inside doubled. */
export function quotePg(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

const INTEGER_LITERAL = /^-?[0-9]{1,20}$/;

/**
 * A primary-key value as an SQL integer literal. Keys travel as decimal strings (a BIGINT
 * UNSIGNED does not fit a JSON number); inlining them as literals keeps MySQL from comparing
 * them as doubles, and the check keeps anything else out of the SQL.
 */
export function keyLiteral(key: string): string {
  if (!INTEGER_LITERAL.test(key)) throw new TypeError(`Not an integer key: ${JSON.stringify(key).slice(0, 40)}`);
  return key;
}
