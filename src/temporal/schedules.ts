import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
  type ScheduleOptions,
} from '@temporalio/client';
import type { Knex } from 'knex';
import { assertClientUsable, parseClientConfig, type ClientRow } from '../domain/client-config.js';
import { describeError } from '../domain/errors.js';
import { calendarFor, type LocalTimeOfDay } from '../domain/schedule-plan.js';
import type { ClientConfig } from '../domain/types.js';
import { SCHEDULE_ID_PREFIX, TASK_QUEUE, scheduleId, scheduledWorkflowId } from '../domain/workflow-ids.js';
import { listClientRows } from '../db/clients.js';
import { clientSearchAttributes } from '../workflows/search-attributes.js';
import type { scheduledReportWorkflow } from '../workflows/scheduled-report-workflow.js';

/**
 * Runs missed while Temporal was down are caught up for this long; overlapping runs are
 * buffered, not skipped. Together: no period is silently skipped.
 */
const CATCHUP_WINDOW = '365 days';
/** Bumped when the shape of what a schedule starts changes, so sync rewrites every schedule. */
const SCHEDULE_REVISION = 1;

function clockOf(time: LocalTimeOfDay): string {
  return `${String(time.hour).padStart(2, '0')}:${String(time.minute).padStart(2, '0')}`;
}

/**
 * The schedule's note, shown in the UI. It states everything the schedule is built from, so
 * comparing notes tells sync whether a schedule is current.
 */
function noteFor(client: ClientConfig, time: LocalTimeOfDay, taskQueue: string): string {
  const calendar = calendarFor(client.frequency, time);
  return `Two-Way Activity Report v${SCHEDULE_REVISION}: ${client.frequency} at ${clockOf(time)} ${client.timeZone} on ${taskQueue}; ${calendar.comment}`;
}

/** The schedule one client should have. */
export function scheduleOptionsFor(client: ClientConfig, time: LocalTimeOfDay, taskQueue = TASK_QUEUE): ScheduleOptions {
  const calendar = calendarFor(client.frequency, time);
  return {
    scheduleId: scheduleId(client.id),
    spec: { calendars: [calendar], timezone: client.timeZone },
    action: {
      type: 'startWorkflow',
      workflowType: 'scheduledReportWorkflow',
      args: [{ clientId: client.id, frequency: client.frequency, timeZone: client.timeZone }] satisfies Parameters<typeof scheduledReportWorkflow>,
      taskQueue,
      workflowId: scheduledWorkflowId(client.id),
      typedSearchAttributes: clientSearchAttributes(client.id, client.frequency),
    },
    policies: { overlap: ScheduleOverlapPolicy.BUFFER_ALL, catchupWindow: CATCHUP_WINDOW, pauseOnFailure: false },
    state: { note: noteFor(client, time, taskQueue) },
  };
}

export type SyncAction = 'created' | 'updated' | 'unchanged' | 'deleted' | 'skipped' | 'failed';

export interface SyncResult {
  readonly clientId: string;
  readonly action: SyncAction;
  /** What was done, or why it could not be: every line names its client and its reason. */
  readonly detail: string;
}

/** The schedule as the server has it now, or null (describe is consistent; listing is not). */
async function describeIfExists(client: Client, id: string): Promise<ScheduleDescription | null> {
  try {
    return await client.schedule.getHandle(id).describe();
  } catch (error) {
    if (error instanceof ScheduleNotFoundError) return null;
    throw error;
  }
}

/** Schedule ids of this project as the visibility store lists them (eventually consistent). */
async function existingScheduleIds(client: Client): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const schedule of client.schedule.list()) {
    if (schedule.scheduleId.startsWith(SCHEDULE_ID_PREFIX)) ids.add(schedule.scheduleId);
  }
  return ids;
}

/**
 * Why a row gets no schedule at all, read from the raw row so that a disabled or sandbox client
 * loses its schedule even when its other settings are broken; null when it should have one.
 */
function unscheduledReason(row: ClientRow): string | null {
  if (row.enabled === false) return 'disabled';
  if (row.environment === 'sandbox') return 'sandbox client';
  return null;
}

/** Creates or updates one client's schedule; throws what Temporal throws. */
async function syncOne(client: Client, config: ClientConfig, time: LocalTimeOfDay, taskQueue: string): Promise<SyncResult> {
  const options = scheduleOptionsFor(config, time, taskQueue);
  const note = noteFor(config, time, taskQueue);
  let current = await describeIfExists(client, options.scheduleId);
  if (!current) {
    try {
      await client.schedule.create(options);
      return { clientId: config.id, action: 'created', detail: note };
    } catch (error) {
      // Created by a concurrent sync a moment ago: treat it as existing.
      if (!(error instanceof ScheduleAlreadyRunning)) throw error;
      current = await client.schedule.getHandle(options.scheduleId).describe();
    }
  }
  if (current.state.note === note) return { clientId: config.id, action: 'unchanged', detail: note };
  // An update keeps the schedule's history and any buffered runs, unlike delete and create.
  await client.schedule.getHandle(options.scheduleId).update((previous) => ({
    ...previous,
    spec: options.spec,
    action: options.action,
    policies: options.policies,
    state: { ...previous.state, note },
  }));
  return { clientId: config.id, action: 'updated', detail: note };
}

/**
 * Makes Temporal's schedules match the clients table: one per enabled production client, in its
 * time zone. Each client is synced on its own, so one that fails never stops the others. A
 * client whose settings do not validate, or whose schedule Temporal refuses, is reported as
 * failed and keeps the schedule it has: deleting it would lose its missed runs. Only the
 * schedules of disabled, sandbox and deleted clients are deleted.
 */
export async function syncSchedules(knex: Knex, client: Client, time: LocalTimeOfDay, taskQueue = TASK_QUEUE): Promise<SyncResult[]> {
  const results: SyncResult[] = [];
  /** Schedules not to delete: the wanted ones and those of clients that failed. */
  const kept = new Set<string>();
  for (const row of await listClientRows(knex)) {
    const reason = unscheduledReason(row);
    if (reason !== null) {
      results.push({ clientId: row.id, action: 'skipped', detail: reason });
      continue;
    }
    kept.add(scheduleId(row.id));
    try {
      const config = parseClientConfig(row);
      // A schedule without delivery settings could only fail; the client's schedule stays as it is until they are set.
      assertClientUsable(config);
      results.push(await syncOne(client, config, time, taskQueue));
    } catch (error) {
      results.push({ clientId: row.id, action: 'failed', detail: `${describeError(error)}; its schedule, if any, is left as it was` });
    }
  }
  let existing: Set<string>;
  try {
    // Stale schedules are found by listing; one created moments ago may be missed, and the next sync removes it.
    existing = await existingScheduleIds(client);
  } catch (error) {
    results.push({ clientId: '(all)', action: 'failed', detail: `listing schedules to remove stale ones failed: ${describeError(error)}` });
    return results;
  }
  for (const id of existing) {
    if (kept.has(id)) continue;
    const clientId = id.slice(SCHEDULE_ID_PREFIX.length);
    try {
      await client.schedule.getHandle(id).delete();
      results.push({ clientId, action: 'deleted', detail: 'client disabled, sandbox or no longer in the clients table' });
    } catch (error) {
      if (error instanceof ScheduleNotFoundError) results.push({ clientId, action: 'deleted', detail: 'already gone' });
      else results.push({ clientId, action: 'failed', detail: `deleting its schedule failed: ${describeError(error)}` });
    }
  }
  return results;
}

export interface ScheduleSummary {
  readonly scheduleId: string;
  readonly clientId: string;
  readonly frequency: string;
  readonly timeZone: string;
  readonly paused: boolean;
  readonly nextRuns: Date[];
  readonly recentRuns: { readonly nominal: Date; readonly workflowId: string }[];
}

/** The project's schedules with their next run times, as Temporal computes them. */
export async function listSchedules(client: Client): Promise<ScheduleSummary[]> {
  const summaries: ScheduleSummary[] = [];
  for (const id of [...(await existingScheduleIds(client))].sort()) {
    const description = await client.schedule.getHandle(id).describe();
    const [input] = (description.action.type === 'startWorkflow' ? description.action.args : []) as Partial<Parameters<typeof scheduledReportWorkflow>[0]>[];
    summaries.push({
      scheduleId: id,
      clientId: input?.clientId ?? id.slice(SCHEDULE_ID_PREFIX.length),
      frequency: input?.frequency ?? '?',
      timeZone: description.spec.timezone ?? 'UTC',
      paused: description.state.paused,
      nextRuns: description.info.nextActionTimes,
      recentRuns: description.info.recentActions.map((action) => ({ nominal: action.scheduledAt, workflowId: action.action.workflow.workflowId })),
    });
  }
  return summaries;
}
