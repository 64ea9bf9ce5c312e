/** Business keys of Temporal workflows and schedules: the same period always has the same id [SPEC §7]. */
import type { Frequency, LocalDate } from './types.js';

/** The task queue every worker polls for workflows and shared activities. */
export const TASK_QUEUE = 'twoway-report';

/** `twoway-report/{client}/{frequency}/{periodStart}`: one id per period, so reruns and duplicates meet. */
export function periodWorkflowId(clientId: string, frequency: Frequency, periodStart: LocalDate): string {
  return `twoway-report/${clientId}/${frequency}/${periodStart}`;
}

/** The period a workflow id names, when it is a period workflow's id (log lines carry it). */
export function parsePeriodWorkflowId(workflowId: string): { clientId: string; frequency: string; periodStart: LocalDate } | null {
  const match = /^twoway-report\/([^/]+)\/(daily|weekly|monthly)\/(\d{4}-\d{2}-\d{2})$/.exec(workflowId);
  return match?.[1] && match[2] && match[3] ? { clientId: match[1], frequency: match[2], periodStart: match[3] } : null;
}

export function backfillWorkflowId(clientId: string, frequency: Frequency, from: LocalDate, to: LocalDate): string {
  return `twoway-backfill/${clientId}/${frequency}/${from}..${to}`;
}

/** One schedule per client. */
export const SCHEDULE_ID_PREFIX = 'twoway-report-schedule/';

export function scheduleId(clientId: string): string {
  return `${SCHEDULE_ID_PREFIX}${clientId}`;
}

/** The workflow id schedules start runs under (Temporal appends the nominal time). */
export function scheduledWorkflowId(clientId: string): string {
  return `twoway-scheduled/${clientId}`;
}
