// zod's mini build: CopyRange checks its event's policies with these and bundles what it imports.
import * as z from 'zod/mini';

const choice = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `must be one of ${values.join(', ')}` });

/**
 * What to do with the MySQL values PostgreSQL has no equal for. Each policy is named, has a
 * default, and every value it handles is counted per range in the ledger, so no value changes
 * without a trace. `fail` fails the range with the table, column, key and reason. A range is
 * always handed all of them, so this schema requires each.
 */
export const policiesSchema = z.strictObject({
  /** `0000-00-00`, `2020-00-15`, YEAR 0000: PostgreSQL has no such date. */
  zeroDates: choice(['null', 'fail']),
  /** A NUL byte in text (or `\u0000` in JSON): PostgreSQL text and jsonb cannot hold it. */
  nulBytes: choice(['fail', 'strip']),
  /** A `tinyint(1)` (boolean) holding neither 0 nor 1; `nonzero-true` reads it as MySQL's IF() does. */
  tinyint1: choice(['fail', 'nonzero-true']),
  /** The empty ENUM value MySQL stores for an invalid label in non-strict mode. */
  emptyEnum: choice(['keep', 'null', 'fail']),
  /** A spatial value when the target database has no PostGIS: `bytea` keeps its EWKB bytes. */
  spatial: choice(['bytea', 'fail']),
});

export type Policies = z.infer<typeof policiesSchema>;
export type PolicyName = keyof Policies;

export const POLICY_NAMES = Object.keys(policiesSchema.shape) as PolicyName[];

/** What the execution input may say: any of the policies, the others keep their defaults. */
export const policiesInputSchema = z.partial(policiesSchema);

export const DEFAULT_POLICIES: Policies = {
  zeroDates: 'null',
  nulBytes: 'fail',
  tinyint1: 'fail',
  emptyEnum: 'keep',
  spatial: 'bytea',
};

/** The strictest policies: every value that is not exactly representable is refused. */
export const STRICT_POLICIES: Policies = {
  zeroDates: 'fail',
  nulBytes: 'fail',
  tinyint1: 'fail',
  emptyEnum: 'fail',
  spatial: 'fail',
};

/**
 * What a choice does to a value its policy covers: `refuse` it (the range fails), store NULL, or
 * let it `arrive` as the codec makes it under that policy (stripped of NULs, read as true) or, for
 * `keep`, as it is.
 */
export type PolicyEffect = 'refuse' | 'null' | 'arrive';

/**
 * Every choice of every policy and its effect, written once: the COPY encoder applies it and
 * verification expects it, both through this table.
 */
const POLICY_EFFECTS: { [P in PolicyName]: Record<Policies[P], PolicyEffect> } = {
  zeroDates: { null: 'null', fail: 'refuse' },
  nulBytes: { fail: 'refuse', strip: 'arrive' },
  tinyint1: { fail: 'refuse', 'nonzero-true': 'arrive' },
  emptyEnum: { keep: 'arrive', null: 'null', fail: 'refuse' },
  spatial: { bytea: 'arrive', fail: 'refuse' },
};

/** The effect of the run's choice for one policy. */
export function policyEffect(policies: Policies, policy: PolicyName): PolicyEffect {
  return (POLICY_EFFECTS[policy] as Record<string, PolicyEffect>)[policies[policy]]!;
}

/** How many values each policy handled. */
export type PolicyCounts = Record<PolicyName, number>;

export function zeroPolicyCounts(): PolicyCounts {
  return Object.fromEntries(POLICY_NAMES.map((name) => [name, 0])) as PolicyCounts;
}
