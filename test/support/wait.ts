import { setTimeout as sleep } from 'node:timers/promises';

const DEFAULT_INTERVAL_MS = 100;

export interface WaitOptions {
  /** Give up after this long, counted from the call. */
  readonly timeoutMs: number;
  /** Pause between checks. */
  readonly intervalMs?: number;
  /** What is awaited, for the error; a function when it should describe the state at the time of failing (a log, say). */
  readonly what: string | (() => string);
}

type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

/**
 * The one way tests poll: checks `condition` until it returns a truthy value and returns that value;
 * after `timeoutMs` fails with an Error naming `what` and the timeout. An error thrown by `condition`
 * ends the wait at once (a process that exited, say), so waits fail fast instead of timing out.
 */
export async function waitUntil<T>(condition: () => T | Promise<T>, options: WaitOptions): Promise<Truthy<T>> {
  const intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value as Truthy<T>;
    const remainingMs = deadline - Date.now();
    if (remainingMs <= 0) {
      const what = typeof options.what === 'function' ? options.what() : options.what;
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${what}`);
    }
    await sleep(Math.min(intervalMs, remainingMs));
  }
}
