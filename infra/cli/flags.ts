import { parseArgs } from 'node:util';
import { z } from 'zod';
import { TLS_MODES } from '../../functions/core/connections.js';
import { formatIssues } from '../../functions/core/input.js';

/** Wrong flags: the command prints the message and its usage, and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A command's flags: each key is a flag's name (`chunk-rows`), each value the schema of what it takes. */
export type FlagShape = Record<string, z.ZodType>;

/** The schema a field wraps, past its `.optional()` and `.default()`. */
function innerType(schema: z.ZodType): z.ZodType {
  const def = schema._zod.def as { type: string; innerType?: z.ZodType };
  return (def.type === 'optional' || def.type === 'default') && def.innerType ? innerType(def.innerType) : schema;
}

/** A boolean field is a switch (`--json`); every other flag takes a value. */
const isSwitch = (schema: z.ZodType) => innerType(schema)._zod.def.type === 'boolean';

export interface ParsedFlags<Shape extends FlagShape> {
  flags: z.infer<z.ZodObject<Shape>>;
  /** The flags as given, before their schemas turned them into values. */
  given: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/**
 * Parses a command line by a shape of zod schemas, one per flag: a boolean schema makes a switch,
 * any other takes the flag's text (use `z.coerce.number()` for numbers). Unknown flags, missing
 * values and values the schemas refuse are one {@link UsageError} that names each flag at fault.
 */
export function parseFlags<Shape extends FlagShape>(
  argv: string[],
  shape: Shape,
  { positionals: allowPositionals = false } = {},
): ParsedFlags<Shape> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      options: Object.fromEntries(
        Object.entries(shape).map(([name, schema]) => [name, { type: isSwitch(schema) ? 'boolean' : 'string' }]),
      ) as Record<string, { type: 'string' | 'boolean' }>,
      allowPositionals,
      strict: true,
    });
  } catch (error) {
    // parseArgs says what is wrong in its own words (unknown option, missing value).
    throw new UsageError((error as Error).message);
  }
  const given = parsed.values as Record<string, string | boolean | undefined>;
  const checked = z.object(shape).safeParse(given);
  if (!checked.success) throw new UsageError(formatIssues(checked.error).replace(/"([a-z0-9-]+)"/g, '--$1'));
  return { flags: checked.data, given, positionals: parsed.positionals };
}

/** The databases this machine runs for development, which the local commands use unless told otherwise. */
export const LOCAL_SOURCE_URL = 'mysql://root@127.0.0.1:3306/test';
export const LOCAL_TARGET_URL = 'postgres://root@127.0.0.1:5432/test';

/** `--source`: a MySQL/MariaDB URL. */
export const sourceUrlFlag = () => z.string({ error: 'is required' }).startsWith('mysql://', 'must be a mysql:// URL');
/** `--target`: a PostgreSQL URL. */
export const targetUrlFlag = () =>
  z.string({ error: 'is required' }).regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL');

type TlsFlags = { 'source-tls'?: string; 'target-tls'?: string; 'ca-bundle'?: string };

/**
 * `--source-tls`, `--target-tls` (verify-full, require, off) and `--ca-bundle` (a PEM file): how
 * every connection a command opens is secured. They stand for SOURCE_TLS, TARGET_TLS and
 * DATABASE_CA_BUNDLE (see {@link tlsVariables}).
 */
const tlsMode = () => z.enum(TLS_MODES, { error: `must be one of ${TLS_MODES.join(', ')}` }).optional();
export const TLS_FLAGS = {
  'source-tls': tlsMode(),
  'target-tls': tlsMode(),
  'ca-bundle': z.string().min(1).optional(),
};

/**
 * The environment variables the TLS flags given stand for. A command sets them on its own
 * environment: the functions it runs in-process read their settings there, as they do in Lambda,
 * and so do the command's own connections and the commands it starts.
 */
export function tlsVariables(flags: TlsFlags): Record<string, string> {
  return {
    ...(flags['source-tls'] ? { SOURCE_TLS: flags['source-tls'] } : {}),
    ...(flags['target-tls'] ? { TARGET_TLS: flags['target-tls'] } : {}),
    ...(flags['ca-bundle'] ? { DATABASE_CA_BUNDLE: flags['ca-bundle'] } : {}),
  };
}
