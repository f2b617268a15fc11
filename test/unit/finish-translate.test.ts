import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SourceObjects, SourceTable } from '../../functions/core/finish/source-objects.js';
import { planFinish, planIndex, targetName, translateCheckClause } from '../../functions/core/finish/translate.js';

const table = (name: string, columns: [string, string][] = []): SourceTable => ({
  name,
  comment: '',
  autoIncrement: null,
  columns: columns.map(([column, dataType]) => ({
    table: name,
    column,
    dataType,
    autoIncrement: false,
    onUpdate: false,
    comment: '',
  })),
});

describe('translating what the source has into the finishing step', () => {
  test('target names stay within 63 bytes and apart, however long', () => {
    assert.equal(targetName('film', 'idx_title'), 'film_idx_title');
    const long = targetName('t'.repeat(60), 'index_one');
    const other = targetName('t'.repeat(60), 'index_two');
    assert.ok(Buffer.byteLength(long) <= 63);
    assert.notEqual(long, other);
    assert.ok(Buffer.byteLength(targetName('é'.repeat(40), 'x')) <= 63);
  });

  test('a check clause as MariaDB and MySQL 8 print it, translated; others refused with the reason', () => {
    const columns = ['rating', 'length', 'name'];
    assert.deepEqual(translateCheckClause("`rating` in ('G','PG','PG-13')", columns), {
      sql: `"rating" IN ( 'G' , 'PG' , 'PG-13' )`,
    });
    assert.deepEqual(translateCheckClause("(`rating` in (_utf8mb4'G',_utf8mb4'it''s'))", columns), {
      sql: `( "rating" IN ( 'G' , 'it''s' ) )`,
    });
    assert.deepEqual(translateCheckClause('`length` > 0 and char_length(`name`) <= 10 or `length` is null', columns), {
      sql: `"length" > 0 AND char_length ( "name" ) <= 10 OR "length" IS NULL`,
    });
    assert.deepEqual(translateCheckClause('length(`name`) != 3', columns), { sql: `octet_length ( "name" ) <> 3` });
    assert.match((translateCheckClause("`name` regexp '^A'", columns) as { reason: string }).reason, /regexp/);
    assert.match((translateCheckClause('`other` > 1', columns) as { reason: string }).reason, /not a column/);
    assert.match((translateCheckClause("`name` <> 'a\\'b'", columns) as { reason: string }).reason, /cannot translate/);
    assert.match((translateCheckClause('`length` > 1 && `length` < 5', columns) as { reason: string }).reason, /&/);
  });

  test('a prefix part is an expression over the prefix: characters of text, bytes of binary', () => {
    const t = table('doc', [
      ['title', 'varchar'],
      ['hash', 'varbinary'],
    ]);
    const planned = planIndex(
      {
        table: 'doc',
        name: 'uq',
        unique: true,
        type: 'btree',
        parts: [
          { column: 'title', prefix: 10, descending: false },
          { column: 'hash', prefix: 4, descending: true },
        ],
      },
      t,
      'public',
    );
    assert.equal(
      'create' in planned && planned.create,
      'CREATE UNIQUE INDEX IF NOT EXISTS "doc_uq" ON "public"."doc" ((left("title", 10)), (substring("hash" from 1 for 4)) DESC)',
    );
  });

  test('keys of the run, or into it, are planned; a key into another database is listed, one between other tables left alone', () => {
    const key = (name: string, from: string, to: string, schema = 'app') => ({
      table: from,
      name,
      columns: ['a'],
      referencedSchema: schema,
      referencedTable: to,
      referencedColumns: ['id'],
      onDelete: 'CASCADE' as const,
      onUpdate: 'NO ACTION' as const,
    });
    const source: SourceObjects = {
      database: 'app',
      tables: [table('child', [['a', 'int']])],
      indexes: [],
      foreignKeys: [
        key('to_parent', 'child', 'parent'),
        key('into_run', 'other', 'child'),
        key('elsewhere', 'child', 'parent', 'archive'),
        key('unrelated', 'x', 'y'),
      ],
      checks: [],
      views: [{ name: 'v', definition: 'select 1' }],
      triggers: [],
    };
    const plan = planFinish(source, 'public');
    assert.deepEqual(
      plan.foreignKeys.map((k) => k.name),
      ['to_parent', 'into_run'],
    );
    assert.match(plan.foreignKeys[0]!.create, /ON DELETE CASCADE ON UPDATE NO ACTION NOT VALID$/);
    assert.deepEqual(
      plan.notCarried.map((o) => [o.kind, o.name]),
      [
        ['foreign key', 'elsewhere'],
        ['source view', 'v'],
      ],
    );
  });
});
