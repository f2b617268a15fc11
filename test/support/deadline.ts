import { setTimeout } from 'node:timers/promises';

/**
 * Waits for `promise`, but no longer than `ms`: a moment a test waits for that never comes (an
 * event missed, a run that ended first) fails the test with `what`, instead of hanging it.
 */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  const timer = new AbortController();
  try {
    return await Promise.race([
      promise,
      setTimeout(ms, undefined, { signal: timer.signal }).then(() => {
        throw new Error(`Gave up after ${ms} ms waiting for ${what}`);
      }),
    ]);
  } finally {
    timer.abort();
  }
}
