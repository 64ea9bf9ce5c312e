import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { executeChild, proxyActivities, workflowInfo, WorkflowIdReusePolicy } from '@temporalio/workflow';
import type { PlanningActivities } from '../activities/planning.js';
import { NON_RETRYABLE_ERROR_TYPES } from '../domain/errors.js';
import type { Frequency } from '../domain/types.js';
import { periodWorkflowId } from '../domain/workflow-ids.js';
import { reportPeriodWorkflow, type ReportPeriodOutcome } from './report-period-workflow.js';
import { SCHEDULED_START_TIME_ATTRIBUTE, periodSearchAttributes } from './search-attributes.js';

export interface ScheduledReportInput {
  readonly clientId: string;
  readonly frequency: Frequency;
  /** The client's zone when the schedule was synced; `schedules sync` keeps it current. */
  readonly timeZone: string;
}

// The period comes from the client's time zone, so an activity decides it and history keeps it (see activities/planning.ts).
const { periodBefore } = proxyActivities<PlanningActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES] },
});

export type ScheduledReportOutcome = ReportPeriodOutcome | { readonly status: 'already-running'; readonly workflowId: string };

/**
 * What a schedule starts: asks the `periodBefore` activity for the period before the run's
 * nominal time (so Temporal's own schedule backfills produce the right periods too) and runs
 * it as the period's workflow, under the period's business-key id. A second monthly run
 * finds the month delivered and does nothing.
 */
export async function scheduledReportWorkflow(input: ScheduledReportInput): Promise<ScheduledReportOutcome> {
  const info = workflowInfo();
  const nominal = info.typedSearchAttributes.get(SCHEDULED_START_TIME_ATTRIBUTE) ?? new Date(info.startTime);
  const periodStart = await periodBefore({ clientId: input.clientId, frequency: input.frequency, nominalTime: nominal.getTime(), timeZone: input.timeZone });
  const workflowId = periodWorkflowId(input.clientId, input.frequency, periodStart);
  try {
    return await executeChild(reportPeriodWorkflow, {
      workflowId,
      args: [{ clientId: input.clientId, frequency: input.frequency, periodStart }],
      typedSearchAttributes: periodSearchAttributes(input.clientId, input.frequency, periodStart),
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    });
  } catch (error) {
    // Someone (a backfill, an operator) is running this very period now; that run delivers it.
    if (error instanceof WorkflowExecutionAlreadyStartedError) return { status: 'already-running', workflowId };
    throw error;
  }
}
