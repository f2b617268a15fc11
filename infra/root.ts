import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: where relative paths of the context, the commands and the handler entries start. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
