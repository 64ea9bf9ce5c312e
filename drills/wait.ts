/** The drills' one way to wait: poll a condition until it holds or a bounded time has passed. */
import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  readonly timeoutMs: number;
  readonly intervalMs?: number;
  /** What is awaited, for the error when it does not come ("the worker to start building"). */
  readonly what: string;
  /** Stops the wait early (the drill's overall timeout). */
  readonly signal?: AbortSignal;
}

export class WaitTimeoutError extends Error {
  constructor(what: string, timeoutMs: number, last: unknown) {
    super(`timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? ` (last error: ${last.message})` : ''}`);
  }
}

const DEFAULT_INTERVAL_MS = 50;

/**
 * Resolves with the condition's first truthy value. A condition that throws counts as not yet
 * (a server still starting); the last error is named when time runs out.
 */
export async function waitUntil<T>(condition: () => T | Promise<T>, options: WaitOptions): Promise<NonNullable<T>> {
  const deadline = Date.now() + options.timeoutMs;
  let last: unknown = null;
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      const value = await condition();
      if (value) return value as NonNullable<T>;
      last = null;
    } catch (error) {
      last = error;
    }
    if (Date.now() >= deadline) throw new WaitTimeoutError(options.what, options.timeoutMs, last);
    await sleep(options.intervalMs ?? DEFAULT_INTERVAL_MS, undefined, options.signal ? { signal: options.signal } : undefined);
  }
}
