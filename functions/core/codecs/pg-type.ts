/** A PostgreSQL type as format_type() prints it, taken apart to compare it with another. */
export interface PgType {
  /** As printed: `timestamp(3) without time zone`. */
  text: string;
  /** Without its modifiers: `timestamp without time zone`. */
  name: string;
  /** Its modifiers: `[3]`; `[12, 2]` for `numeric(12,2)`. */
  mods: number[];
}

export function parsePgType(type: string): PgType {
  const match = /^(.+?)(?:\((\d+(?:,\d+)*)\))?( with(?:out)? time zone)?$/.exec(type)!;
  return { text: type, name: match[1]! + (match[3] ?? ''), mods: match[2]?.split(',').map(Number) ?? [] };
}

/** The smallest and largest of a range of integers. */
export type IntegerRange = [min: bigint, max: bigint];

export const signedRange = (bits: number): IntegerRange => [-(2n ** BigInt(bits - 1)), 2n ** BigInt(bits - 1) - 1n];
export const unsignedRange = (bits: number): IntegerRange => [0n, 2n ** BigInt(bits) - 1n];

const PG_INTEGERS: [string, IntegerRange][] = [
  ['smallint', signedRange(16)],
  ['integer', signedRange(32)],
  ['bigint', signedRange(64)],
];

const digits = ([min, max]: IntegerRange) => String(max > -min ? max : -min).length;
const within = (range: IntegerRange, limits: IntegerRange) => range[0] >= limits[0] && range[1] <= limits[1];

/** The smallest PostgreSQL type that holds every integer of the range: an integer type, else `numeric(d,0)`. */
export function integerType(range: IntegerRange): string {
  return PG_INTEGERS.find(([, limits]) => within(range, limits))?.[0] ?? `numeric(${digits(range)},0)`;
}

/** Whether a numeric target holds every number of `integerDigits` integer digits and `scale` fraction digits. */
export const numericHolds = (target: PgType, integerDigits: number, scale: number) =>
  target.name === 'numeric' &&
  (target.mods.length === 0 || (target.mods[1]! >= scale && target.mods[0]! - target.mods[1]! >= integerDigits));

/** Whether an integer or numeric target holds every integer of the range. */
export function holdsIntegers(target: PgType, range: IntegerRange): boolean {
  const limits = PG_INTEGERS.find(([name]) => name === target.name)?.[1];
  return limits ? within(range, limits) : numericHolds(target, digits(range), 0);
}

/** Whether the target is the mapped type with at least its precision (fractional digits of seconds). */
export const atLeastAsPrecise = (target: PgType, mapped: PgType) =>
  target.name === mapped.name && (target.mods.length === 0 || target.mods[0]! >= mapped.mods[0]!);
