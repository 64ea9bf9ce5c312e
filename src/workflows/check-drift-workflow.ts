import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ActivityFailure, ParentClosePolicy, proxyActivities, startChild, WorkflowIdReusePolicy } from '@temporalio/workflow';
import type { ClientDriftSummary, DriftActivities } from '../activities/drift.js';
import { NON_RETRYABLE_ERROR_TYPES } from '../domain/errors.js';
import type { LocalDate } from '../domain/types.js';
import { periodWorkflowId } from '../domain/workflow-ids.js';
import type { PeriodCheckResult } from '../drift/check-drift.js';
import { reportPeriodWorkflow } from './report-period-workflow.js';
import { periodSearchAttributes } from './search-attributes.js';

export interface CheckDriftInput {
  /** Check delivered periods starting on or after this date instead of each client's lookback. */
  readonly since?: LocalDate;
  /** Clients checked at once (default DEFAULT_DRIFT_CONCURRENCY). */
  readonly concurrency?: number;
}

export interface CheckDriftResult {
  readonly clients: number;
  readonly periods: number;
  readonly results: Readonly<Record<PeriodCheckResult, number>>;
  /** Files built to know; every other period was judged by its source fingerprint alone. */
  readonly rebuilt: number;
  /** Drifted periods this pass recorded for the first time. */
  readonly newlyDrifted: number;
  /** Restated periods: a forced run of each was started (it delivers the next revision if the file still differs). */
  readonly restated: ReadonlyArray<{ readonly clientId: string; readonly periodStart: LocalDate; readonly workflowId: string }>;
  /** Restated periods that another run of was in progress; the next pass restates them if they still differ. */
  readonly busy: ReadonlyArray<{ readonly clientId: string; readonly periodStart: LocalDate }>;
  /** Clients whose check failed, with the reason. */
  readonly failed: ReadonlyArray<{ readonly clientId: string; readonly reason: string }>;
}

export const DEFAULT_DRIFT_CONCURRENCY = 2;
const MAX_DRIFT_CONCURRENCY = 16;

const { listDriftClients } = proxyActivities<DriftActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES] },
});
// A client's check may rebuild a few files; it heartbeats while it does.
const { checkClientDrift } = proxyActivities<DriftActivities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', maximumInterval: '1 minute', maximumAttempts: 5, nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES] },
});

function reasonOf(error: unknown): string {
  const cause = error instanceof ActivityFailure && error.cause ? error.cause : error;
  return cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
}

/**
 * One drift pass, started by the schedule `twoway-drift` (daily): checks every client whose late
 * data is not off (activities do the reading and building), then starts a forced run of every
 * drifted period of a `restate` client, with the reason `restated-for-drift`, under the period's
 * own workflow id: a run of the period already in progress is never doubled (that period waits
 * for the next pass), and the new revision goes through the period workflow's exactly-once
 * delivery. The pass does not wait for those runs; each announces its revision itself.
 */
export async function checkDriftWorkflow(input: CheckDriftInput = {}): Promise<CheckDriftResult> {
  const clients = await listDriftClients();
  const summaries: ClientDriftSummary[] = [];
  const failed: Array<{ clientId: string; reason: string }> = [];
  const queue = [...clients];
  const concurrency = Math.min(Math.max(1, input.concurrency ?? DEFAULT_DRIFT_CONCURRENCY), MAX_DRIFT_CONCURRENCY);
  await Promise.all(
    Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
      for (let clientId = queue.shift(); clientId !== undefined; clientId = queue.shift()) {
        try {
          summaries.push(await checkClientDrift({ clientId, ...(input.since ? { since: input.since } : {}) }));
        } catch (error) {
          failed.push({ clientId, reason: reasonOf(error) });
        }
      }
    }),
  );
  const restated: Array<{ clientId: string; periodStart: LocalDate; workflowId: string }> = [];
  const busy: Array<{ clientId: string; periodStart: LocalDate }> = [];
  for (const summary of summaries) {
    for (const periodStart of summary.restate) {
      const workflowId = periodWorkflowId(summary.clientId, summary.frequency, periodStart);
      try {
        await startChild(reportPeriodWorkflow, {
          workflowId,
          args: [{ clientId: summary.clientId, frequency: summary.frequency, periodStart, force: true, reason: 'restated-for-drift' }],
          typedSearchAttributes: periodSearchAttributes(summary.clientId, summary.frequency, periodStart),
          workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
          // The run delivers on its own: the pass ends now, and a terminated pass does not stop it.
          parentClosePolicy: ParentClosePolicy.ABANDON,
        });
        restated.push({ clientId: summary.clientId, periodStart, workflowId });
      } catch (error) {
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
        busy.push({ clientId: summary.clientId, periodStart });
      }
    }
  }
  const results: Record<PeriodCheckResult, number> = { 'fingerprint-unchanged': 0, 'rebuilt-unchanged': 0, drifted: 0, 'already-recorded': 0 };
  for (const summary of summaries) for (const [result, count] of Object.entries(summary.results)) results[result as PeriodCheckResult] += count;
  return {
    clients: summaries.filter((summary) => summary.skipped === null).length,
    periods: Object.values(results).reduce((sum, count) => sum + count, 0),
    results,
    rebuilt: summaries.reduce((sum, summary) => sum + summary.rebuilt, 0),
    newlyDrifted: summaries.reduce((sum, summary) => sum + summary.drifted.filter((drift) => drift.newlyRecorded).length, 0),
    restated,
    busy,
    failed,
  };
}
