/**
 * Every worker serves the watchdog's per-client gauges, read from `period_states`, so the
 * alert rules see the same numbers whichever worker Prometheus scrapes and whichever worker
 * ran the last watchdog pass.
 */
import type { Knex } from 'knex';
import { countRecordedStates } from '../db/period-watch.js';
import type { Logger } from '../observability/logger.js';
import type { ReportMetrics } from '../observability/metrics.js';

/** How often the gauges are read again: well inside the watchdog's interval and the alerts' 10 minutes. */
export const PERIOD_GAUGE_INTERVAL_MS = 60_000;

export interface PeriodGauges {
  /** Reads the states now (tests and the first read). */
  refresh(): Promise<void>;
  stop(): void;
}

export function servePeriodGauges(knex: Knex, metrics: ReportMetrics, options: { readonly logger: Logger; readonly intervalMs?: number }): PeriodGauges {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const refresh = async () => {
    for (const counts of await countRecordedStates(knex)) metrics.recordPeriodStates(counts.clientId, counts, counts.lastDeliveredPeriodEnd);
  };
  const tick = async () => {
    try {
      await refresh();
    } catch (error) {
      // The database probe reports an unreachable database; the gauges keep their last values meanwhile.
      options.logger.debug({ error: error instanceof Error ? error.message : String(error) }, 'period gauges not refreshed');
    }
    if (stopped) return;
    timer = setTimeout(() => void tick(), options.intervalMs ?? PERIOD_GAUGE_INTERVAL_MS);
    timer.unref();
  };
  void tick();
  return {
    refresh,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
