import type mysql from 'mysql2';
import { quoteMysql } from '../../functions/core/identifiers.js';

export interface SeedOptions {
  table: string;
  rows: number;
}

const STATUSES = ['active', 'suspended', 'deleted'] as const;
const BATCH = 2_000;
// Ids: the first 40% dense, then a jump of a billion, then every third id.
const DENSE_SHARE = 0.4;
const GAP = 1_000_000_000;

/** The id of the i-th row (0-based) of a seeded table. */
export function seededId(i: number, rows: number): number {
  const dense = Math.floor(rows * DENSE_SHARE);
  return i < dense ? i + 1 : dense + GAP + (i - dense) * 3;
}

/**
 * (Re)creates a sparse-id `users`-shaped table and fills it with `rows` deterministic rows,
 * including the values that trip migrations: NULLs, empty strings, tabs, newlines, backslashes,
 * emoji, fractional seconds and negative decimals.
 */
export async function seedUsers(source: mysql.Connection, { table, rows }: SeedOptions): Promise<void> {
  const db = source.promise();
  const name = quoteMysql(table);
  await db.query(`DROP TABLE IF EXISTS ${name}`);
  await db.query(`CREATE TABLE ${name} (
    id         BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    email      VARCHAR(255) NOT NULL,
    name       VARCHAR(100) NOT NULL,
    created_at DATETIME(3) NOT NULL,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    is_active  TINYINT(1) NOT NULL,
    balance    DECIMAL(12,2) NOT NULL,
    status     ENUM('active','suspended','deleted') NOT NULL,
    bio        TEXT NULL
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
  for (let start = 0; start < rows; start += BATCH) {
    const values: unknown[][] = [];
    for (let i = start; i < Math.min(rows, start + BATCH); i++) values.push(seededRow(i, rows));
    await db.query(`INSERT INTO ${name} VALUES ?`, [values]);
  }
}

function seededRow(i: number, rows: number): unknown[] {
  const id = seededId(i, rows);
  const second = 1_600_000_000 + i * 37;
  const created = new Date(second * 1000 + (i % 1000)).toISOString().replace('T', ' ').replace('Z', '');
  const updated = new Date((second + 86_400) * 1000).toISOString().slice(0, 19).replace('T', ' ');
  return [
    id,
    `user${id}@example.com`,
    i % 97 === 0 ? `Zoë ${i} 🚀` : `User ${i}`,
    created,
    updated,
    i % 3 === 0 ? 0 : 1,
    `${i % 5 === 0 ? '-' : ''}${Math.floor(i / 7) % 100000}.${String(i % 100).padStart(2, '0')}`,
    STATUSES[i % 3],
    bio(i),
  ];
}

function bio(i: number): string | null {
  switch (i % 10) {
    case 0:
      return null;
    case 1:
      return '';
    case 2:
      return `line one\nline two\ttabbed \\ backslash \\N not null ${i}`;
    case 3:
      return `emoji 😀 and accents é ñ ${i}`;
    default:
      return `bio of user ${i}`;
  }
}
