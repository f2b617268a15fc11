import type { Side } from './connection-pair.js';

/**
 * The databases each handler opens, by its folder under functions/: the handler hands its entry to
 * connectionPair, and the stack gives each function the secrets and settings of these and no other.
 */
export const DATABASES = {
  plan: ['source', 'target'],
  'copy-range': ['source', 'target'],
  'verify-range': ['source', 'target'],
  'describe-failure': [],
  'read-items': ['target'],
  summarize: ['target'],
  'run-stopped': ['target'],
  redrive: [],
  'apply-changes': ['source', 'target'],
  finish: ['source', 'target'],
} as const satisfies Record<string, readonly Side[]>;
