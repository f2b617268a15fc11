import { z } from 'zod';
import { type ExecutionInput, executionInputSchema, formatIssues } from '../../functions/core/input.js';
import { POLICY_NAMES } from '../../functions/core/policies.js';
import { type FlagShape, UsageError } from './flags.js';

/** The execution input fields that have a CLI flag, and whether the flag's text is a number or a comma-separated list. */
const FIELDS = {
  table: 'text',
  tables: 'list',
  excludeTables: 'text',
  chunkRows: 'number',
  chunkBytes: 'number',
  concurrency: 'number',
  mode: 'text',
  changeColumn: 'text',
  overlapSeconds: 'number',
  quietSeconds: 'number',
  verify: 'text',
} as const satisfies Partial<Record<keyof ExecutionInput, 'text' | 'number' | 'list'>>;

/** Fields that are on unless a flag turns them off: `--no-verify` gives `verify: false`. */
const OFF_SWITCHES = { verify: 'no-verify' } as const satisfies Partial<Record<keyof ExecutionInput, string>>;

/** `chunkRows` → `chunk-rows`, `policies.zeroDates` → `zero-dates`: a flag is its field's name, kebab-cased. */
const flagOf = (field: string) => field.replace(/^policies\./, '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/**
 * The execution input's flags, for {@link parseFlags}: each takes text that the execution input's
 * own schema checks (in {@link executionInputFromFlags}), and the off switches.
 */
export const INPUT_FLAGS: FlagShape = {
  ...Object.fromEntries(
    [...Object.keys(FIELDS), ...POLICY_NAMES].map((field) => [flagOf(field), z.string().optional()]),
  ),
  ...Object.fromEntries(Object.values(OFF_SWITCHES).map((flag) => [flag, z.boolean().optional()])),
};

const FIELD_NAMES = new RegExp(
  `"(${[...Object.keys(executionInputSchema.shape), ...POLICY_NAMES.map((name) => `policies\\.${name}`)].join('|')})"`,
  'g',
);

/**
 * Builds the execution input from the flags (over `base`, e.g. a JSON `--input`) and validates it
 * with the same schema the state machine's Plan applies, so a bad value is refused before any call.
 * The error names the flag at fault, or the field when it came from `base`.
 */
export function executionInputFromFlags(
  values: Record<string, unknown>,
  base: Record<string, unknown> = {},
): ExecutionInput {
  const raw: Record<string, unknown> = { ...base };
  const fromFlags = new Set<string>();
  for (const [field, kind] of Object.entries(FIELDS)) {
    const value = values[flagOf(field)];
    if (typeof value !== 'string') continue;
    if (kind === 'number' && !/^\s*-?\d+(\.\d+)?\s*$/.test(value))
      throw new UsageError(`--${flagOf(field)} must be a whole number, not ${value}`);
    raw[field] = flagValue(kind, value);
    fromFlags.add(field);
  }
  // Each policy has its own flag; those given join (or override) the base's policies.
  for (const name of POLICY_NAMES) {
    const value = values[flagOf(name)];
    if (typeof value !== 'string') continue;
    raw.policies = { ...(raw.policies as object | undefined), [name]: value };
    fromFlags.add(`policies.${name}`);
  }
  for (const [field, flag] of Object.entries(OFF_SWITCHES)) {
    if (values[flag] === true) raw[field] = false;
  }
  const parsed = executionInputSchema.safeParse(raw);
  if (!parsed.success) {
    throw new UsageError(
      formatIssues(parsed.error).replace(FIELD_NAMES, (quoted, field: string) =>
        fromFlags.has(field) ? `--${flagOf(field)}` : quoted,
      ),
    );
  }
  return parsed.data;
}

function flagValue(kind: (typeof FIELDS)[keyof typeof FIELDS], text: string): unknown {
  switch (kind) {
    case 'number':
      return Number(text);
    case 'list':
      return text
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean);
    default:
      return text;
  }
}
