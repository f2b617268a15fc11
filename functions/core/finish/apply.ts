import type pg from 'pg';
import { allowingTargetSilence } from '../connections.js';
import { classifyDatabaseError, TransientDatabaseError } from '../errors.js';
import { quotePg } from '../identifiers.js';
import { inTransaction } from '../ledger.js';
import type { NotCarried, ObjectKind, PlannedForeignKey, PlannedObject, PlannedSequence } from './translate.js';

/**
 * What the finishing step found or did to one object: `created`; `present` (the target had it
 * already, as it has after an earlier run); `updated` (a sequence moved past the copied keys, a
 * key validated at last); `not valid` (added, but rows in the target break it); `not carried`
 * (with the reason, and for a source view or trigger its definition).
 */
/**
 * An index build or a key's validation reads the whole table before it answers: silence up to
 * Finish's own time limit (Lambda's 15 minutes) is the server working, not a dead connection.
 */
const BUILD_SILENCE_MS = 15 * 60_000;

function building<T>(target: pg.Client, statement: () => Promise<T>): Promise<T> {
  return allowingTargetSilence(target, BUILD_SILENCE_MS, statement);
}

export type ObjectStatus = 'created' | 'present' | 'updated' | 'not valid' | 'not carried';

export interface FinishedObject {
  kind: ObjectKind;
  table: string | null;
  name: string;
  status: ObjectStatus;
  /** The reason it is not carried, a row that breaks it, or where a sequence now starts. */
  detail: string | null;
  definition: string | null;
}

const qualified = (schema: string, name: string) => `${quotePg(schema)}.${quotePg(name)}`;

/** Only a connection fault is worth a retry; any other refusal is the object's own, and reported. */
function rethrowTransient(error: unknown): string {
  const named = classifyDatabaseError(error, 'target');
  if (named instanceof TransientDatabaseError) throw named;
  return (error as Error).message;
}

export function notCarried(object: NotCarried): FinishedObject {
  return {
    kind: object.kind,
    table: object.table,
    name: object.name,
    status: 'not carried',
    detail: object.reason,
    definition: object.definition ?? null,
  };
}

/**
 * Gives an auto_increment column a sequence owned by it as its default (or keeps the identity or
 * owned sequence it has), and moves the sequence so its next value is past the highest key in the
 * target and past the source's AUTO_INCREMENT; it never moves back.
 */
export async function applySequence(target: pg.Client, planned: PlannedSequence, schema: string) {
  const table = qualified(schema, planned.table);
  const result = (status: ObjectStatus, detail: string): FinishedObject => ({
    kind: 'sequence',
    table: planned.table,
    name: planned.name,
    status,
    detail,
    definition: `${planned.table}.${planned.column}`,
  });
  const { rows } = await target.query<{ default: string | null; identity: string }>(
    `SELECT pg_get_expr(d.adbin, d.adrelid) AS default, a.attidentity AS identity
       FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND NOT a.attisdropped`,
    [table, planned.column],
  );
  const column = rows[0];
  if (!column) return result('not carried', `${planned.table}.${planned.column} is not in the target`);
  let status: ObjectStatus = 'present';
  if (!column.identity && column.default === null) {
    try {
      await inTransaction(target, async () => {
        const sequence = qualified(schema, planned.name);
        await target.query(`CREATE SEQUENCE ${sequence} OWNED BY ${table}.${quotePg(planned.column)}`);
        await target.query(
          `ALTER TABLE ${table} ALTER COLUMN ${quotePg(planned.column)} SET DEFAULT nextval('${sequence.replace(/'/g, "''")}'::regclass)`,
        );
      });
    } catch (error) {
      return result('not carried', `PostgreSQL refused it: ${rethrowTransient(error)}`);
    }
    status = 'created';
  }
  const { rows: owned } = await target.query<{ sequence: string | null }>(
    'SELECT pg_get_serial_sequence($1, $2) AS sequence',
    [table, planned.column],
  );
  const sequence = owned[0]?.sequence;
  if (!sequence)
    return result(
      'not carried',
      `${planned.column} already has a default of its own (${column.default}) in the target`,
    );
  const { rows: positions } = await target.query<{ next: string; above: string }>(
    `SELECT (SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM ${sequence})::text AS next,
            (SELECT coalesce(max(${quotePg(planned.column)}), 0) + 1 FROM ${table})::text AS above`,
  );
  const { next, above } = positions[0]!;
  const wanted = [BigInt(next), BigInt(above), BigInt(planned.next ?? 1)].reduce((a, b) => (a > b ? a : b));
  if (wanted !== BigInt(next)) {
    try {
      await target.query('SELECT setval($1::regclass, $2::bigint, false)', [sequence, wanted.toString()]);
    } catch (error) {
      // A key beyond a sequence's range (a BIGINT UNSIGNED above 2^63 - 1) leaves nothing to hand out.
      return result('not carried', `cannot start at ${wanted}: ${rethrowTransient(error)}`);
    }
    if (status === 'present') status = 'updated';
  }
  return result(status, `next value ${wanted}`);
}

/** What became of a planned object: its status, and a detail when there is one to tell. */
function reporting(planned: PlannedObject | PlannedForeignKey) {
  return (status: ObjectStatus, detail: string | null = null): FinishedObject => ({
    kind: planned.kind,
    table: planned.table,
    name: planned.name,
    status,
    detail,
    definition: planned.create,
  });
}

/** Creates an index, a trigger or a comment unless the target has it already. */
export async function applyObject(target: pg.Client, planned: PlannedObject, schema: string): Promise<FinishedObject> {
  const table = qualified(schema, planned.table);
  const result = reporting(planned);
  const present = await isPresent(target, planned, table, schema);
  if (present === 'taken')
    return result('not carried', `the name ${planned.name} is taken by another object of the target schema`);
  if (present) return result('present');
  try {
    await building(target, () => target.query(planned.create));
  } catch (error) {
    return result('not carried', `PostgreSQL refused it: ${rethrowTransient(error)}`);
  }
  return result('created');
}

async function isPresent(
  target: pg.Client,
  planned: PlannedObject,
  table: string,
  schema: string,
): Promise<boolean | 'taken'> {
  switch (planned.kind) {
    case 'index': {
      const { rows } = await target.query<{ taken: boolean; ours: boolean }>(
        `SELECT to_regclass($1) IS NOT NULL AS taken,
                EXISTS (SELECT 1 FROM pg_index WHERE indexrelid = to_regclass($1) AND indrelid = to_regclass($2)) AS ours`,
        [qualified(schema, planned.name), table],
      );
      return rows[0]!.ours || (rows[0]!.taken ? 'taken' : false);
    }
    case 'on update trigger': {
      const { rowCount } = await target.query(
        'SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass($1) AND tgname = $2 AND NOT tgisinternal',
        [table, planned.name],
      );
      return rowCount === 1;
    }
    case 'comment': {
      const { column, text } = planned.comment!;
      const { rows } = await target.query<{ comment: string | null }>(
        column === null
          ? `SELECT obj_description(to_regclass($1), 'pg_class') AS comment`
          : `SELECT col_description(to_regclass($1), (SELECT attnum FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = $2)) AS comment`,
        column === null ? [table] : [table, column],
      );
      return rows[0]?.comment === text;
    }
    default:
      throw new Error(`No presence test for ${planned.kind}`);
  }
}

/**
 * Adds a check or a foreign key `NOT VALID` (taking a lock only for a moment), then validates it
 * (scanning the table without blocking its reads or writes). A key or check the rows in the target
 * break stays `NOT VALID`: it holds for every new write, and the result names a row that breaks it.
 * One that is present but not valid yet is validated again, since later runs may have fixed its rows.
 */
export async function applyConstraint(
  target: pg.Client,
  planned: PlannedObject | PlannedForeignKey,
  schema: string,
): Promise<FinishedObject> {
  const table = qualified(schema, planned.table);
  const result = reporting(planned);
  if ('key' in planned) {
    for (const name of [planned.table, planned.key.referencedTable]) {
      if (!(await tableExists(target, qualified(schema, name))))
        return result('not carried', `table ${name} is not in the target yet: the run that migrates it adds this key`);
    }
  }
  const { rows } = await target.query<{ valid: boolean }>(
    'SELECT convalidated AS valid FROM pg_constraint WHERE conrelid = to_regclass($1) AND conname = $2',
    [table, planned.name],
  );
  const existing = rows[0];
  if (existing?.valid) return result('present');
  if (!existing) {
    try {
      await building(target, () => target.query(planned.create));
    } catch (error) {
      return result('not carried', `PostgreSQL refused it: ${rethrowTransient(error)}`);
    }
  }
  try {
    await building(target, () => target.query(`ALTER TABLE ${table} VALIDATE CONSTRAINT ${quotePg(planned.name)}`));
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== '23503' && code !== '23514')
      return result('not carried', `PostgreSQL refused it: ${rethrowTransient(error)}`);
    const example = await breakingRow(target, planned, table, schema);
    return result('not valid', `rows of ${planned.table} break it, for example ${example}`);
  }
  return result(existing ? 'updated' : 'created', existing ? 'validated' : null);
}

async function tableExists(target: pg.Client, table: string): Promise<boolean> {
  const { rows } = await target.query<{ exists: boolean }>('SELECT to_regclass($1) IS NOT NULL AS exists', [table]);
  return rows[0]!.exists;
}

/** One row of the table that breaks the key or the check, named by its primary key and the key's columns. */
async function breakingRow(
  target: pg.Client,
  planned: PlannedObject | PlannedForeignKey,
  table: string,
  schema: string,
): Promise<string> {
  const { rows: keyColumns } = await target.query<{ name: string }>(
    `SELECT a.attname AS name FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
      WHERE i.indrelid = to_regclass($1) AND i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)`,
    [table],
  );
  const named = [...new Set([...keyColumns.map((c) => c.name), ...('key' in planned ? planned.key.columns : [])])];
  const shown = named.map((name) => `${quotePg(name)}::text`).join(', ');
  let where: string;
  if ('key' in planned) {
    const { key } = planned;
    const matches = key.columns.map((c, i) => `p.${quotePg(key.referencedColumns[i]!)} = t.${quotePg(c)}`);
    // MATCH SIMPLE, as in MySQL: a key with a NULL column references nothing.
    where =
      `${key.columns.map((c) => `t.${quotePg(c)} IS NOT NULL`).join(' AND ')} AND NOT EXISTS ` +
      `(SELECT 1 FROM ${qualified(schema, key.referencedTable)} p WHERE ${matches.join(' AND ')})`;
  } else where = `NOT (${planned.expression})`;
  const { rows } = await target.query({
    text: `SELECT ${shown} FROM ${table} t WHERE ${where} LIMIT 1`,
    rowMode: 'array',
  });
  const row = (rows as (string | null)[][])[0];
  return row ? named.map((name, i) => `${name}=${row[i] ?? 'NULL'}`).join(', ') : '(none found)';
}
