import {
  ActivityCancellationType,
  CancellationScope,
  CancelledFailure,
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
import type { RunReason } from '../domain/late-data.js';
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

/**
 * Runs started from here on take LEAN_RUN_PATCH's and DISCARD_LEFTOVERS_PATCH's branches under
 * this one patch: the SDK upserts a run's `TemporalChangeVersion` search attribute for every
 * patch it meets, so one patch instead of two is one upsert (and its visibility write) fewer per
 * run. Runs started before replay the patches they recorded.
 */
export const ONE_PATCH_RUN = 'period-run-one-patch';

/**
 * Runs started from this change on leave no built file behind: they wait for a cancelled build
 * or delivery to stop, and then, and after a lost host, remove the period's file from every host
 * they used. Older runs replay without either.
 */
const DISCARD_LEFTOVERS_PATCH = 'discard-built-files-left-behind';
/** How long a discard waits for its host: a lost host must not hold up the end of the run (its next start sweeps the file). */
const DISCARD_START_WITHIN_MS = 30_000;
const DISCARD_ATTEMPTS = 3;

function hostActivities(taskQueue: string, policy: RunPolicy, waitForCancellation = false) {
  // Waiting lets a discard come after the step has stopped writing or reading the file.
  const cancellationType = waitForCancellation ? ActivityCancellationType.WAIT_CANCELLATION_COMPLETED : ActivityCancellationType.TRY_CANCEL;
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
    cancellationType,
  });
  // Delivery keeps retrying network faults with backoff until the deadline, then gives up.
  const deliver = proxyActivities<HostActivities>({
    taskQueue,
    scheduleToStartTimeout: policy.hostScheduleToStartTimeoutMs,
    scheduleToCloseTimeout: policy.deliveryDeadlineMs,
    heartbeatTimeout: policy.heartbeatTimeoutMs,
    retry,
    cancellationType,
  });
  // Best effort: what a discard misses, the work folder's sweep removes.
  const discard = proxyActivities<HostActivities>({
    taskQueue,
    scheduleToStartTimeout: Math.min(DISCARD_START_WITHIN_MS, policy.hostScheduleToStartTimeoutMs),
    startToCloseTimeout: '1 minute',
    retry: { initialInterval: '1 second', maximumAttempts: DISCARD_ATTEMPTS },
  });
  return {
    buildReport: build.buildReport,
    discardFile: build.discardFile,
    deliverReport: deliver.deliverReport,
    discardLeftovers: discard.discardFile,
  };
}

/** Removes the period's built file from each of these hosts, at the same time; a failure is logged, never thrown. */
async function discardOnHosts(hosts: readonly string[], policy: RunPolicy, input: PeriodInput & { readonly fileName: string }): Promise<void> {
  await Promise.all(
    hosts.map((host) =>
      hostActivities(host, policy)
        .discardLeftovers(input)
        .catch((error: unknown) => log.warn('built file not discarded; the host sweeps it', { host, reason: describeFailure(error) })),
    ),
  );
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
  const current = patched(ONE_PATCH_RUN);
  const lean = current || patched(LEAN_RUN_PATCH);
  if (!lean || !startedWithAttributes(period)) upsertSearchAttributes(periodSearchAttributes(input.clientId, input.frequency, input.periodStart));
  const ledger = lean ? sharedLocal : shared;
  let start: Awaited<ReturnType<typeof shared.startRun>>;
  try {
    // The reason travels only when given: the activity's input, and so history, stays as it was for every other run.
    start = await ledger.startRun({ ...period, force: input.force ?? false, ...(input.reason ? { reason: input.reason } : {}) });
  } catch (error) {
    // Refused before the run was recorded (unknown client, bad settings, a period not ended).
    throw failWithRootReason(error);
  }
  if (start.action === 'skip') {
    const { revision, fileName, remotePath, rowCount, bytes, sha256 } = start.delivered;
    return outcomeOf('already-delivered', period, { revision, fileName, remotePath, rowCount, bytes, sha256 });
  }
  const discardLeftovers = current || patched(DISCARD_LEFTOVERS_PATCH);
  // Hosts this run sent work to, each once: a lost one may still hold its built file.
  const hosts: string[] = [];
  const discardExcept = async (finishedOn: string | null) => {
    if (!discardLeftovers) return;
    const leftBehind = hosts.filter((host) => host !== finishedOn);
    await discardOnHosts(leftBehind, start.policy, { ...period, fileName: start.fileName });
  };
  try {
    for (let host = 1; ; host++) {
      // A later host is claimed through the shared queue, by any worker that is alive.
      const firstHost = lean && host === 1 ? start.hostTaskQueue : undefined;
      const hostQueue = firstHost ?? (await shared.claimHost());
      if (!hosts.includes(hostQueue)) hosts.push(hostQueue);
      const onHost = hostActivities(hostQueue, start.policy, discardLeftovers);
      try {
        const built = await onHost.buildReport(period);
        if (start.latest && start.latest.sha256 === built.sha256) {
          await onHost.discardFile({ path: built.path });
          const { revision, fileName, remotePath } = start.latest;
          const unchanged = { revision, fileName, remotePath, rowCount: built.rowCount, bytes: built.bytes, sha256: built.sha256 };
          await ledger.finishRun({ status: 'unchanged', ...unchanged });
          await discardExcept(hostQueue);
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
        // The delivering host removed its file; a host lost before it may still hold one.
        await discardExcept(hostQueue);
        return outcomeOf(status, period, file);
      } catch (error) {
        if (!isHostLost(error) || host >= start.policy.maxHosts) throw error;
        log.warn('host lost; rebuilding the file on another host', { host, reason: describeFailure(error) });
      }
    }
  } catch (error) {
    // A step the run waited for after cancelling it may end in a failure of its own; the run was still cancelled.
    const cancelled = isCancellation(error) || (discardLeftovers && CancellationScope.current().consideredCancelled);
    // Recorded, and the built files removed, even when the run was cancelled (its own scope would refuse new activities).
    await CancellationScope.nonCancellable(async () => {
      await shared.failRun({
        error: cancelled ? 'cancelled' : describeFailure(error),
        errorType: cancelled ? 'CancelledFailure' : describeFailureType(error),
        cancelled,
      });
      await discardExcept(null);
    });
    // A cancelled run ends as Cancelled in the UI, a failed one with its root reason on top.
    if (cancelled) throw isCancellation(error) ? error : new CancelledFailure('cancelled');
    throw failWithRootReason(error);
  }
}
