import type mysql from 'mysql2';
import { classifyDatabaseError } from '../errors.js';

/** One key part of a source index: a column (or a prefix of it), or a MySQL 8 functional part. */
export interface IndexPart {
  /** Null for a functional key part, which has no column. */
  column: string | null;
  /** `KEY (name(10))`: the prefix length in characters (bytes for binary columns). */
  prefix: number | null;
  descending: boolean;
}

export interface SourceIndex {
  table: string;
  name: string;
  unique: boolean;
  /** `INDEX_TYPE`, lower case: btree, hash, fulltext, spatial. */
  type: string;
  parts: IndexPart[];
}

export type ReferentialAction = 'CASCADE' | 'SET NULL' | 'SET DEFAULT' | 'RESTRICT' | 'NO ACTION';

export interface SourceForeignKey {
  table: string;
  name: string;
  columns: string[];
  /** Null when the referenced table is in another database. */
  referencedTable: string;
  referencedSchema: string;
  referencedColumns: string[];
  onDelete: ReferentialAction;
  onUpdate: ReferentialAction;
}

export interface SourceColumnExtras {
  table: string;
  column: string;
  /** `DATA_TYPE`, lower case: a prefix of a binary column is cut in bytes. */
  dataType: string;
  autoIncrement: boolean;
  onUpdate: boolean;
  comment: string;
}

export interface SourceTable {
  name: string;
  comment: string;
  /** The table's next auto_increment value as the source keeps it; null without such a column. */
  autoIncrement: string | null;
  columns: SourceColumnExtras[];
}

export interface SourceCheck {
  table: string;
  name: string;
  /** As `information_schema.CHECK_CONSTRAINTS` spells it. */
  clause: string;
}

export interface SourceView {
  name: string;
  definition: string;
}

export interface SourceTrigger {
  table: string;
  name: string;
  /** BEFORE INSERT, AFTER UPDATE...: when it fires. */
  when: string;
  statement: string;
}

/** What the finishing step reads of the source beyond the columns: the objects around the run's tables. */
export interface SourceObjects {
  /** The source database's name: a foreign key into another database is not carried. */
  database: string;
  tables: SourceTable[];
  indexes: SourceIndex[];
  /** Foreign keys of the run's tables, and those of other tables that reference them. */
  foreignKeys: SourceForeignKey[];
  checks: SourceCheck[];
  views: SourceView[];
  triggers: SourceTrigger[];
}

type Row = Record<string, string | number | null>;

/** Reads the indexes, foreign keys, auto_increment and ON UPDATE columns, checks, comments, views and triggers of `tables`. */
export async function readSourceObjects(source: mysql.Connection, tables: string[]): Promise<SourceObjects> {
  const db = source.promise();
  const query = async (sql: string, values: unknown[] = [tables]) => (await db.query(sql, values))[0] as Row[];
  try {
    // MySQL 8 caches TABLES.AUTO_INCREMENT for a day unless told not to; MariaDB has no such cache.
    await db.query('SET SESSION information_schema_stats_expiry = 0').catch(() => {});
    const [[{ version, database }]] = (await db.query(
      'SELECT VERSION() AS version, DATABASE() AS `database`',
    )) as unknown as [[{ version: string; database: string }]];
    const tableRows = await query(
      `SELECT TABLE_NAME AS name, TABLE_COMMENT AS comment, AUTO_INCREMENT AS autoIncrement
         FROM information_schema.TABLES
        WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' AND TABLE_NAME IN (?) ORDER BY TABLE_NAME`,
    );
    const columnRows = await query(
      `SELECT TABLE_NAME AS tableName, COLUMN_NAME AS name, DATA_TYPE AS dataType, EXTRA AS extra, COLUMN_COMMENT AS comment
         FROM information_schema.COLUMNS
        WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (?) ORDER BY TABLE_NAME, ORDINAL_POSITION`,
    );
    const indexRows = await query(
      `SELECT TABLE_NAME AS tableName, INDEX_NAME AS name, NON_UNIQUE AS nonUnique, INDEX_TYPE AS type,
              COLUMN_NAME AS columnName, SUB_PART AS prefix, COLLATION AS collation
         FROM information_schema.STATISTICS
        WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (?) AND INDEX_NAME <> 'PRIMARY'
        ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`,
    );
    const keyRows = await query(
      `SELECT rc.TABLE_NAME AS tableName, rc.CONSTRAINT_NAME AS name, rc.UPDATE_RULE AS onUpdate, rc.DELETE_RULE AS onDelete,
              k.COLUMN_NAME AS columnName, k.REFERENCED_TABLE_SCHEMA AS referencedSchema,
              k.REFERENCED_TABLE_NAME AS referencedTable, k.REFERENCED_COLUMN_NAME AS referencedColumn
         FROM information_schema.REFERENTIAL_CONSTRAINTS rc
         JOIN information_schema.KEY_COLUMN_USAGE k
           ON k.CONSTRAINT_SCHEMA = rc.CONSTRAINT_SCHEMA AND k.TABLE_NAME = rc.TABLE_NAME AND k.CONSTRAINT_NAME = rc.CONSTRAINT_NAME
        WHERE rc.CONSTRAINT_SCHEMA = DATABASE() AND (rc.TABLE_NAME IN (?) OR rc.REFERENCED_TABLE_NAME IN (?))
        ORDER BY rc.TABLE_NAME, rc.CONSTRAINT_NAME, k.ORDINAL_POSITION`,
      [tables, tables],
    );
    // MariaDB names a check per table and lists its table; MySQL 8 names it per schema, its table in TABLE_CONSTRAINTS.
    const checkRows = /mariadb/i.test(version)
      ? await query(
          `SELECT TABLE_NAME AS tableName, CONSTRAINT_NAME AS name, CHECK_CLAUSE AS clause
             FROM information_schema.CHECK_CONSTRAINTS
            WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME IN (?) ORDER BY TABLE_NAME, CONSTRAINT_NAME`,
        )
      : await query(
          `SELECT tc.TABLE_NAME AS tableName, cc.CONSTRAINT_NAME AS name, cc.CHECK_CLAUSE AS clause
             FROM information_schema.TABLE_CONSTRAINTS tc
             JOIN information_schema.CHECK_CONSTRAINTS cc
               ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME
            WHERE tc.TABLE_SCHEMA = DATABASE() AND tc.CONSTRAINT_TYPE = 'CHECK' AND tc.TABLE_NAME IN (?)
            ORDER BY tc.TABLE_NAME, cc.CONSTRAINT_NAME`,
        );
    const viewRows = await query(
      `SELECT TABLE_NAME AS name, VIEW_DEFINITION AS definition FROM information_schema.VIEWS
        WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME`,
      [],
    );
    const triggerRows = await query(
      `SELECT EVENT_OBJECT_TABLE AS tableName, TRIGGER_NAME AS name, ACTION_TIMING AS timing,
              EVENT_MANIPULATION AS event, ACTION_STATEMENT AS statement
         FROM information_schema.TRIGGERS
        WHERE TRIGGER_SCHEMA = DATABASE() AND EVENT_OBJECT_TABLE IN (?) ORDER BY EVENT_OBJECT_TABLE, TRIGGER_NAME`,
    );
    return {
      database,
      tables: tableRows.map((row) => ({
        name: String(row.name),
        comment: String(row.comment ?? ''),
        autoIncrement: row.autoIncrement === null ? null : String(row.autoIncrement),
        columns: columnRows
          .filter((column) => column.tableName === row.name)
          .map((column) => {
            const extra = String(column.extra ?? '').toLowerCase();
            return {
              table: String(row.name),
              column: String(column.name),
              dataType: String(column.dataType).toLowerCase(),
              autoIncrement: extra.includes('auto_increment'),
              onUpdate: /on update current_timestamp/.test(extra),
              comment: String(column.comment ?? ''),
            };
          }),
      })),
      indexes: groupIndexes(indexRows),
      foreignKeys: groupForeignKeys(keyRows),
      checks: checkRows.map((row) => ({
        table: String(row.tableName),
        name: String(row.name),
        clause: String(row.clause),
      })),
      views: viewRows.map((row) => ({ name: String(row.name), definition: String(row.definition) })),
      triggers: triggerRows.map((row) => ({
        table: String(row.tableName),
        name: String(row.name),
        when: `${row.timing} ${row.event}`,
        statement: String(row.statement),
      })),
    };
  } catch (error) {
    throw classifyDatabaseError(error, 'source');
  }
}

function groupIndexes(rows: Row[]): SourceIndex[] {
  const indexes = new Map<string, SourceIndex>();
  for (const row of rows) {
    const id = `${row.tableName}\0${row.name}`;
    let index = indexes.get(id);
    if (!index) {
      index = {
        table: String(row.tableName),
        name: String(row.name),
        unique: Number(row.nonUnique) === 0,
        type: String(row.type).toLowerCase(),
        parts: [],
      };
      indexes.set(id, index);
    }
    index.parts.push({
      column: row.columnName === null ? null : String(row.columnName),
      prefix: row.prefix === null ? null : Number(row.prefix),
      descending: row.collation === 'D',
    });
  }
  return [...indexes.values()];
}

function groupForeignKeys(rows: Row[]): SourceForeignKey[] {
  const keys = new Map<string, SourceForeignKey>();
  for (const row of rows) {
    const id = `${row.tableName}\0${row.name}`;
    let key = keys.get(id);
    if (!key) {
      key = {
        table: String(row.tableName),
        name: String(row.name),
        columns: [],
        referencedSchema: String(row.referencedSchema),
        referencedTable: String(row.referencedTable),
        referencedColumns: [],
        onDelete: String(row.onDelete) as ReferentialAction,
        onUpdate: String(row.onUpdate) as ReferentialAction,
      };
      keys.set(id, key);
    }
    key.columns.push(String(row.columnName));
    key.referencedColumns.push(String(row.referencedColumn));
  }
  return [...keys.values()];
}
