import { createHash } from 'node:crypto';
import pg from 'pg';
import { quotePg } from '../identifiers.js';
import type { SourceCheck, SourceForeignKey, SourceIndex, SourceObjects, SourceTable } from './source-objects.js';

/** The kinds of object the finishing step creates, or lists. */
export type ObjectKind =
  | 'sequence'
  | 'on update trigger'
  | 'index'
  | 'check'
  | 'foreign key'
  | 'comment'
  | 'source view'
  | 'source trigger';

/** An object the target gets: `create` makes it; a check or foreign key is then validated. */
export interface PlannedObject {
  kind: ObjectKind;
  table: string;
  /** Its name in the target (an index's is made unique in the schema). */
  name: string;
  create: string;
  /** A check's expression, to find a row that breaks it. */
  expression?: string;
  /** A comment's column (none for the table's own) and text, to tell whether the target has it already. */
  comment?: { column: string | null; text: string };
}

export interface PlannedSequence {
  table: string;
  column: string;
  name: string;
  /** The source's next auto_increment value: the sequence never hands out less. */
  next: string | null;
}

export interface PlannedForeignKey extends PlannedObject {
  key: SourceForeignKey;
}

/** What the target does not get, and why; views and triggers of the source with their definitions. */
export interface NotCarried {
  kind: ObjectKind;
  table: string | null;
  name: string;
  reason: string;
  definition?: string;
}

export interface FinishPlan {
  sequences: PlannedSequence[];
  onUpdateTriggers: PlannedObject[];
  indexes: PlannedObject[];
  checks: PlannedObject[];
  foreignKeys: PlannedForeignKey[];
  comments: PlannedObject[];
  notCarried: NotCarried[];
}

const MAX_IDENTIFIER_BYTES = 63;

/**
 * A PostgreSQL name from its parts, cut to 63 bytes with a hash of the whole so that two long
 * names stay apart. Index, sequence and function names are per schema in PostgreSQL (per table
 * in MySQL), so they carry the table's name.
 */
export function targetName(...parts: string[]): string {
  const name = parts.join('_');
  if (Buffer.byteLength(name) <= MAX_IDENTIFIER_BYTES) return name;
  const hash = createHash('sha1').update(name).digest('hex').slice(0, 8);
  let cut = name;
  while (Buffer.byteLength(cut) > MAX_IDENTIFIER_BYTES - hash.length - 1) cut = cut.slice(0, -1);
  return `${cut}_${hash}`;
}

const BINARY_TYPES = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob']);
export const NOT_TRANSLATED =
  'not translated: its body is MySQL SQL, which PostgreSQL does not run as it is; recreate it by hand from this definition';

/** Turns what the source has around the run's tables into the objects the target gets, and the list of what it does not. */
export function planFinish(source: SourceObjects, schema: string): FinishPlan {
  const plan: FinishPlan = {
    sequences: [],
    onUpdateTriggers: [],
    indexes: [],
    checks: [],
    foreignKeys: [],
    comments: [],
    notCarried: [],
  };
  const runTables = new Set(source.tables.map((table) => table.name));
  for (const table of source.tables) planTable(plan, table, schema);
  for (const index of source.indexes) {
    const table = source.tables.find((t) => t.name === index.table)!;
    const planned = planIndex(index, table, schema);
    if ('reason' in planned) plan.notCarried.push(planned);
    else plan.indexes.push(planned);
  }
  for (const check of source.checks) {
    const table = source.tables.find((t) => t.name === check.table)!;
    const planned = planCheck(check, table, schema);
    if ('reason' in planned) plan.notCarried.push(planned);
    else plan.checks.push(planned);
  }
  for (const key of source.foreignKeys) {
    // A key between two tables outside the run came along with its referencing table's run.
    if (!runTables.has(key.table) && !runTables.has(key.referencedTable)) continue;
    if (key.referencedSchema !== source.database) {
      plan.notCarried.push({
        kind: 'foreign key',
        table: key.table,
        name: key.name,
        reason: `references ${key.referencedSchema}.${key.referencedTable}, in another database`,
      });
      continue;
    }
    plan.foreignKeys.push(planForeignKey(key, schema));
  }
  for (const view of source.views)
    plan.notCarried.push({
      kind: 'source view',
      table: null,
      name: view.name,
      reason: NOT_TRANSLATED,
      definition: view.definition,
    });
  for (const trigger of source.triggers) {
    plan.notCarried.push({
      kind: 'source trigger',
      table: trigger.table,
      name: trigger.name,
      reason: NOT_TRANSLATED,
      definition: `${trigger.when} ON ${trigger.table} FOR EACH ROW ${trigger.statement}`,
    });
  }
  return plan;
}

const qualified = (schema: string, name: string) => `${quotePg(schema)}.${quotePg(name)}`;

function planTable(plan: FinishPlan, table: SourceTable, schema: string): void {
  const target = qualified(schema, table.name);
  for (const column of table.columns) {
    if (column.autoIncrement) {
      plan.sequences.push({
        table: table.name,
        column: column.column,
        name: targetName(table.name, column.column, 'seq'),
        next: table.autoIncrement,
      });
    }
    if (column.onUpdate) {
      const name = targetName(table.name, column.column, 'on_update');
      const col = quotePg(column.column);
      // MySQL sets the column when an UPDATE changes the row and does not set the column itself;
      // an UPDATE that changes nothing leaves it as it was.
      plan.onUpdateTriggers.push({
        kind: 'on update trigger',
        table: table.name,
        name,
        create: `CREATE OR REPLACE FUNCTION ${qualified(schema, name)}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW IS DISTINCT FROM OLD AND NEW.${col} IS NOT DISTINCT FROM OLD.${col} THEN
    NEW.${col} := current_timestamp;
  END IF;
  RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER ${quotePg(name)} BEFORE UPDATE ON ${target} FOR EACH ROW EXECUTE FUNCTION ${qualified(schema, name)}()`,
      });
    }
    if (column.comment) {
      plan.comments.push({
        kind: 'comment',
        table: table.name,
        name: `${table.name}.${column.column}`,
        comment: { column: column.column, text: column.comment },
        create: `COMMENT ON COLUMN ${target}.${quotePg(column.column)} IS ${pg.escapeLiteral(column.comment)}`,
      });
    }
  }
  if (table.comment) {
    plan.comments.push({
      kind: 'comment',
      table: table.name,
      name: table.name,
      comment: { column: null, text: table.comment },
      create: `COMMENT ON TABLE ${target} IS ${pg.escapeLiteral(table.comment)}`,
    });
  }
}

/**
 * A secondary index. A prefix part (`KEY (name(10))`) becomes an expression over the prefix
 * (`left(name, 10)`), which keeps a unique prefix's meaning and stays within B-tree's entry size
 * on long text; FULLTEXT becomes a GIN index over `to_tsvector('simple', ...)` of its columns,
 * SPATIAL a GiST index.
 */
export function planIndex(index: SourceIndex, table: SourceTable, schema: string): PlannedObject | NotCarried {
  const base = { kind: 'index' as const, table: index.table };
  const name = targetName(index.table, index.name);
  const notCarried = (reason: string): NotCarried => ({ ...base, name: index.name, reason });
  if (index.parts.some((part) => part.column === null))
    return notCarried('it has a functional key part, whose expression is MySQL SQL');
  const on = qualified(schema, index.table);
  switch (index.type) {
    // A GiST index over a PostGIS geometry; over EWKB in bytea (no PostGIS) PostgreSQL refuses it, and says so.
    case 'spatial':
      return {
        ...base,
        name,
        create: `CREATE INDEX IF NOT EXISTS ${quotePg(name)} ON ${on} USING gist (${index.parts.map((part) => quotePg(part.column!)).join(', ')})`,
      };
    case 'fulltext': {
      const text = index.parts.map((part) => `coalesce(${quotePg(part.column!)}, '')`).join(` || ' ' || `);
      return {
        ...base,
        name,
        create: `CREATE INDEX IF NOT EXISTS ${quotePg(name)} ON ${on} USING gin (to_tsvector('simple', ${text}))`,
      };
    }
    default: {
      const parts = index.parts.map((part) => {
        const column = quotePg(part.column!);
        const binary = BINARY_TYPES.has(table.columns.find((c) => c.column === part.column)?.dataType ?? '');
        return `${prefixOf(column, part.prefix, binary)}${part.descending ? ' DESC' : ''}`;
      });
      return {
        ...base,
        name,
        create: `CREATE ${index.unique ? 'UNIQUE ' : ''}INDEX IF NOT EXISTS ${quotePg(name)} ON ${on} (${parts.join(', ')})`,
      };
    }
  }
}

/** A prefix key part: the first characters of text, the first bytes of binary. */
function prefixOf(column: string, prefix: number | null, binary: boolean): string {
  if (prefix === null) return column;
  return binary ? `(substring(${column} from 1 for ${prefix}))` : `(left(${column}, ${prefix}))`;
}

export function planForeignKey(key: SourceForeignKey, schema: string): PlannedForeignKey {
  const name = targetName(key.name);
  const columns = (names: string[]) => names.map(quotePg).join(', ');
  return {
    kind: 'foreign key',
    table: key.table,
    name,
    key,
    create:
      `ALTER TABLE ${qualified(schema, key.table)} ADD CONSTRAINT ${quotePg(name)} FOREIGN KEY (${columns(key.columns)}) ` +
      `REFERENCES ${qualified(schema, key.referencedTable)} (${columns(key.referencedColumns)}) ` +
      `ON DELETE ${key.onDelete} ON UPDATE ${key.onUpdate} NOT VALID`,
  };
}

// MariaDB's JSON is LONGTEXT with this check; the column's jsonb type holds only valid JSON.
const JSON_VALID = /^\(?json_valid\(`(?:[^`]|``)+`\)\)?$/i;

export function planCheck(check: SourceCheck, table: SourceTable, schema: string): PlannedObject | NotCarried {
  const base = { kind: 'check' as const, table: check.table, name: targetName(check.name) };
  if (JSON_VALID.test(check.clause.trim()))
    return {
      ...base,
      reason: `${check.clause}: the column's jsonb type holds only valid JSON`,
      definition: check.clause,
    };
  const translated = translateCheckClause(
    check.clause,
    table.columns.map((column) => column.column),
  );
  if ('reason' in translated) return { ...base, reason: translated.reason, definition: check.clause };
  return {
    ...base,
    expression: translated.sql,
    create: `ALTER TABLE ${qualified(schema, check.table)} ADD CONSTRAINT ${quotePg(base.name)} CHECK (${translated.sql}) NOT VALID`,
  };
}

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'between', 'is', 'null', 'true', 'false', 'like']);
/** Functions that mean the same on both sides, by their MySQL name. MySQL's length() counts bytes. */
const FUNCTIONS: Record<string, string> = {
  char_length: 'char_length',
  character_length: 'char_length',
  length: 'octet_length',
  octet_length: 'octet_length',
  lower: 'lower',
  upper: 'upper',
  abs: 'abs',
  trim: 'trim',
  coalesce: 'coalesce',
};
const TOKEN =
  /\s+|`((?:[^`]|``)+)`|(?:_[A-Za-z0-9]+)?'((?:[^'\\]|'')*)'|(\d+(?:\.\d+)?(?:e[-+]?\d+)?)|(<>|!=|<=|>=|=|<|>|\+|-|\*|\/|%|\(|\)|,)|([A-Za-z_][A-Za-z0-9_]*)/iy;

/**
 * A CHECK clause as MySQL 8 or MariaDB prints it, in PostgreSQL: only a safe subset (the table's
 * columns, literals, comparisons, arithmetic, AND/OR/NOT, IN, BETWEEN, IS NULL, LIKE and a few
 * functions that mean the same on both sides); anything else is refused with the reason.
 */
export function translateCheckClause(clause: string, columns: string[]): { sql: string } | { reason: string } {
  const out: string[] = [];
  let at = 0;
  while (at < clause.length) {
    TOKEN.lastIndex = at;
    const match = TOKEN.exec(clause);
    if (!match) return { reason: `cannot translate "${clause.slice(at, at + 20)}"` };
    at = TOKEN.lastIndex;
    const [token, identifier, string, number, operator, word] = match;
    if (identifier !== undefined) {
      const name = identifier.replace(/``/g, '`');
      if (!columns.includes(name)) return { reason: `${name} is not a column of the table` };
      out.push(quotePg(name));
    } else if (string !== undefined) out.push(pg.escapeLiteral(string.replace(/''/g, "'")));
    else if (number !== undefined) out.push(number);
    else if (operator !== undefined) out.push(operator === '!=' ? '<>' : operator);
    else if (word !== undefined) {
      const lower = word.toLowerCase();
      const fn = FUNCTIONS[lower];
      if (KEYWORDS.has(lower)) out.push(lower.toUpperCase());
      else if (fn && /^\s*\(/.test(clause.slice(at))) out.push(fn);
      else return { reason: `${word} has no translation` };
    } else if (!/^\s+$/.test(token)) return { reason: `cannot translate "${token}"` };
  }
  return { sql: out.join(' ') };
}
