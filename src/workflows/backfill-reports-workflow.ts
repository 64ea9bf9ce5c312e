import {
  condition,
  continueAsNew,
  defineQuery,
  executeChild,
  isCancellation,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { SharedActivities } from '../activities/index.js';
import type { PlanningActivities } from '../activities/planning.js';
import { MAX_BACKFILL_PERIODS } from '../domain/backfill-range.js';
import { NON_RETRYABLE_ERROR_TYPES } from '../domain/errors.js';
import type { Frequency, LocalDate } from '../domain/types.js';
import { periodWorkflowId } from '../domain/workflow-ids.js';
import { describeFailure, failWithRootReason } from './failures.js';
import { reportPeriodWorkflow } from './report-period-workflow.js';
import { clientSearchAttributes, periodSearchAttributes } from './search-attributes.js';

export interface BackfillInput {
  readonly clientId: string;
  /** Inclusive local dates; every period touching the range that has ended is run (at most MAX_BACKFILL_PERIODS periods). */
  readonly from: LocalDate;
  readonly to: LocalDate;
  /** Default: the client's frequency. */
  readonly frequency?: Frequency;
  /** Rerun delivered periods too (a changed file goes out as a revision). */
  readonly force?: boolean;
  /** Period workflows running at once. */
  readonly concurrency?: number;
  /** Periods per workflow run before continuing as new (default PERIODS_PER_RUN). */
  readonly periodsPerRun?: number;
  /** A forced backfill's wait between tries of a period someone else is running (default BUSY_RETRY_INTERVAL_MS)… */
  readonly busyRetryIntervalMs?: number;
  /** …and its tries at most (default MAX_BUSY_TRIES). */
  readonly maxBusyTries?: number;
  /** Carried over by continue-as-new; absent on the first run. */
  readonly state?: BackfillState;
}

export interface BackfillFailure {
  readonly periodStart: LocalDate;
  readonly reason: string;
}

export interface BackfillState {
  readonly timeZone: string;
  /** Workflow time of the first run: the same periods count as ended in every continued run. */
  readonly startedAt: number;
  readonly frequency: Frequency;
  /** Ended periods of the range. */
  readonly total: number;
  /** Set when the range reaches past the last period that had ended at the start: that period's last day; later periods are left out. */
  readonly clampedTo: LocalDate | null;
  /** Start of the last period handled; null before the first. */
  after: LocalDate | null;
  delivered: number;
  unchanged: number;
  /** Already delivered (not forced), or being run by someone else right now (not forced). */
  skipped: number;
  failed: number;
  /** The first failures, for the summary; all of them are visible in the UI as failed period workflows. */
  failures: BackfillFailure[];
}

export interface BackfillProgress extends Omit<BackfillState, 'after' | 'startedAt'> {
  readonly clientId: string;
  readonly done: number;
  /** Period starts in flight now. */
  readonly running: LocalDate[];
  /** Of those, periods a forced backfill waits on because another run of them is in progress. */
  readonly waiting: LocalDate[];
}

export const backfillProgressQuery = defineQuery<BackfillProgress>('progress');

export const DEFAULT_BACKFILL_CONCURRENCY = 4;
export const MAX_BACKFILL_CONCURRENCY = 64;
/** Periods handled per workflow run before continuing as new, so a multi-year backfill's history stays small. */
export const PERIODS_PER_RUN = 100;
/** A forced backfill tries a period that someone else is running this often… */
export const BUSY_RETRY_INTERVAL_MS = 60_000;
/** …and this many times at most, then counts it failed (a run that retries a delivery for hours is not waited out). */
export const MAX_BUSY_TRIES = 30;
const MAX_LISTED_FAILURES = 50;

const { describeClient, listDeliveredPeriods } = proxyActivities<SharedActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES] },
});

// Which periods to run is decided by an activity, so the answer is in history (see activities/planning.ts).
const { listEndedPeriods } = proxyActivities<PlanningActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES] },
});

/**
 * Runs a client's periods in a date range as period workflows (their business-key ids),
 * `concurrency` at a time, skipping delivered ones unless forced, answering the `progress`
 * query, and continuing as new every PERIODS_PER_RUN periods.
 *
 * Periods are listed by the `listEndedPeriods` activity one batch per run, never all at
 * once: only periods that had ended when the backfill started, so a range reaching past
 * today is cut there (`clampedTo`), and a range of more than MAX_BACKFILL_PERIODS periods
 * fails the workflow at once (non-retryable UsageError) instead of wedging it.
 *
 * A period whose workflow is already running (a schedule, an operator's `run`) is skipped
 * when not forced: that run delivers it. When forced, the backfill waits for that run and
 * then forces the period: it tries again every `busyRetryIntervalMs` (a workflow timer),
 * `maxBusyTries` times at most; a period still busy after that counts as failed, with the
 * reason listed, because it was not forced. (Waiting rather than counting such a period as
 * "busy" keeps what --force promises: every period of the range is checked afresh.)
 */
export async function backfillReportsWorkflow(input: BackfillInput): Promise<BackfillProgress> {
  const running = new Set<LocalDate>();
  const waiting = new Set<LocalDate>();
  let state: BackfillState | undefined = input.state;
  const progress = (current: BackfillState): BackfillProgress => {
    const { after: _after, startedAt: _startedAt, ...counts } = current;
    return {
      ...counts,
      clientId: input.clientId,
      done: current.delivered + current.unchanged + current.skipped + current.failed,
      running: [...running],
      waiting: [...waiting],
    };
  };
  setHandler(backfillProgressQuery, () => {
    if (!state) throw new Error('the backfill is still listing its periods');
    return progress(state);
  });

  let batch: Awaited<ReturnType<typeof listEndedPeriods>>;
  try {
    const client = state ?? (await describeClient({ clientId: input.clientId }));
    const frequency = state?.frequency ?? input.frequency ?? client.frequency;
    const startedAt = state?.startedAt ?? Date.now();
    batch = await listEndedPeriods({
      clientId: input.clientId,
      frequency,
      timeZone: client.timeZone,
      from: input.from,
      to: input.to,
      ...(state?.after ? { after: state.after } : {}),
      limit: Math.min(Math.max(1, input.periodsPerRun ?? PERIODS_PER_RUN), MAX_BACKFILL_PERIODS),
      now: startedAt,
    });
    state ??= {
      timeZone: client.timeZone,
      frequency,
      startedAt,
      total: batch.total,
      clampedTo: batch.clampedTo,
      after: null,
      delivered: 0,
      unchanged: 0,
      skipped: 0,
      failed: 0,
      failures: [],
    };
  } catch (error) {
    if (isCancellation(error)) throw error;
    // An unknown or sandbox client, a range too large: the backfill ends here, with the reason on top.
    throw failWithRootReason(error);
  }
  const current = state;
  upsertSearchAttributes(clientSearchAttributes(input.clientId, current.frequency));
  const concurrency = Math.min(Math.max(1, input.concurrency ?? DEFAULT_BACKFILL_CONCURRENCY), MAX_BACKFILL_CONCURRENCY);
  const busyRetryIntervalMs = Math.max(1, input.busyRetryIntervalMs ?? BUSY_RETRY_INTERVAL_MS);
  const maxBusyTries = Math.max(1, input.maxBusyTries ?? MAX_BUSY_TRIES);

  const first = batch.periods[0];
  const last = batch.periods[batch.periods.length - 1];
  const alreadyDelivered = new Set(
    input.force || !first || !last ? [] : await listDeliveredPeriods({ clientId: input.clientId, frequency: current.frequency, from: first, to: last }),
  );

  const fail = (periodStart: LocalDate, reason: string) => {
    current.failed++;
    if (current.failures.length < MAX_LISTED_FAILURES) current.failures.push({ periodStart, reason });
  };

  const runPeriod = async (periodStart: LocalDate) => {
    const workflowId = periodWorkflowId(input.clientId, current.frequency, periodStart);
    running.add(periodStart);
    try {
      for (let tries = 1; ; tries++) {
        try {
          const outcome = await executeChild(reportPeriodWorkflow, {
            workflowId,
            args: [{ clientId: input.clientId, frequency: current.frequency, periodStart, force: input.force ?? false }],
            typedSearchAttributes: periodSearchAttributes(input.clientId, current.frequency, periodStart),
            workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
            parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
          });
          if (outcome.status === 'delivered') current.delivered++;
          else if (outcome.status === 'unchanged') current.unchanged++;
          else current.skipped++;
          return;
        } catch (error) {
          if (!(error instanceof WorkflowExecutionAlreadyStartedError)) return fail(periodStart, describeFailure(error));
          // Not forced: the run in progress delivers the period.
          if (!input.force) {
            current.skipped++;
            return;
          }
          if (tries >= maxBusyTries) {
            return fail(
              periodStart,
              `a run of ${workflowId} was still in progress after ${tries} tries ${busyRetryIntervalMs} ms apart; not forced (run it with \`run --force\` when that run ends)`,
            );
          }
        }
        waiting.add(periodStart);
        await sleep(busyRetryIntervalMs);
        waiting.delete(periodStart);
      }
    } finally {
      running.delete(periodStart);
    }
  };

  const inFlight: Promise<void>[] = [];
  for (const periodStart of batch.periods) {
    if (alreadyDelivered.has(periodStart)) {
      current.skipped++;
      continue;
    }
    await condition(() => running.size < concurrency);
    inFlight.push(runPeriod(periodStart));
  }
  // Children must finish before continue-as-new closes this run.
  await Promise.all(inFlight);
  current.after = last ?? current.after;

  if (batch.more) {
    await continueAsNew<typeof backfillReportsWorkflow>({ ...input, state: current });
  }
  return progress(current);
}
