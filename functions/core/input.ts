import { z } from 'zod';
import { InputValidationError } from './errors.js';
import { NAME, NAME_RULE } from './identifiers.js';
import { DEFAULT_POLICIES, POLICY_NAMES, type Policies, policiesInputSchema } from './policies.js';
import { VERIFY_MODES, type VerifyMode } from './range-checksum.js';
import { BOUNDARY, BOUNDARY_RULE } from './ranges.js';

const name = z.string().regex(NAME, NAME_RULE);

/**
 * Table names to leave out, as comma-separated patterns where `*` stands for any characters and
 * `?` for one (`audit_*,tmp?`); a name is compared whole and case-sensitively, as MySQL on Linux does.
 */
const tablePatterns = z
  .string()
  .trim()
  .min(1, 'must name at least one table or pattern (leave the field out to exclude none)');

/** Whether `table` matches one of the comma-separated `patterns` (see {@link tablePatterns}). */
export function excludedBy(patterns: string | undefined, table: string): boolean {
  if (!patterns) return false;
  return patterns
    .split(',')
    .map((pattern) => pattern.trim())
    .filter(Boolean)
    .some((pattern) => new RegExp(`^${[...pattern].map(patternPart).join('')}$`, 'u').test(table));
}

function patternPart(char: string): string {
  switch (char) {
    case '*':
      return '[\\s\\S]*';
    case '?':
      return '[\\s\\S]';
    default:
      return char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
}

/** A range boundary: an integer key's, or a tuple key's (see KeyRange). */
const BOUNDARY_KEY = z.string().regex(BOUNDARY, BOUNDARY_RULE);

// Integer boundaries are checked for order here; a tuple's order is its key columns' (Plan and the ledger give them in order).
const isInteger = (key: string) => !key.startsWith('[');
const below = (a: string, b: string) => !isInteger(a) || !isInteger(b) || BigInt(a) < BigInt(b);

/**
 * Ranges to copy instead of splitting the table (a redrive or a retry gives them): `[lo, hi)`
 * with null for an open end, in ascending order and disjoint, so no two copies overlap.
 */
const givenRanges = z
  .array(z.strictObject({ table: name.optional(), lo: BOUNDARY_KEY.nullable(), hi: BOUNDARY_KEY.nullable() }))
  .min(1, 'must list at least one range (leave the field out to copy the whole table)')
  .superRefine((ranges, context) => {
    ranges.forEach((range, i) => {
      if (i > 0 && (range.table === undefined) !== (ranges[0]!.table === undefined)) {
        context.addIssue({
          code: 'custom',
          path: [i, 'table'],
          message: 'is given for some ranges only: give it for all or none',
        });
      }
      if (range.lo !== null && range.hi !== null && !below(range.lo, range.hi)) {
        context.addIssue({
          code: 'custom',
          path: [i],
          message: `is empty: lo ${range.lo} must be below hi ${range.hi}`,
        });
      }
      // Each table's ranges are in order; one table's follow another's.
      const previous = ranges[i - 1]?.table === range.table ? ranges[i - 1] : undefined;
      if (previous && (previous.hi === null || range.lo === null || below(range.lo, previous.hi))) {
        context.addIssue({
          code: 'custom',
          path: [i],
          message: 'overlaps or precedes the range before it: list ranges in ascending key order, without overlaps',
        });
      }
    });
  });

/**
 * A range's byte budget when none is set: a CopyRange or VerifyRange of 1,769 MB (one vCPU) holds
 * a bounded part of a range at a time, and this keeps a range's transaction and time modest too.
 */
export const DEFAULT_CHUNK_BYTES = 256 * 1024 * 1024;

/** Below a mebibyte a range of small rows would be a handful of rows: too many ranges to be worth it. */
const MIN_CHUNK_BYTES = 1024 * 1024;

/** The largest Map concurrency accepted: each running range holds one connection on each database. */
export const MAX_CONCURRENCY = 1000;

/**
 * How far before the last watermark an incremental run starts looking. It covers updates that
 * share the watermark's second, clock skew between writers, and write transactions that commit
 * after the moment their change column was set.
 */
export const DEFAULT_OVERLAP_SECONDS = 60;

/** `binlog` and `cutover` apply the source's binary log (docs/BINLOG.md); `cutover` also checks writes stopped and verifies every range. */
export const RUN_MODES = ['full', 'incremental', 'binlog', 'cutover'] as const;
export type RunMode = (typeof RUN_MODES)[number];

/**
 * The execution input, as typed in the console, sent by the schedule or built from CLI flags.
 * Every field is optional: `{}` runs the stack's configured tables (every table when none is configured) with its defaults.
 */
export const executionInputSchema = z.strictObject({
  /** One table; kept beside `tables` for runs of a single table (and the runs before there were several). */
  table: name.optional(),
  /** The tables of the run; left out (with `table`), the stack's configured tables, or every base table of the source. */
  tables: z
    .array(name)
    .min(1, 'must list at least one table (leave the field out for every table)')
    .refine((tables) => new Set(tables).size === tables.length, 'lists a table twice: name each once')
    .optional(),
  /** Tables left out of the run, by name or pattern (see {@link excludedBy}). */
  excludeTables: tablePatterns.optional(),
  chunkRows: z.number().int('must be a whole number').positive('must be greater than 0').optional(),
  /**
   * The most bytes of source rows a range holds, by the table's average row length (see
   * functions/core/row-bytes.ts): a table of wide rows gets ranges of fewer than `chunkRows` rows.
   */
  chunkBytes: z
    .number()
    .int('must be a whole number of bytes')
    .min(MIN_CHUNK_BYTES, `must be at least ${MIN_CHUNK_BYTES} (1 MiB)`)
    .optional(),
  concurrency: z
    .number()
    .int('must be a whole number')
    .positive('must be greater than 0')
    .max(MAX_CONCURRENCY, `must be at most ${MAX_CONCURRENCY}`)
    .optional(),
  /**
   * `full` replaces every range; `incremental` upserts the rows changed since the last successful run;
   * `binlog` applies the changes the binary log holds since the table's checkpoint; `cutover` applies
   * the last of them once writes stopped, then verifies every range.
   */
  mode: z.enum(RUN_MODES, { error: `must be ${RUN_MODES.map((m) => `"${m}"`).join(', ')}` }).optional(),
  /** The column that tells which rows changed; found automatically when left out. */
  changeColumn: name.optional(),
  overlapSeconds: z.number().int('must be a whole number').nonnegative('must be 0 or more').optional(),
  /** What to do with values PostgreSQL has no equal for; each policy left out takes its default. */
  policies: z.optional(policiesInputSchema),
  /** Exactly these ranges, not the whole table split by chunkRows: what a redrive or a retry copies again. */
  ranges: givenRanges.optional(),
  /**
   * Compare each range on both sides after copying it (VerifyRange): `checksum` (or true) by sums
   * each database computes, reading rows only where they differ; `rows` by reading every row of
   * both; false skips it for speed.
   */
  verify: z
    .union([z.boolean(), z.enum(VERIFY_MODES)], { error: 'must be true, false, "checksum" or "rows"' })
    .optional(),
  /** At cut-over, how long the source must take no write to the table (seconds; default 10). */
  quietSeconds: z
    .number()
    .int('must be a whole number')
    .nonnegative('must be 0 or more')
    .max(600, 'must be at most 600')
    .optional(),
});

export type ExecutionInput = z.infer<typeof executionInputSchema>;

/** The input fields the stack's configuration gives defaults for; a run verifies unless its input says `verify: false`. */
export const runDefaultsSchema = executionInputSchema
  .pick({ chunkRows: true, concurrency: true })
  .required()
  .extend(executionInputSchema.pick({ tables: true, excludeTables: true, chunkBytes: true }).shape);

/** The stack's configured defaults, which fill what the input leaves out. */
export interface RunDefaults {
  /** The tables a run without `table`/`tables` migrates; every base table of the source when absent. */
  tables?: string[];
  excludeTables?: string;
  chunkRows: number;
  /** {@link DEFAULT_CHUNK_BYTES} when absent. */
  chunkBytes?: number;
  concurrency: number;
  /** The stack's cap on `concurrency`: the copy function's reserved concurrency. No cap when absent. */
  maxConcurrency?: number;
}

type Optional =
  | 'table'
  | 'tables'
  | 'excludeTables'
  | 'changeColumn'
  | 'policies'
  | 'ranges'
  | 'quietSeconds'
  | 'verify';

export type RunSettings = Required<Omit<ExecutionInput, Optional>> &
  Pick<ExecutionInput, Exclude<Optional, 'policies' | 'verify'>> & { policies: Policies; verify: false | VerifyMode };

/** The tables a run names (null: every base table of the source), before `excludeTables` leaves some out. */
export function namedTables(settings: Pick<RunSettings, 'table' | 'tables'>): string[] | null {
  if (settings.table !== undefined) return [settings.table];
  return settings.tables ?? null;
}

/** Validates the raw input and fills in the defaults; throws one error naming every bad field. */
export function resolveRunSettings(raw: unknown, defaults: RunDefaults): RunSettings {
  const parsed = executionInputSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    throw new InputValidationError(`Invalid execution input: ${formatIssues(parsed.error)}`);
  }
  const { maxConcurrency, tables: configured, ...fill } = defaults;
  const { policies, verify, ...given } = stripUndefined(parsed.data);
  if (given.table !== undefined && given.tables !== undefined) {
    throw new InputValidationError('Invalid execution input: give "table" or "tables", not both');
  }
  // The input's own table or tables replace the configured ones.
  const tables = given.table === undefined && given.tables === undefined && configured?.length ? configured : undefined;
  const settings = {
    mode: 'full' as const,
    chunkBytes: DEFAULT_CHUNK_BYTES,
    overlapSeconds: DEFAULT_OVERLAP_SECONDS,
    ...fill,
    ...(tables ? { tables } : {}),
    ...given,
    // Checksums are the default way: `true` and leaving it out both mean it.
    verify: verify === undefined || verify === true ? ('checksum' as const) : verify,
    policies: { ...DEFAULT_POLICIES, ...stripUndefined(policies ?? {}) },
  };
  const named = namedTables(settings);
  const rangeTables = settings.ranges?.[0]?.table === undefined ? null : new Set(settings.ranges.map((r) => r.table!));
  if (settings.ranges && !rangeTables && named?.length !== 1) {
    throw new InputValidationError(
      'Invalid execution input: "ranges" without "table" are ranges of one table: name it in "table" (or a "tables" of one)',
    );
  }
  const unnamed = rangeTables && [...rangeTables].filter((table) => !named?.includes(table));
  if (unnamed?.length) {
    throw new InputValidationError(
      `Invalid execution input: "ranges" name ${unnamed.join(', ')}, which "table"/"tables" do not: name every table the ranges are of`,
    );
  }
  if (settings.ranges && settings.mode !== 'full') {
    throw new InputValidationError(
      'Invalid execution input: "ranges" are copied whole: leave "mode" out or make it "full"',
    );
  }
  // More copies at once than the function may run would only be throttled and retried.
  if (maxConcurrency !== undefined && settings.concurrency > maxConcurrency) {
    throw new InputValidationError(
      `Invalid execution input: "concurrency" ${settings.concurrency} is above the stack's maxConcurrency ${maxConcurrency}: ` +
        `use at most ${maxConcurrency}, or redeploy with -c maxConcurrency=${settings.concurrency}`,
    );
  }
  return settings;
}

/** Reads the stack's defaults from the function's environment (set by the stack from context). */
export function defaultsFromEnvironment(env: NodeJS.ProcessEnv = process.env): RunDefaults {
  const defaults = {
    // A JSON array: a MySQL name may hold a comma.
    tables: env.DEFAULT_TABLES ? jsonOrText(env.DEFAULT_TABLES) : undefined,
    excludeTables: env.DEFAULT_EXCLUDE_TABLES || undefined,
    chunkRows: Number(env.DEFAULT_CHUNK_ROWS ?? 100_000),
    chunkBytes: env.DEFAULT_CHUNK_BYTES ? Number(env.DEFAULT_CHUNK_BYTES) : undefined,
    concurrency: Number(env.DEFAULT_CONCURRENCY ?? 4),
  };
  const parsed = runDefaultsSchema.safeParse(stripUndefined(defaults));
  if (!parsed.success) {
    throw new InputValidationError(`Invalid stack defaults (DEFAULT_* environment): ${formatIssues(parsed.error)}`);
  }
  if (!env.MAX_CONCURRENCY) return parsed.data;
  const cap = executionInputSchema.shape.concurrency.safeParse(Number(env.MAX_CONCURRENCY));
  if (!cap.success)
    throw new InputValidationError(
      `Invalid stack defaults: MAX_CONCURRENCY ${formatIssues(cap.error).replace('"input" ', '')}`,
    );
  return { ...parsed.data, maxConcurrency: cap.data };
}

// The fields known at each level of the input, to name them when an unknown one is given.
const KNOWN_FIELDS: Record<string, string[]> = { '': Object.keys(executionInputSchema.shape), policies: POLICY_NAMES };

export function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      if (issue.code === 'unrecognized_keys') {
        const at = issue.path.join('.');
        const keys = issue.keys.map((k) => `"${at ? `${at}.` : ''}${k}"`).join(', ');
        const known = KNOWN_FIELDS[at] ?? [];
        return `unknown field${issue.keys.length > 1 ? 's' : ''} ${keys}: remove ${issue.keys.length > 1 ? 'them' : 'it'} (known fields: ${known.join(', ')})`;
      }
      const field = issue.path.length ? issue.path.join('.') : 'input';
      return `"${field}" ${issue.message}`;
    })
    .join('; ');
}

function jsonOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
