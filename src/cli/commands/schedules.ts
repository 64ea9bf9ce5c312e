import { parseDriftInterval, parseWatchSettings } from '../../config/env.js';
import { ScheduleSyncFailedError, UsageError } from '../../domain/errors.js';
import { connectTemporal } from '../../temporal/client.js';
import { listSchedules, syncSchedules } from '../../temporal/schedules.js';
import { DRIFT_LABEL, syncDriftSchedule } from '../../temporal/drift-schedule.js';
import { WATCHDOG_LABEL, syncWatchdogSchedule } from '../../temporal/watchdog-schedule.js';
import { parseOptions } from '../args.js';
import { print, withDatabase, type CliContext } from '../context.js';

const NEXT_RUNS_SHOWN = 3;

/** `schedules sync` and `schedules list`. */
export async function schedulesCommand(args: readonly string[], context: CliContext): Promise<void> {
  const [action, ...rest] = args;
  parseOptions(`schedules ${action ?? ''}`.trim(), rest, {});
  if (action !== 'sync' && action !== 'list') throw new UsageError(`schedules ${action ?? ''}: allowed: schedules sync, schedules list`);
  const temporal = await connectTemporal(context.env);
  try {
    if (action === 'sync') {
      const watch = parseWatchSettings(context.env);
      const results = await withDatabase(context, ({ knex }) => syncSchedules(knex, temporal.client, watch.scheduleTime));
      const failedOwn = (label: string, what: string) => (error: unknown) => ({
        clientId: label,
        action: 'failed' as const,
        detail: `creating or updating ${what} failed: ${error instanceof Error ? error.message : String(error)}`,
      });
      results.push(await syncWatchdogSchedule(temporal.client, watch.intervalMs).catch(failedOwn(WATCHDOG_LABEL, "the watchdog's schedule")));
      results.push(await syncDriftSchedule(temporal.client, parseDriftInterval(context.env)).catch(failedOwn(DRIFT_LABEL, "the drift check's schedule")));
      for (const result of results) print(context, `${result.action.padEnd(9)} ${result.clientId}: ${result.detail}`);
      const failed = results.filter((result) => result.action === 'failed').map((result) => result.clientId);
      if (failed.length > 0) throw new ScheduleSyncFailedError(failed);
      return;
    }
    const schedules = await listSchedules(temporal.client);
    if (schedules.length === 0) print(context, 'no schedules; run `twoway-report schedules sync`');
    for (const schedule of schedules) {
      const next = schedule.nextRuns
        .slice(0, NEXT_RUNS_SHOWN)
        .map((date) => date.toISOString())
        .join(', ');
      print(context, `${schedule.scheduleId}  ${schedule.frequency} ${schedule.timeZone}${schedule.paused ? ' (paused)' : ''}  next: ${next || 'none'}`);
    }
  } finally {
    await temporal.close();
  }
}
