import pg from 'pg';
import { encodeStrictly, isZeroDate } from './copy-encoder.js';
import { classifyDatabaseError, SchemaError } from './errors.js';
import { quotePg } from './identifiers.js';
import type { ColumnPlan, Encoding, TableDescription } from './schema.js';

/** A column of an existing target table, from PostgreSQL's catalog. */
export interface TargetColumn {
  name: string;
  /** As format_type() prints it: `character varying(255)`, `timestamp(3) without time zone`. */
  type: string;
  nullable: boolean;
  hasDefault: boolean;
  generated: boolean;
}

/** What preparing the target did: created the table (with what it left out of the source's definition), or found it fit. */
export interface TargetPreparation {
  created: boolean;
  /** Source definitions with no PostgreSQL equal (a default, ON UPDATE, auto_increment, a generated expression). */
  notes: string[];
}

const NOW = /^(current_timestamp|now|localtimestamp|localtime)(\(\d?\))?$/i;
const TODAY = /^(curdate|current_date)(\(\))?$/i;

/** MySQL default expressions that mean the same as a PostgreSQL one, by the column's encoding. */
const DEFAULT_EXPRESSIONS: Partial<Record<Encoding, [RegExp, string][]>> = {
  // DATETIME's "now" is the session's wall-clock time, as LOCALTIMESTAMP is in PostgreSQL.
  datetime: [[NOW, 'LOCALTIMESTAMP']],
  timestamptz: [[NOW, 'CURRENT_TIMESTAMP']],
  date: [[TODAY, 'CURRENT_DATE']],
};

const DATE_ENCODINGS = new Set<Encoding>(['date', 'datetime', 'timestamptz']);

/** One column of the CREATE TABLE, and what of its source definition it cannot keep. */
function columnDefinition(column: ColumnPlan): { sql: string; notes: string[] } {
  const { name, source } = column;
  const notes: string[] = [];
  let nullable = column.nullable;
  let defaultSql: string | undefined;
  if (source.default.kind === 'expression') {
    const { sql } = source.default;
    defaultSql = DEFAULT_EXPRESSIONS[column.encoding]?.find(([pattern]) => pattern.test(sql))?.[1];
    if (!defaultSql) notes.push(`${name}: default ${sql} has no PostgreSQL equivalent; dropped`);
  } else if (source.default.kind === 'literal' && column.encoding === 'bytea') {
    notes.push(`${name}: binary default dropped (information_schema does not give its bytes exactly)`);
  } else if (source.default.kind === 'literal') {
    const { value } = source.default;
    const encoded = encodeStrictly(column, value);
    if ('text' in encoded) {
      defaultSql = pg.escapeLiteral(encoded.text);
    } else {
      notes.push(`${name}: default ${pg.escapeLiteral(value)} dropped: ${encoded.reason}`);
      // Rows that took a zero-date default hold a zero date, which arrives as NULL.
      if (DATE_ENCODINGS.has(column.encoding) && isZeroDate(value) && !nullable) {
        nullable = true;
        notes.push(
          `${name}: NOT NULL dropped, so rows holding the zero-date default can arrive as NULL (zeroDates: null)`,
        );
      }
    }
  }
  if (source.generation !== null)
    notes.push(`${name}: generated column (${source.generation}); its values are copied, its expression is not`);
  if (source.extra.includes('auto_increment')) {
    notes.push(
      `${name}: auto_increment not carried over; at cut-over give it an identity or sequence starting above the largest value`,
    );
  }
  if (source.extra.includes('on update'))
    notes.push(`${name}: ON UPDATE CURRENT_TIMESTAMP not carried over (PostgreSQL needs a trigger for it)`);
  return {
    sql: `  ${quotePg(name)} ${column.pgType}${nullable ? '' : ' NOT NULL'}${defaultSql ? ` DEFAULT ${defaultSql}` : ''}`,
    notes,
  };
}

/** The CREATE TABLE for the target from the mapped columns, and what it leaves out of the source's definition. */
export function createTableSql(description: TableDescription, targetSchema: string): { sql: string; notes: string[] } {
  const columns = description.columns.map(columnDefinition);
  const lines = [...columns.map((column) => column.sql), `  PRIMARY KEY (${quotePg(description.primaryKey)})`];
  return {
    sql: `CREATE TABLE ${quotePg(targetSchema)}.${quotePg(description.table)} (\n${lines.join(',\n')}\n)`,
    notes: columns.flatMap((column) => column.notes),
  };
}

interface PgType {
  name: string;
  mods: number[];
}

/** `timestamp(3) without time zone` → { name: 'timestamp without time zone', mods: [3] }. */
function parsePgType(type: string): PgType {
  const match = /^(.+?)(?:\((\d+(?:,\d+)*)\))?( with(?:out)? time zone)?$/.exec(type)!;
  return { name: match[1]! + (match[3] ?? ''), mods: match[2]?.split(',').map(Number) ?? [] };
}

type IntegerRange = [min: bigint, max: bigint];

const signed = (bits: number): IntegerRange => [-(2n ** BigInt(bits - 1)), 2n ** BigInt(bits - 1) - 1n];
const unsignedRange = (bits: number): IntegerRange => [0n, 2n ** BigInt(bits) - 1n];
const MYSQL_INTEGER_BITS: Record<string, number> = { tinyint: 8, smallint: 16, mediumint: 24, int: 32, bigint: 64 };
const PG_INTEGER_RANGES: Record<string, IntegerRange> = {
  smallint: signed(16),
  integer: signed(32),
  bigint: signed(64),
};

/** The values an integer source column can hold (a YEAR too), or null for other columns. */
function sourceIntegerRange(column: ColumnPlan): IntegerRange | null {
  if (column.encoding === 'year') return [0n, 2155n];
  const bits = MYSQL_INTEGER_BITS[column.source.dataType];
  if (column.encoding !== 'number' || !bits) return null;
  return column.source.columnType.includes('unsigned') ? unsignedRange(bits) : signed(bits);
}

const digits = ([min, max]: IntegerRange) => String(max > -min ? max : -min).length;

/** Whether a numeric target holds every number of `integerDigits` integer digits and `scale` fraction digits. */
const numericHolds = (target: PgType, integerDigits: number, scale: number) =>
  target.name === 'numeric' &&
  (target.mods.length === 0 || (target.mods[1]! >= scale && target.mods[0]! - target.mods[1]! >= integerDigits));

/** Whether an integer or numeric target holds every integer of the range. */
function holdsIntegers(target: PgType, range: IntegerRange): boolean {
  const limits = PG_INTEGER_RANGES[target.name];
  return limits ? range[0] >= limits[0] && range[1] <= limits[1] : numericHolds(target, digits(range), 0);
}

const atLeastAsPrecise = (target: PgType, mapped: PgType) =>
  target.name === mapped.name && (target.mods.length === 0 || target.mods[0]! >= mapped.mods[0]!);

/**
 * For each mapped type, the existing target types that hold all its values unchanged (a longer
 * varchar, more fractional digits); integers are judged by the source's own range. Any other
 * type must match exactly.
 */
const HOLDS: Record<string, (target: PgType, mapped: PgType) => boolean> = {
  numeric: (target, { mods: [precision, scale] }) =>
    numericHolds(target, precision! - scale!, scale!) ||
    (scale === 0 && holdsIntegers(target, [-(10n ** BigInt(precision!) - 1n), 10n ** BigInt(precision!) - 1n])),
  real: (target) => target.name === 'real' || target.name === 'double precision',
  'character varying': (target, mapped) =>
    target.name === 'text' ||
    (target.name === 'character varying' && (target.mods.length === 0 || target.mods[0]! >= mapped.mods[0]!)),
  text: (target) => target.name === 'text' || (target.name === 'character varying' && target.mods.length === 0),
  jsonb: (target) => target.name === 'jsonb' || target.name === 'json',
  'timestamp without time zone': atLeastAsPrecise,
  'timestamp with time zone': atLeastAsPrecise,
  interval: atLeastAsPrecise,
  bit: (target, mapped) =>
    (target.name === 'bit' && target.mods[0] === mapped.mods[0]) ||
    (target.name === 'bit varying' && (target.mods.length === 0 || target.mods[0]! >= mapped.mods[0]!)),
};

function holds(targetType: string, column: ColumnPlan): boolean {
  const target = parsePgType(targetType);
  const integers = sourceIntegerRange(column);
  if (integers) return holdsIntegers(target, integers);
  const mapped = parsePgType(column.pgType);
  const rule = HOLDS[mapped.name];
  return rule ? rule(target, mapped) : targetType === column.pgType;
}

/** Every way an existing target table cannot hold the source's data, one line per column. */
export function targetDifferences(description: TableDescription, existing: TargetColumn[]): string[] {
  const byName = new Map(existing.map((column) => [column.name, column]));
  const differences = description.columns.flatMap((column) => {
    const target = byName.get(column.name);
    const source = `${column.source.columnType} (${column.pgType})`;
    if (!target) return [`${column.name}: missing; the source has ${source}`];
    const found: string[] = [];
    if (!holds(target.type, column)) found.push(`${column.name}: ${target.type} cannot hold the source's ${source}`);
    if (column.nullable && !target.nullable) found.push(`${column.name}: NOT NULL, but the source allows NULL`);
    if (target.generated) found.push(`${column.name}: generated in the target, so it cannot be written`);
    return found;
  });
  const sourceNames = new Set(description.columns.map((column) => column.name));
  for (const column of existing) {
    if (!sourceNames.has(column.name) && !column.nullable && !column.hasDefault) {
      differences.push(`${column.name}: NOT NULL without a default, and the source has no such column`);
    }
  }
  return differences;
}

async function readTargetColumns(target: pg.Client, targetSchema: string, table: string): Promise<TargetColumn[]> {
  const { rows } = await target.query<TargetColumn>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, NOT a.attnotnull AS nullable,
            a.atthasdef OR a.attidentity <> '' AS "hasDefault", a.attgenerated <> '' AS generated
       FROM pg_attribute a
      WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [`${quotePg(targetSchema)}.${quotePg(table)}`],
  );
  return rows;
}

function refuseDifferences(description: TableDescription, existing: TargetColumn[], targetSchema: string): void {
  const differences = targetDifferences(description, existing);
  if (differences.length > 0) {
    throw new SchemaError(
      `Target table ${targetSchema}.${description.table} exists but cannot hold the source's data:\n` +
        differences.map((difference) => `  ${difference}`).join('\n') +
        '\nAlter these columns, or drop the table so it is created from the source.',
    );
  }
}

/**
 * Creates the target table when it is missing; when it exists, refuses it, column by column,
 * unless it can hold every source value. Nothing is copied before this has passed.
 */
export async function prepareTargetTable(
  target: pg.Client,
  description: TableDescription,
  targetSchema: string,
): Promise<TargetPreparation> {
  try {
    const { rows } = await target.query<{ server_encoding: string }>('SHOW server_encoding');
    if (rows[0]?.server_encoding !== 'UTF8') {
      throw new SchemaError(
        `The target database's encoding is ${rows[0]?.server_encoding}, not UTF8: it cannot hold every MySQL character; use a UTF8 database`,
      );
    }
    const existing = await readTargetColumns(target, targetSchema, description.table);
    if (existing.length === 0) {
      const { sql, notes } = createTableSql(description, targetSchema);
      await target.query(sql);
      return { created: true, notes };
    }
    refuseDifferences(description, existing, targetSchema);
    return { created: false, notes: [] };
  } catch (error) {
    throw classifyDatabaseError(error, 'target');
  }
}

/**
 * Checks the target table again before a range writes into it (it may have changed since Plan)
 * and returns the description with the target's own nullability, which decides whether a value a
 * policy turns into NULL can land.
 */
export async function checkTargetTable(
  target: pg.Client,
  description: TableDescription,
  targetSchema: string,
): Promise<TableDescription> {
  let existing: TargetColumn[];
  try {
    existing = await readTargetColumns(target, targetSchema, description.table);
  } catch (error) {
    throw classifyDatabaseError(error, 'target');
  }
  if (existing.length === 0)
    throw new SchemaError(`Target table ${targetSchema}.${description.table} does not exist: Plan creates it`);
  refuseDifferences(description, existing, targetSchema);
  const nullable = new Map(existing.map((column) => [column.name, column.nullable]));
  return {
    ...description,
    columns: description.columns.map((column) => ({ ...column, nullable: nullable.get(column.name)! })),
  };
}
