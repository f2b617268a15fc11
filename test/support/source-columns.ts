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
