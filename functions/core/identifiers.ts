/** A plain MySQL identifier: what can be named without quoting, so no quoting trick can reach SQL. */
export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

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
