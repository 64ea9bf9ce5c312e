/**
 * Starting period runs and backfills on Temporal, with the ids and search attributes every
 * starter uses (the CLI's `run` and `backfill`, the status page's actions), so a run started
 * from any of them meets the others' runs of the same period.
 */
import type { Client, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import { backfillWorkflowId, periodWorkflowId, TASK_QUEUE } from '../domain/workflow-ids.js';
import type { BackfillInput, backfillReportsWorkflow } from '../workflows/backfill-reports-workflow.js';
import type { ReportPeriodInput, reportPeriodWorkflow } from '../workflows/report-period-workflow.js';
import { clientSearchAttributes, periodSearchAttributes } from '../workflows/search-attributes.js';

/** Runs of the period a forced start waits out before giving up (each may be a schedule or backfill starting anew). */
const MAX_RUNS_WAITED_FOR = 5;

/**
 * Starts the period's workflow. Not forced, a run already in progress (a schedule, a backfill)
 * is joined: it does the same. Forced, joining would drop the force, so the run in progress is
 * waited for (`onWait` says so) and the forced run started after it.
 */
export async function startPeriodRun(
  client: Client,
  input: ReportPeriodInput,
  onWait: (message: string) => void,
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof reportPeriodWorkflow>> {
  const workflowId = periodWorkflowId(input.clientId, input.frequency, input.periodStart);
  const start = (conflict: WorkflowIdConflictPolicy) =>
    client.workflow.start<typeof reportPeriodWorkflow>('reportPeriodWorkflow', {
      taskQueue: TASK_QUEUE,
      workflowId,
      args: [input],
      typedSearchAttributes: periodSearchAttributes(input.clientId, input.frequency, input.periodStart),
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      workflowIdConflictPolicy: conflict,
    });
  if (!input.force) return start(WorkflowIdConflictPolicy.USE_EXISTING);
  for (let waited = 0; ; waited++) {
    try {
      return await start(WorkflowIdConflictPolicy.FAIL);
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      const { runId } = await client.workflow.getHandle(workflowId).describe();
      if (waited >= MAX_RUNS_WAITED_FOR) {
        throw new Error(
          `${workflowId}: another run (run id ${runId}) is in progress after waiting for ${waited} runs to finish; try the forced run again later`,
        );
      }
      onWait(`a run of ${workflowId} is in progress (run id ${runId}); waiting for it to finish, then running it forced`);
      // How it ends does not matter: the forced run comes next either way.
      await client.workflow
        .getHandle(workflowId, runId)
        .result()
        .catch(() => undefined);
    }
  }
}

/** Starts a backfill of the range (joining the same range's backfill when one is running). */
export async function startBackfill(
  client: Client,
  input: BackfillInput & { readonly frequency: NonNullable<BackfillInput['frequency']> },
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof backfillReportsWorkflow>> {
  return client.workflow.start<typeof backfillReportsWorkflow>('backfillReportsWorkflow', {
    taskQueue: TASK_QUEUE,
    workflowId: backfillWorkflowId(input.clientId, input.frequency, input.from, input.to),
    args: [input],
    typedSearchAttributes: clientSearchAttributes(input.clientId, input.frequency),
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
  });
}
