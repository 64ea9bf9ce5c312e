/**
 * Permits for large files on one worker process. Most periods make small files (a daily file
 * of a few thousand rows), which are built and uploaded in the host queue's activity slots
 * alone; a build or an upload of a file of LARGE_FILE_MIN_BYTES or more also holds one of a
 * few permits, because memory, disk and bandwidth bound how many big files go at once, and a
 * limit sized for them would otherwise queue a run of thousands of small clients behind it.
 */

/** From this size on a file counts as large (a build takes a permit when it gets there). */
export const LARGE_FILE_MIN_BYTES = 8 * 1024 * 1024;
/** How often a waiting step is told it still waits (it heartbeats, so Temporal does not time it out). */
const WAITING_REPORT_EVERY_MS = 1_000;

export interface FilePermitWait {
  /** Stops waiting; the acquisition rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Called every WAITING_REPORT_EVERY_MS while waiting. */
  readonly onWait?: () => void;
}

export interface FilePermits {
  /** Waits for a permit (first come, first served) and returns its release, which may be called more than once. */
  acquire(wait?: FilePermitWait): Promise<() => void>;
  readonly available: number;
  readonly waiting: number;
}

export function createFilePermits(count: number): FilePermits {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`file permits: count ${count} given; allowed: a whole number of at least 1`);
  let available = count;
  const queue: Array<() => void> = [];

  const releaser = () => {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = queue.shift();
      if (next) next();
      else available += 1;
    };
  };

  return {
    get available() {
      return available;
    },
    get waiting() {
      return queue.length;
    },
    async acquire({ signal, onWait }: FilePermitWait = {}) {
      signal?.throwIfAborted();
      if (available > 0) {
        available -= 1;
        return releaser();
      }
      return new Promise((resolve, reject) => {
        const reports = onWait ? setInterval(onWait, WAITING_REPORT_EVERY_MS) : undefined;
        const stop = () => {
          clearInterval(reports);
          signal?.removeEventListener('abort', onAbort);
        };
        const grant = () => {
          stop();
          resolve(releaser());
        };
        function onAbort() {
          stop();
          const at = queue.indexOf(grant);
          if (at >= 0) queue.splice(at, 1);
          reject(signal?.reason);
        }
        signal?.addEventListener('abort', onAbort, { once: true });
        queue.push(grant);
      });
    },
  };
}
