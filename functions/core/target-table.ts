import pg from 'pg';
import { encodeStrictly } from './codecs/codec.js';
import { parsePgType } from './codecs/pg-type.js';
import type { TargetFeatures } from './codecs/type-table.js';
import { classifyDatabaseError, SchemaError } from './errors.js';
import { quotePg } from './identifiers.js';
import type { ColumnPlan, TableDescription } from './schema.js';

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
  /** Source definitions with no PostgreSQL equal (a default, a generated expression). */
  notes: string[];
}

/** What the target database offers that the type table chooses by: its extensions. */
export async function readTargetFeatures(target: pg.Client): Promise<TargetFeatures> {
  try {
    const { rows } = await target.query<{ postgis: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'postgis') AS postgis`,
    );
    return { postgis: rows[0]!.postgis };
  } catch (error) {
    throw classifyDatabaseError(error, 'target');
  }
}

/** The column's default as its codec carries the source's, or why it is dropped; and why rows holding it arrive as NULL. */
function carriedDefault({ codec, source }: ColumnPlan): { sql?: string; dropped?: string; arrivesAsNull?: string } {
  const value = source.default;
  const { expressions, literalsDropped, arrivesAsNull } = codec.defaults;
  switch (value.kind) {
    case 'none':
      return {};
    case 'expression': {
      const sql = expressions.find(([mysql]) => mysql.test(value.sql))?.[1];
      return sql ? { sql } : { dropped: `default ${value.sql} has no PostgreSQL equivalent; dropped` };
    }
    case 'literal': {
      if (literalsDropped) return { dropped: literalsDropped };
      const encoded = encodeStrictly(codec, value.value);
      if ('text' in encoded) return { sql: pg.escapeLiteral(encoded.text) };
      return {
        dropped: `default ${pg.escapeLiteral(value.value)} dropped: ${encoded.reason}`,
        ...(arrivesAsNull?.literal(value.value) ? { arrivesAsNull: arrivesAsNull.because } : {}),
      };
    }
  }
}

/** One column of the CREATE TABLE, and what of its source definition it cannot keep. */
function columnDefinition(column: ColumnPlan): { sql: string; notes: string[] } {
  const { name, source } = column;
  const notes: string[] = [];
  let nullable = column.nullable;
  const carried = carriedDefault(column);
  if (carried.dropped) notes.push(`${name}: ${carried.dropped}`);
  if (carried.arrivesAsNull && !nullable) {
    nullable = true;
    notes.push(`${name}: NOT NULL dropped, so ${carried.arrivesAsNull}`);
  }
  if (source.generation !== null)
    notes.push(`${name}: generated column (${source.generation}); its values are copied, its expression is not`);
  // auto_increment and ON UPDATE CURRENT_TIMESTAMP are carried by the finishing step (finish/translate.ts).
  return {
    sql: `  ${quotePg(name)} ${column.codec.pgType}${nullable ? '' : ' NOT NULL'}${carried.sql ? ` DEFAULT ${carried.sql}` : ''}`,
    notes,
  };
}

/** The CREATE TABLE for the target from the mapped columns, and what it leaves out of the source's definition. */
export function createTableSql(description: TableDescription, targetSchema: string): { sql: string; notes: string[] } {
  const columns = description.columns.map(columnDefinition);
  const key = description.key;
  const constraint =
    key && `  ${key.kind === 'primary' ? 'PRIMARY KEY' : 'UNIQUE'} (${key.columns.map(quotePg).join(', ')})`;
  const lines = [...columns.map((column) => column.sql), ...(constraint ? [constraint] : [])];
  return {
    sql: `CREATE TABLE ${quotePg(targetSchema)}.${quotePg(description.table)} (\n${lines.join(',\n')}\n)`,
    notes: columns.flatMap((column) => column.notes),
  };
}

/** Every way an existing target table cannot hold the source's data, one line per column. */
export function targetDifferences(description: TableDescription, existing: TargetColumn[]): string[] {
  const byName = new Map(existing.map((column) => [column.name, column]));
  const differences = description.columns.flatMap((column) => {
    const target = byName.get(column.name);
    const source = `${column.source.columnType} (${column.codec.pgType})`;
    if (!target) return [`${column.name}: missing; the source has ${source}`];
    const found: string[] = [];
    if (!column.codec.holds(parsePgType(target.type)))
      found.push(`${column.name}: ${target.type} cannot hold the source's ${source}`);
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

/**
 * Lets the caller's transaction write rows as the source has them with the target's triggers not
 * firing (`session_replication_role = replica`, for this transaction only): replacing a range
 * must neither be refused by a foreign key nor cascade through one into another table, and a copied
 * row keeps its source's ON UPDATE timestamp. Done only when one of the tables has a foreign key,
 * or is referenced by one, so a target without keys needs no privilege for it and its own
 * triggers fire as before.
 */
export async function writeAsReplica(target: pg.Client, tables: string[], targetSchema: string): Promise<void> {
  const { rows } = await target.query<{ keyed: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE contype = 'f'
                       AND (conrelid = ANY ($1::text[]::regclass[]) OR confrelid = ANY ($1::text[]::regclass[]))) AS keyed`,
    [tables.map((table) => `${quotePg(targetSchema)}.${quotePg(table)}`)],
  );
  if (!rows[0]?.keyed) return;
  try {
    await target.query('SET LOCAL session_replication_role = replica');
  } catch (error) {
    if ((error as { code?: string }).code !== '42501') throw error;
    throw new SchemaError(
      `The target user may not set session_replication_role, which writing into tables with foreign keys and triggers needs: ` +
        'grant it (PostgreSQL 15+: GRANT SET ON PARAMETER session_replication_role TO <user>; on RDS the rds_superuser role has it)',
      { cause: error },
    );
  }
}
