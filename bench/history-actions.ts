/**
 * Temporal Cloud Actions of a workflow, counted from its history by the rule of Temporal's
 * "Temporal Cloud Actions" page (https://docs.temporal.io/cloud/actions) and its "Estimate
 * Actions from Workflow Execution Histories" (https://docs.temporal.io/cloud/migrate/estimate-actions):
 *
 * - workflow started by a client or a schedule's start: 1 (a child's start is counted on its
 *   parent, where START_CHILD_WORKFLOW_EXECUTION_INITIATED is 2: the intent and the start);
 * - each UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: 1 (search attributes given at start: 0; an upsert of
 *   TemporalChangeVersion alone: 0);
 * - each ACTIVITY_TASK_SCHEDULED: 1, and each retry: the started event's attempt − 1;
 * - MARKER_RECORDED (local activities, and conservatively every other marker: patches, side
 *   effects): 1 per workflow task that recorded any, as Temporal counts all RecordMarker commands
 *   of one workflow task as one Action;
 * - TIMER_STARTED: 1; WORKFLOW_EXECUTION_SIGNALED: 1.
 *
 * Not in history, so not counted here: activity heartbeats that reach the server, queries, and a
 * schedule's own 2 Actions per run. The benchmark reads those from the server's `action` metric.
 */
import type { WorkflowHandle } from '@temporalio/client';
import proto from '@temporalio/proto';

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;

/** Built-in search attribute of versioning (patches); its upserts are not billed. */
const CHANGE_VERSION_ATTRIBUTE = 'TemporalChangeVersion';
const CHILD_START_ACTIONS = 2;

export type ActionCounts = ReadonlyMap<string, number>;

function add(counts: Map<string, number>, kind: string, actions: number): void {
  if (actions > 0) counts.set(kind, (counts.get(kind) ?? 0) + actions);
}

/** Actions of one workflow run, by kind (`workflow started`, `activity startRun`, `upsert search attributes`, …). */
export function actionsOf(history: History): ActionCounts {
  const counts = new Map<string, number>();
  const activityTypes = new Map<string, string>();
  const markerTasks = new Set<string>();
  for (const event of history.events ?? []) {
    if (event.workflowExecutionStartedEventAttributes) {
      if (!event.workflowExecutionStartedEventAttributes.parentWorkflowExecution) add(counts, 'workflow started', 1);
    } else if (event.startChildWorkflowExecutionInitiatedEventAttributes) add(counts, 'child workflow started', CHILD_START_ACTIONS);
    else if (event.upsertWorkflowSearchAttributesEventAttributes) {
      const fields = Object.keys(event.upsertWorkflowSearchAttributesEventAttributes.searchAttributes?.indexedFields ?? {});
      if (fields.some((field) => field !== CHANGE_VERSION_ATTRIBUTE)) add(counts, 'upsert search attributes', 1);
    } else if (event.activityTaskScheduledEventAttributes) {
      const type = event.activityTaskScheduledEventAttributes.activityType?.name ?? 'activity';
      activityTypes.set(String(event.eventId), type);
      add(counts, `activity ${type}`, 1);
    } else if (event.activityTaskStartedEventAttributes) {
      const attributes = event.activityTaskStartedEventAttributes;
      const type = activityTypes.get(String(attributes.scheduledEventId)) ?? 'activity';
      add(counts, `activity ${type} (retries)`, (attributes.attempt ?? 1) - 1);
    } else if (event.markerRecordedEventAttributes) {
      const task = String(event.markerRecordedEventAttributes.workflowTaskCompletedEventId);
      if (!markerTasks.has(task)) {
        markerTasks.add(task);
        add(counts, 'markers (local activities, patches) of a workflow task', 1);
      }
    } else if (event.workflowTaskCompletedEventAttributes) {
      const retries = Number(event.workflowTaskCompletedEventAttributes.meteringMetadata?.nonfirstLocalActivityExecutionAttempts ?? 0);
      add(counts, 'local activity retries', retries);
    } else if (event.timerStartedEventAttributes) add(counts, 'timer started', 1);
    else if (event.workflowExecutionSignaledEventAttributes) add(counts, 'signal received', 1);
  }
  return counts;
}

/** Longest failure message kept of a retried step (the start of it names the client and the cause). */
const FAILURE_MESSAGE_CHARS = 200;

/**
 * Why steps of a run were retried: for each activity attempt after the first, its type and the
 * message of the failure before it (an ACTIVITY_TASK_STARTED event carries its last failure).
 */
export function retryReasonsOf(history: History): string[] {
  const activityTypes = new Map<string, string>();
  const reasons: string[] = [];
  for (const event of history.events ?? []) {
    if (event.activityTaskScheduledEventAttributes) {
      activityTypes.set(String(event.eventId), event.activityTaskScheduledEventAttributes.activityType?.name ?? 'activity');
    } else if (event.activityTaskStartedEventAttributes && (event.activityTaskStartedEventAttributes.attempt ?? 1) > 1) {
      const attributes = event.activityTaskStartedEventAttributes;
      const failure = attributes.lastFailure;
      const timeout = failure?.timeoutFailureInfo?.timeoutType;
      const cause =
        timeout !== undefined && timeout !== null
          ? `timed out (${proto.temporal.api.enums.v1.TimeoutType[timeout] ?? String(timeout)})`
          : (failure?.message ?? 'no failure recorded');
      reasons.push(`${activityTypes.get(String(attributes.scheduledEventId)) ?? 'activity'}: ${cause.slice(0, FAILURE_MESSAGE_CHARS)}`);
    }
  }
  return reasons;
}

export function totalActions(counts: ActionCounts): number {
  let total = 0;
  for (const actions of counts.values()) total += actions;
  return total;
}

/** Sums the counts of many runs. */
export function sumActions(all: readonly ActionCounts[]): Map<string, number> {
  const summed = new Map<string, number>();
  for (const counts of all) for (const [kind, actions] of counts) add(summed, kind, actions);
  return summed;
}
