/** Bounded waits for SFTP work: an inactivity timeout that the work can restart, the abort signal and a lost connection, whichever comes first. */
import { OperationTimeoutError, type ConnectionLostError } from './sftp-errors.js';

/** Restarts the inactivity timer of the running operation; transfers call it on every acknowledged chunk. */
export type Kick = () => void;

export interface LostSignal {
  current(): ConnectionLostError | null;
  subscribe(listener: (error: ConnectionLostError) => void): () => void;
}

export interface BoundedOptions {
  readonly operation: string;
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
  /** Called once when the wait is given up (timeout, abort, lost connection). */
  readonly onGiveUp: () => void;
  readonly lost?: LostSignal;
}

/** Races `work` against an inactivity timeout, the abort signal and the connection closing. */
export function bounded<T>(work: (kick: Kick) => Promise<T>, options: BoundedOptions): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const cleanups: (() => void)[] = [];
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      for (const cleanup of cleanups) cleanup();
      outcome();
    };
    const giveUp = (error: unknown) =>
      finish(() => {
        options.onGiveUp();
        reject(error);
      });
    const kick = () => {
      if (settled) return;
      clearTimeout(timer);
      timer = setTimeout(() => giveUp(new OperationTimeoutError(options.operation, options.timeoutMs)), options.timeoutMs);
    };
    const { signal, lost } = options;
    if (signal?.aborted) return giveUp(abortReason(signal));
    const lostAlready = lost?.current();
    if (lostAlready) return giveUp(lostAlready);
    if (signal) {
      const onAbort = () => giveUp(abortReason(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      cleanups.push(() => signal.removeEventListener('abort', onAbort));
    }
    if (lost) cleanups.push(lost.subscribe((error) => giveUp(error)));
    kick();
    let running: Promise<T>;
    try {
      running = work(kick);
    } catch (error) {
      running = Promise.reject(error);
    }
    running.then(
      (value) => finish(() => resolve(value)),
      (error: unknown) => finish(() => reject(error)),
    );
  });
}

/** What an aborted wait rejects with: the signal's own reason, or an AbortError. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The delivery was aborted', 'AbortError');
}
