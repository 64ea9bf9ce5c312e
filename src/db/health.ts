/**
 * What a worker does while its database is away: it keeps running (Temporal retries every
 * step that needs the database, with backoff), and this probe says so — one log line when
 * the database stops answering, one when it is back, and a 0/1 value for a metric.
 */
import type { Knex } from 'knex';
import type { Logger } from '../observability/logger.js';

export const DATABASE_PROBE_INTERVAL_MS = 10_000;
/** A probe that takes longer than this counts as the database not answering. */
export const DATABASE_PROBE_TIMEOUT_MS = 5_000;

export interface DatabaseWatch {
  /** True until a probe fails; false until one succeeds again. */
  isUp(): boolean;
  stop(): void;
}

export interface DatabaseWatchOptions {
  readonly logger: Logger;
  readonly onChange?: (up: boolean) => void;
  readonly intervalMs?: number;
  readonly timeoutMs?: number;
}

async function probe(knex: Knex, timeoutMs: number): Promise<string | null> {
  try {
    await knex.raw('SELECT 1').timeout(timeoutMs, { cancel: false });
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

export function watchDatabase(knex: Knex, options: DatabaseWatchOptions): DatabaseWatch {
  let up = true;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    const problem = await probe(knex, options.timeoutMs ?? DATABASE_PROBE_TIMEOUT_MS);
    if (stopped) return;
    if (problem !== null && up) {
      up = false;
      options.logger.error({ reason: problem }, 'database unreachable; the worker keeps running and retries every step that needs it');
      options.onChange?.(false);
    } else if (problem === null && !up) {
      up = true;
      options.logger.info('database reachable again');
      options.onChange?.(true);
    }
    timer = setTimeout(() => void tick(), options.intervalMs ?? DATABASE_PROBE_INTERVAL_MS);
    // The probe never keeps a stopping process alive.
    timer.unref();
  };
  options.onChange?.(true);
  timer = setTimeout(() => void tick(), options.intervalMs ?? DATABASE_PROBE_INTERVAL_MS);
  timer.unref();
  return {
    isUp: () => up,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
