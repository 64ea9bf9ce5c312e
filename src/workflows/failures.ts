import { TimeoutType, type ProtoFailure } from '@temporalio/common';
import { ActivityFailure, ApplicationFailure, CancelledFailure, ChildWorkflowFailure, TerminatedFailure, TimeoutFailure } from '@temporalio/workflow';

/** What the client library wraps a workflow's failure in; known by name, since workflow code cannot import @temporalio/client. */
const CLIENT_WRAPPER_NAMES: ReadonlySet<string> = new Set(['WorkflowFailedError', 'WorkflowUpdateFailedError']);

/** Temporal's envelopes around a failure: they say where it happened, not what happened. */
function isWrapper(error: unknown): error is Error {
  return error instanceof ActivityFailure || error instanceof ChildWorkflowFailure || (error instanceof Error && CLIENT_WRAPPER_NAMES.has(error.name));
}

/**
 * The failure that was actually thrown: below Temporal's wrappers (activity, child workflow,
 * the client's WorkflowFailedError), but not below the first real failure — an activity's
 * SftpTransientError names client and host, the raw ssh2 error under it does not.
 */
export function rootCause(error: unknown): unknown {
  let current = error;
  while (isWrapper(current) && current.cause instanceof Error) current = current.cause;
  return current;
}

/** The name of what failed: the innermost activity or child workflow wrapping the failure. */
function subjectOf(error: unknown): string {
  let subject = 'the workflow';
  for (let current = error; isWrapper(current); current = current.cause) {
    if (current instanceof ActivityFailure) subject = current.activityType;
    else if (current instanceof ChildWorkflowFailure) subject = current.workflowType;
  }
  return subject;
}

/**
 * The last attempt's failure, which the server attaches to a timeout that ended retries. The
 * SDK's TimeoutFailure has no cause of its own; it keeps the attached failure only in its
 * wire form.
 */
function lastAttemptOf(timeout: TimeoutFailure): { readonly message: string; readonly type: string } | undefined {
  const last: ProtoFailure | null | undefined = timeout.failure?.cause;
  if (!last?.message) return undefined;
  return { message: last.message, type: last.applicationFailureInfo?.type || 'Error' };
}

/**
 * One line for the ledger, the CLI and the UI: the thrown failure's message; for a timeout,
 * what timed out and its last error; for a cancelled or terminated run, that (and the reason
 * given for terminating it).
 */
export function describeFailure(error: unknown): string {
  const failure = rootCause(error);
  if (failure instanceof CancelledFailure) return 'cancelled';
  if (failure instanceof TerminatedFailure) return failure.message ? `terminated: ${failure.message}` : 'terminated';
  if (failure instanceof TimeoutFailure) {
    const last = lastAttemptOf(failure);
    return `${subjectOf(error)} timed out (${failure.timeoutType ?? 'unknown timeout'})${last ? `; last error: ${last.message}` : ''}`;
  }
  return failure instanceof Error ? failure.message : String(failure);
}

/**
 * True when a host-bound activity failed because its host is gone: nobody picked it up in
 * time, it stopped heartbeating, or the built file is no longer there. The file is then
 * rebuilt on another host.
 */
export function isHostLost(error: unknown): boolean {
  if (!(error instanceof ActivityFailure)) return false;
  const cause = error.cause;
  if (cause instanceof ApplicationFailure && cause.type === BUILT_FILE_MISSING) return true;
  return cause instanceof TimeoutFailure && (cause.timeoutType === TimeoutType.SCHEDULE_TO_START || cause.timeoutType === TimeoutType.HEARTBEAT);
}

const BUILT_FILE_MISSING = 'BuiltFileMissingError';

/** The type shown for a failure: an application failure's own type; for a timeout that ended retries, its last error's. */
function failureType(failure: unknown): string {
  if (failure instanceof ApplicationFailure) return failure.type || 'Error';
  if (failure instanceof TimeoutFailure) return lastAttemptOf(failure)?.type ?? failure.name;
  return failure instanceof Error ? failure.name : 'Error';
}

/** The type of the failure that was actually thrown (`AuthenticationFailedError`, …), for the ledger and notifications. */
export function describeFailureType(error: unknown): string {
  return failureType(rootCause(error));
}

/** Fails the workflow with the thrown failure's type and message on top (what the UI and `run` show first), keeping the chain. */
export function failWithRootReason(error: unknown): ApplicationFailure {
  return ApplicationFailure.create({
    message: describeFailure(error),
    type: failureType(rootCause(error)),
    nonRetryable: true,
    cause: error instanceof Error ? error : undefined,
  });
}
