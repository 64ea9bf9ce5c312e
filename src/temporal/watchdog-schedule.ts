import { ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';
import { formatDuration } from '../config/env.js';
import { TASK_QUEUE } from '../domain/workflow-ids.js';
import { syncOwnSchedule } from './own-schedules.js';
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
  return syncOwnSchedule(client, WATCHDOG_LABEL, { ...watchdogScheduleOptions(intervalMs, taskQueue), state: { note: noteFor(intervalMs, taskQueue) } });
}
