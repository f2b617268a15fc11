import type { SourceColumn } from '../../functions/core/schema.js';

/** A source column as information_schema would describe it: nullable, no default, unless `more` says otherwise. */
export function sourceColumn(
  name: string,
  dataType: string,
  columnType = dataType,
  more: Partial<SourceColumn> = {},
): SourceColumn {
  return {
    name,
    dataType,
    columnType,
    nullable: true,
    numericPrecision: null,
    numericScale: null,
    datetimePrecision: null,
    characterMaximumLength: null,
    default: { kind: 'none' },
    extra: '',
    generation: null,
    ...more,
  };
}

/**
 * A source column of a MySQL column type (`decimal(12,2)`, `varchar(20)`, `datetime(3)`), with
 * the DATA_TYPE, precision, scale or length information_schema derives from it.
 */
export function columnOfType(name: string, columnType: string, more: Partial<SourceColumn> = {}): SourceColumn {
  const dataType = /^[a-z0-9]+/.exec(columnType)![0];
  const [, first, second] = /^[a-z0-9]+\((\d+)(?:,(\d+))?\)/.exec(columnType) ?? [];
  const size = first === undefined ? null : Number(first);
  let derived: Partial<SourceColumn> = {};
  if (dataType === 'decimal') derived = { numericPrecision: size ?? 10, numericScale: Number(second ?? 0) };
  if (['char', 'varchar', 'binary', 'varbinary'].includes(dataType)) derived = { characterMaximumLength: size ?? 1 };
  if (['datetime', 'timestamp', 'time'].includes(dataType)) derived = { datetimePrecision: size ?? 0 };
  return sourceColumn(name, dataType, columnType, { ...derived, ...more });
}
