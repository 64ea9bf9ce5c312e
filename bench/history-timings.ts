/**
 * Where a period workflow's time went, read back from its Temporal history: for every
 * workflow task and activity, how long it waited to be picked up (scheduled → started) and
 * how long it ran (started → completed), by step; and the workflow's end-to-end latency.
 * The times are the server's, so they need no clock of the worker's.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time.js';

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
type HistoryEvent = NonNullable<History['events']>[number];

/** The name workflow tasks get among the activity types. */
export const WORKFLOW_TASK = 'workflow task';

export interface StepTiming {
  readonly step: string;
  readonly scheduleToStartMs: number;
  readonly runMs: number;
}

export interface WorkflowTimings {
  readonly steps: readonly StepTiming[];
  readonly endToEndMs: number;
}

/** Event ids are int64 (a Long, or a number once decoded); they are small here. */
function idOf(value: { toString(): string } | number | null | undefined): number {
  return value === null || value === undefined ? Number.NaN : Number(value.toString());
}

function timeOf(event: HistoryEvent): number {
  return tsToMs(event.eventTime);
}

/** Pairs scheduled, started and completed events of workflow tasks and activities. */
export function timingsOf(history: History): WorkflowTimings {
  const scheduled = new Map<number, { step: string; at: number }>();
  const started = new Map<number, number>();
  const steps: StepTiming[] = [];
  let workflowStarted = Number.NaN;
  let workflowClosed = Number.NaN;
  const complete = (scheduledId: number, startedId: number, at: number) => {
    const from = scheduled.get(scheduledId);
    const began = started.get(startedId);
    if (from && began !== undefined) steps.push({ step: from.step, scheduleToStartMs: began - from.at, runMs: at - began });
  };
  for (const event of history.events ?? []) {
    const id = idOf(event.eventId);
    const at = timeOf(event);
    if (event.workflowExecutionStartedEventAttributes) workflowStarted = at;
    else if (event.workflowExecutionCompletedEventAttributes) workflowClosed = at;
    else if (event.workflowTaskScheduledEventAttributes) scheduled.set(id, { step: WORKFLOW_TASK, at });
    else if (event.activityTaskScheduledEventAttributes)
      scheduled.set(id, { step: event.activityTaskScheduledEventAttributes.activityType?.name ?? 'activity', at });
    else if (event.workflowTaskStartedEventAttributes || event.activityTaskStartedEventAttributes) started.set(id, at);
    else if (event.workflowTaskCompletedEventAttributes) {
      const attributes = event.workflowTaskCompletedEventAttributes;
      complete(idOf(attributes.scheduledEventId), idOf(attributes.startedEventId), at);
    } else if (event.activityTaskCompletedEventAttributes) {
      const attributes = event.activityTaskCompletedEventAttributes;
      complete(idOf(attributes.scheduledEventId), idOf(attributes.startedEventId), at);
    }
  }
  if (Number.isNaN(workflowStarted) || Number.isNaN(workflowClosed)) throw new Error('history has no start or completion of the workflow');
  return { steps, endToEndMs: workflowClosed - workflowStarted };
}
