import { CancellationScope, isCancellation, log, proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { DeliverOutcome, HostActivities, PeriodInput, SharedActivities } from '../activities/index.js';
import { NON_RETRYABLE_ERROR_TYPES } from '../domain/errors.js';
import type { RunReason } from '../domain/late-data.js';
import type { Frequency, LocalDate, RunPolicy } from '../domain/types.js';
import { describeFailure, describeFailureType, failWithRootReason, isHostLost } from './failures.js';
import { periodSearchAttributes } from './search-attributes.js';

export interface ReportPeriodInput {
  readonly clientId: string;
  readonly frequency: Frequency;
  /** First local date of the period. */
  readonly periodStart: LocalDate;
  /** Deliver a changed file of a delivered period as a new revision. */
  readonly force?: boolean;
  /** Why the run was started, when not by a schedule or an operator (the drift check's `restated-for-drift`); kept in the ledger. */
  readonly reason?: RunReason;
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
const shared = proxyActivities<SharedActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES] },
});

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

/**
 * One client's report for one period: check the client, build the file, deliver it once,
 * record the ledger. A delivered period is left alone unless forced; a forced rerun delivers
 * a changed file as the next revision and an unchanged one not at all [SPEC §6, §7].
 * Build and delivery of a file run on one host; if that host is lost, another rebuilds the
 * (byte-identical) file and delivers it.
 */
export async function reportPeriodWorkflow(input: ReportPeriodInput): Promise<ReportPeriodOutcome> {
  const period: PeriodInput = { clientId: input.clientId, frequency: input.frequency, periodStart: input.periodStart };
  upsertSearchAttributes(periodSearchAttributes(input.clientId, input.frequency, input.periodStart));
  let start: Awaited<ReturnType<typeof shared.startRun>>;
  try {
    // The reason travels only when given: the activity's input, and so history, stays as it was for every other run.
    start = await shared.startRun({ ...period, force: input.force ?? false, ...(input.reason ? { reason: input.reason } : {}) });
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
      const onHost = hostActivities(await shared.claimHost(), start.policy);
      try {
        const built = await onHost.buildReport(period);
        if (start.latest && start.latest.sha256 === built.sha256) {
          await onHost.discardFile({ path: built.path });
          const { revision, fileName, remotePath } = start.latest;
          const unchanged = { revision, fileName, remotePath, rowCount: built.rowCount, bytes: built.bytes, sha256: built.sha256 };
          await shared.finishRun({ status: 'unchanged', ...unchanged });
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
        await shared.finishRun({ status: status === 'already-delivered' ? 'skipped' : status, ...file });
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
