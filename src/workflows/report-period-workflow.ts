import {
  CancellationScope,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { DeliverOutcome, HostActivities, PeriodInput, SharedActivities } from '../activities/index.js';
import { NON_RETRYABLE_ERROR_TYPES } from '../domain/errors.js';
import type { Frequency, LocalDate, RunPolicy } from '../domain/types.js';
import { describeFailure, describeFailureType, failWithRootReason, isHostLost } from './failures.js';
import { CLIENT_ATTRIBUTE, FREQUENCY_ATTRIBUTE, PERIOD_ATTRIBUTE, periodSearchAttributes } from './search-attributes.js';

export interface ReportPeriodInput {
  readonly clientId: string;
  readonly frequency: Frequency;
  /** First local date of the period. */
  readonly periodStart: LocalDate;
  /** Deliver a changed file of a delivered period as a new revision. */
  readonly force?: boolean;
}

/**
 * What a period run did: delivered (this run's file is on the server), unchanged (forced, but
 * the file equals the delivered one) or already-delivered (nothing to do), with the file's
 * names, counts and checksums. The rows never enter history.
 */
export type ReportPeriodOutcome = DeliverOutcome & {
  readonly clientId: string;
  readonly frequency: Frequency;
  readonly periodStart: LocalDate;
};

// Ledger and planning steps: quick database work on any worker, retried until the database answers.
const SHARED_STEP_OPTIONS = {
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES] },
};
const shared = proxyActivities<SharedActivities>(SHARED_STEP_OPTIONS);
// The same steps run by the worker that runs the workflow task: no task of their own, and the
// markers of one workflow task count as one Temporal Action (a scheduled activity is one each).
const sharedLocal = proxyLocalActivities<SharedActivities>(SHARED_STEP_OPTIONS);

/**
 * Runs started from here on: no search attribute upsert when the starter set them (every
 * starter does: schedules, backfills, `run`, the status page), startRun and finishRun as local
 * activities, and the first host taken from startRun instead of a claimHost activity. Runs in
 * flight that were started before replay the steps they recorded.
 */
export const LEAN_RUN_PATCH = 'period-run-fewer-actions';

function hostActivities(taskQueue: string, policy: RunPolicy) {
  const retry = {
    initialInterval: policy.retryInitialIntervalMs,
    maximumInterval: policy.retryMaxIntervalMs,
    backoffCoefficient: 2,
    nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
  };
  const build = proxyActivities<HostActivities>({
    taskQueue,
    scheduleToStartTimeout: policy.hostScheduleToStartTimeoutMs,
    startToCloseTimeout: policy.buildTimeoutMs,
    // Every attempt together is bounded too: a full disk or a build that never finishes fails the run.
    scheduleToCloseTimeout: policy.buildDeadlineMs,
    heartbeatTimeout: policy.heartbeatTimeoutMs,
    retry,
  });
  // Delivery keeps retrying network faults with backoff until the deadline, then gives up.
  const deliver = proxyActivities<HostActivities>({
    taskQueue,
    scheduleToStartTimeout: policy.hostScheduleToStartTimeoutMs,
    scheduleToCloseTimeout: policy.deliveryDeadlineMs,
    heartbeatTimeout: policy.heartbeatTimeoutMs,
    retry,
  });
  return { buildReport: build.buildReport, discardFile: build.discardFile, deliverReport: deliver.deliverReport };
}

function outcomeOf(
  status: ReportPeriodOutcome['status'],
  input: PeriodInput,
  file: Omit<ReportPeriodOutcome, 'status' | 'clientId' | 'frequency' | 'periodStart'>,
): ReportPeriodOutcome {
  return { status, clientId: input.clientId, frequency: input.frequency, periodStart: input.periodStart, ...file };
}

/** Whether the run's starter set its period's search attributes (the UI and the watchdog find it by them). */
function startedWithAttributes(period: PeriodInput): boolean {
  const attributes = workflowInfo().typedSearchAttributes;
  return (
    attributes.get(CLIENT_ATTRIBUTE) === period.clientId &&
    attributes.get(FREQUENCY_ATTRIBUTE) === period.frequency &&
    attributes.get(PERIOD_ATTRIBUTE) === period.periodStart
  );
}

/**
 * One client's report for one period: check the client, build the file, deliver it once,
 * record the ledger. A delivered period is left alone unless forced; a forced rerun delivers
 * a changed file as the next revision and an unchanged one not at all [SPEC §6, §7].
 * Build and delivery of a file run on one host; if that host is lost, another rebuilds the
 * (byte-identical) file and delivers it.
 */
export async function reportPeriodWorkflow(input: ReportPeriodInput): Promise<ReportPeriodOutcome> {
  const period: PeriodInput = { clientId: input.clientId, frequency: input.frequency, periodStart: input.periodStart };
  const lean = patched(LEAN_RUN_PATCH);
  if (!lean || !startedWithAttributes(period)) upsertSearchAttributes(periodSearchAttributes(input.clientId, input.frequency, input.periodStart));
  const ledger = lean ? sharedLocal : shared;
  let start: Awaited<ReturnType<typeof shared.startRun>>;
  try {
    start = await ledger.startRun({ ...period, force: input.force ?? false });
  } catch (error) {
    // Refused before the run was recorded (unknown client, bad settings, a period not ended).
    throw failWithRootReason(error);
  }
  if (start.action === 'skip') {
    const { revision, fileName, remotePath, rowCount, bytes, sha256 } = start.delivered;
    return outcomeOf('already-delivered', period, { revision, fileName, remotePath, rowCount, bytes, sha256 });
  }
  try {
    for (let host = 1; ; host++) {
      // A later host is claimed through the shared queue, by any worker that is alive.
      const firstHost = lean && host === 1 ? start.hostTaskQueue : undefined;
      const onHost = hostActivities(firstHost ?? (await shared.claimHost()), start.policy);
      try {
        const built = await onHost.buildReport(period);
        if (start.latest && start.latest.sha256 === built.sha256) {
          await onHost.discardFile({ path: built.path });
          const { revision, fileName, remotePath } = start.latest;
          const unchanged = { revision, fileName, remotePath, rowCount: built.rowCount, bytes: built.bytes, sha256: built.sha256 };
          await ledger.finishRun({ status: 'unchanged', ...unchanged });
          return outcomeOf('unchanged', period, unchanged);
        }
        // The activity decides the revision under the period's lock and reconciles what earlier attempts left.
        const delivered = await onHost.deliverReport({
          ...period,
          path: built.path,
          fileName: start.fileName,
          sha256: built.sha256,
          rowCount: built.rowCount,
          force: input.force ?? false,
        });
        const { status, ...file } = delivered;
        await ledger.finishRun({ status: status === 'already-delivered' ? 'skipped' : status, ...file });
        return outcomeOf(status, period, file);
      } catch (error) {
        if (!isHostLost(error) || host >= start.policy.maxHosts) throw error;
        log.warn('host lost; rebuilding the file on another host', { host, reason: describeFailure(error) });
      }
    }
  } catch (error) {
    const cancelled = isCancellation(error);
    // Recorded even when the run was cancelled (its own scope would refuse new activities).
    await CancellationScope.nonCancellable(() =>
      shared.failRun({
        error: cancelled ? 'cancelled' : describeFailure(error),
        errorType: cancelled ? 'CancelledFailure' : describeFailureType(error),
        cancelled,
      }),
    );
    // A cancelled run ends as Cancelled in the UI, a failed one with its root reason on top.
    throw cancelled ? error : failWithRootReason(error);
  }
}
