import { z } from 'zod';
import { InputValidationError } from './errors.js';

/** A plain MySQL identifier: what can be named without quoting, so no quoting trick can reach SQL. */
export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

const identifier = z
  .string()
  .regex(IDENTIFIER, 'must be a plain identifier (letters, digits, underscore; not starting with a digit; at most 64 characters)');

/** The largest Map concurrency accepted: each running range holds one connection on each database. */
export const MAX_CONCURRENCY = 1000;

/**
 * The execution input, as typed in the console, sent by the schedule or built from CLI flags.
 * Every field is optional: `{}` runs the stack's configured table with its defaults.
 */
export const executionInputSchema = z.strictObject({
  table: identifier.optional(),
  chunkRows: z.number().int('must be a whole number').positive('must be greater than 0').optional(),
  concurrency: z
    .number()
    .int('must be a whole number')
    .positive('must be greater than 0')
    .max(MAX_CONCURRENCY, `must be at most ${MAX_CONCURRENCY}`)
    .optional(),
});

export type ExecutionInput = z.infer<typeof executionInputSchema>;

/** The stack's configured defaults, which fill what the input leaves out. */
export interface RunDefaults {
  table: string;
  chunkRows: number;
  concurrency: number;
}

export type RunSettings = Required<ExecutionInput>;

/** Validates the raw input and fills in the defaults; throws one error naming every bad field. */
export function resolveRunSettings(raw: unknown, defaults: RunDefaults): RunSettings {
  const parsed = executionInputSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    throw new InputValidationError(`Invalid execution input: ${formatIssues(parsed.error)}`);
  }
  return { ...defaults, ...stripUndefined(parsed.data) };
}

/** Reads the stack's defaults from the function's environment (set by the stack from context). */
export function defaultsFromEnvironment(env: NodeJS.ProcessEnv = process.env): RunDefaults {
  const defaults = {
    table: env.DEFAULT_TABLE ?? 'users',
    chunkRows: Number(env.DEFAULT_CHUNK_ROWS ?? 100_000),
    concurrency: Number(env.DEFAULT_CONCURRENCY ?? 4),
  };
  const parsed = executionInputSchema.required().safeParse(defaults);
  if (!parsed.success) {
    throw new InputValidationError(`Invalid stack defaults (DEFAULT_* environment): ${formatIssues(parsed.error)}`);
  }
  return parsed.data;
}

export function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      if (issue.code === 'unrecognized_keys') {
        return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}: remove ${issue.keys.length > 1 ? 'them' : 'it'} (known fields: ${Object.keys(executionInputSchema.shape).join(', ')})`;
      }
      const field = issue.path.length ? issue.path.join('.') : 'input';
      return `"${field}" ${issue.message}`;
    })
    .join('; ');
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
