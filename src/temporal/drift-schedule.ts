import { ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';
import { formatDuration } from '../config/env.js';
import { TASK_QUEUE } from '../domain/workflow-ids.js';
import { syncOwnSchedule } from './own-schedules.js';
import type { SyncResult } from './schedules.js';

/** Outside the clients' prefix (twoway-report-schedule/), so a clients' sync never deletes it. */
export const DRIFT_SCHEDULE_ID = 'twoway-drift';
/** Shown in place of a client id in sync output. */
export const DRIFT_LABEL = '(drift check)';
/** A pass missed while Temporal was down is run once when it is back: late data waits for no one. */
const CATCHUP_WINDOW = '1 day';

function noteFor(intervalMs: number, taskQueue: string): string {
  return `Two-Way Activity Report drift check: every ${formatDuration(intervalMs)} on ${taskQueue}; checks every delivered period inside its client's lookback for late data, records drift and restates where the client wants it`;
}

export function driftScheduleOptions(intervalMs: number, taskQueue = TASK_QUEUE): ScheduleOptions & { readonly state: { readonly note: string } } {
  return {
    scheduleId: DRIFT_SCHEDULE_ID,
    spec: { intervals: [{ every: intervalMs }] },
    action: { type: 'startWorkflow', workflowType: 'checkDriftWorkflow', args: [], taskQueue, workflowId: DRIFT_SCHEDULE_ID },
    // A pass still running when the next is due makes the next one pointless.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: CATCHUP_WINDOW, pauseOnFailure: false },
    state: { note: noteFor(intervalMs, taskQueue) },
  };
}

/** Creates the drift check's schedule, or brings it in line with the interval; a paused one stays paused. */
export async function syncDriftSchedule(client: Client, intervalMs: number, taskQueue = TASK_QUEUE): Promise<SyncResult> {
  return syncOwnSchedule(client, DRIFT_LABEL, driftScheduleOptions(intervalMs, taskQueue));
}
