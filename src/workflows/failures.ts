import { TimeoutType } from '@temporalio/common';
import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/workflow';

/** The innermost failure of a chain: the error an activity actually threw. */
export function rootCause(error: unknown): unknown {
  let current = error;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return current;
}

/** One line for the ledger, the CLI and the UI: the root error's type and message. */
export function describeFailure(error: unknown): string {
  const root = rootCause(error);
  if (root instanceof ApplicationFailure) return root.message;
  if (root instanceof TimeoutFailure) return `activity timed out (${root.timeoutType ?? 'unknown timeout'})`;
  return root instanceof Error ? root.message : String(root);
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

/** Fails the workflow with the root reason on top (what the UI and `run` show first), keeping the chain. */
export function failWithRootReason(error: unknown): ApplicationFailure {
  const root = rootCause(error);
  const type = root instanceof ApplicationFailure ? root.type : root instanceof Error ? root.name : undefined;
  return ApplicationFailure.create({ message: describeFailure(error), type: type ?? 'Error', nonRetryable: true, cause: error instanceof Error ? error : undefined });
}
