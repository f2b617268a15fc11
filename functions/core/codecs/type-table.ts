import type { SourceColumn } from '../schema.js';
import { BIT_AS_INTEGER, bit } from './bit.js';
import { boolean } from './boolean.js';
import { bytea } from './bytea.js';
import type { Codec } from './codec.js';
import { date } from './date.js';
import { datetime } from './datetime.js';
import { enumeration } from './enum.js';
import { float } from './float.js';
import { integer } from './integer.js';
import { json } from './json.js';
import { numeric } from './numeric.js';
import { geometry, spatialBytea } from './spatial.js';
import { text, varchar } from './text.js';
import { time } from './time.js';
import { timestamptz } from './timestamptz.js';
import { year } from './year.js';

/** Why no codec carries a column. */
export interface Refused {
  refused: string;
}

/** What the target database offers beyond PostgreSQL itself, which some types are carried by. */
export interface TargetFeatures {
  /** Whether the postgis extension is created in the target database. */
  postgis: boolean;
}

/** A target database with no extension. */
export const PLAIN_TARGET: TargetFeatures = { postgis: false };

/**
 * One row of the type table: the codec, with its parameters, that carries a column of the type
 * into a target with these features.
 */
type TypeRule = (column: SourceColumn, target: TargetFeatures) => Codec<string> | Refused;

const unsigned = (column: SourceColumn) => column.columnType.includes('unsigned');
const fraction = (column: SourceColumn) => column.datetimePrecision ?? 0;

/** The width n of a `bit(n)` column type. */
export function bitWidth(columnType: string): number {
  return Number(/^bit\((\d+)\)/.exec(columnType)?.[1] ?? 1);
}

/** The labels of an `enum('a','b')` column type, unquoted. */
export function enumLabels(columnType: string): string[] {
  return [...columnType.replace(/^enum\(/, '').matchAll(/'((?:[^']|'')*)'/g)].map((match) =>
    match[1]!.replace(/''/g, "'"),
  );
}

// PostGIS's geometry when the target has it; otherwise bytes the `spatial` policy lets arrive.
const spatial = (column: SourceColumn, target: TargetFeatures) =>
  target.postgis ? geometry(column.dataType) : spatialBytea;

/**
 * The MySQL/MariaDB type table: each `DATA_TYPE` and the codec that carries its columns, with
 * the codec's parameters read from the column. tinyint(1) and BIT(1) are MySQL's booleans; the
 * spatial types become PostGIS's geometry where the target has it. The
 * README's Types table says the same in words, and a test holds the two together.
 */
export const TYPE_TABLE = {
  tinyint: (c) => (c.columnType === 'tinyint(1)' ? boolean() : integer(8, unsigned(c))),
  smallint: (c) => integer(16, unsigned(c)),
  mediumint: (c) => integer(24, unsigned(c)),
  int: (c) => integer(32, unsigned(c)),
  bigint: (c) => integer(64, unsigned(c)),
  decimal: (c) => numeric(c.numericPrecision ?? 10, c.numericScale ?? 0),
  float: () => float(32),
  double: () => float(64),
  bit: (c) => (bitWidth(c.columnType) === 1 ? boolean(BIT_AS_INTEGER) : bit(bitWidth(c.columnType))),
  year: (c) => year(c.columnType === 'year(2)'),
  date: () => date,
  datetime: (c) => datetime(fraction(c)),
  timestamp: (c) => timestamptz(fraction(c)),
  time: (c) => time(fraction(c)),
  char: (c) => varchar(c.characterMaximumLength),
  varchar: (c) => varchar(c.characterMaximumLength),
  tinytext: () => text('text'),
  text: () => text('text'),
  mediumtext: () => text('text'),
  longtext: () => text('text'),
  enum: (c) => enumeration(enumLabels(c.columnType)),
  // A SET value is its members joined by commas, as MySQL prints it.
  set: () => text('text'),
  json: () => json,
  binary: () => bytea,
  varbinary: () => bytea,
  tinyblob: () => bytea,
  blob: () => bytea,
  mediumblob: () => bytea,
  longblob: () => bytea,
  // MariaDB's own types.
  uuid: () => text('uuid'),
  inet4: () => text('inet'),
  inet6: () => text('inet'),
  geometry: spatial,
  point: spatial,
  linestring: spatial,
  polygon: spatial,
  multipoint: spatial,
  multilinestring: spatial,
  multipolygon: spatial,
  geometrycollection: spatial,
} satisfies Record<string, TypeRule>;

/**
 * The ways a value is carried from MySQL to PostgreSQL: the encodings of the codecs the rows
 * return, so a new codec's encoding is one once a row picks it. Each codec is typed by its own
 * (`Codec<'date'>`); a row typed only as returning some Codec would widen this to any string.
 */
export type Encoding = Exclude<ReturnType<(typeof TYPE_TABLE)[keyof typeof TYPE_TABLE]>, Refused>['encoding'];

/** The codec the type table gives the column in a target with these features, or why there is none. */
export function codecOf(column: SourceColumn, target: TargetFeatures): Codec | Refused {
  if (!Object.hasOwn(TYPE_TABLE, column.dataType)) return { refused: 'no PostgreSQL type is chosen for it' };
  return TYPE_TABLE[column.dataType as keyof typeof TYPE_TABLE](column, target);
}
