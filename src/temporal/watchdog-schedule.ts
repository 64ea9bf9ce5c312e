import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';
import { formatDuration } from '../config/env.js';
import { TASK_QUEUE } from '../domain/workflow-ids.js';
import type { SyncResult } from './schedules.js';

/** Outside the clients' prefix (twoway-report-schedule/), so a clients' sync never deletes it. */
export const WATCHDOG_SCHEDULE_ID = 'twoway-watchdog';
/** Shown in place of a client id in sync output. */
export const WATCHDOG_LABEL = '(watchdog)';
/** A pass missed while Temporal was down is not worth catching up: the next one sees everything. */
const CATCHUP_WINDOW = '1 minute';

function noteFor(intervalMs: number, taskQueue: string): string {
  return `Two-Way Activity Report watchdog: every ${formatDuration(intervalMs)} on ${taskQueue}; judges every period (late, missing, failed, delivered) and sends notifications`;
}

export function watchdogScheduleOptions(intervalMs: number, taskQueue = TASK_QUEUE): ScheduleOptions {
  return {
    scheduleId: WATCHDOG_SCHEDULE_ID,
    spec: { intervals: [{ every: intervalMs }] },
    action: { type: 'startWorkflow', workflowType: 'watchPeriodsWorkflow', args: [], taskQueue, workflowId: WATCHDOG_SCHEDULE_ID },
    // A pass still running when the next is due makes the next one pointless.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: CATCHUP_WINDOW, pauseOnFailure: false },
    state: { note: noteFor(intervalMs, taskQueue) },
  };
}

/** Creates the watchdog's schedule, or brings it in line with the interval; a paused one stays paused. */
export async function syncWatchdogSchedule(client: Client, intervalMs: number, taskQueue = TASK_QUEUE): Promise<SyncResult> {
  const options = watchdogScheduleOptions(intervalMs, taskQueue);
  const note = noteFor(intervalMs, taskQueue);
  const handle = client.schedule.getHandle(WATCHDOG_SCHEDULE_ID);
  try {
    const current = await handle.describe();
    if (current.state.note === note) return { clientId: WATCHDOG_LABEL, action: 'unchanged', detail: note };
    await handle.update((previous) => ({
      ...previous,
      spec: options.spec,
      action: options.action,
      policies: options.policies,
      state: { ...previous.state, note },
    }));
    return { clientId: WATCHDOG_LABEL, action: 'updated', detail: note };
  } catch (error) {
    if (!(error instanceof ScheduleNotFoundError)) throw error;
  }
  try {
    await client.schedule.create(options);
  } catch (error) {
    // Created by a concurrent sync a moment ago.
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
  return { clientId: WATCHDOG_LABEL, action: 'created', detail: note };
}
