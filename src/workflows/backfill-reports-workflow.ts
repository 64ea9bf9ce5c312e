import {
  condition,
  continueAsNew,
  defineQuery,
  executeChild,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Activities } from '../activities/index.js';
import { NON_RETRYABLE_ERROR_TYPES } from '../domain/errors.js';
import { periodsBetween } from '../domain/periods.js';
import type { Frequency, LocalDate } from '../domain/types.js';
import { periodWorkflowId } from '../domain/workflow-ids.js';
import { describeFailure } from './failures.js';
import { reportPeriodWorkflow } from './report-period-workflow.js';
import { clientSearchAttributes, periodSearchAttributes } from './search-attributes.js';

export interface BackfillInput {
  readonly clientId: string;
  /** Inclusive local dates; every period touching the range that has ended is run. */
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
  readonly total: number;
  /** Index of the first period not yet handled. */
  nextIndex: number;
  delivered: number;
  unchanged: number;
  /** Already delivered (not forced), or being run by someone else right now. */
  skipped: number;
  failed: number;
  /** The first failures, for the summary; all of them are visible in the UI as failed period workflows. */
  failures: BackfillFailure[];
}

export interface BackfillProgress extends Omit<BackfillState, 'nextIndex' | 'startedAt'> {
  readonly clientId: string;
  readonly done: number;
  /** Period starts in flight now. */
  readonly running: LocalDate[];
}

export const backfillProgressQuery = defineQuery<BackfillProgress>('progress');

export const DEFAULT_BACKFILL_CONCURRENCY = 4;
export const MAX_BACKFILL_CONCURRENCY = 64;
/** Periods handled per workflow run before continuing as new, so a multi-year backfill's history stays small. */
export const PERIODS_PER_RUN = 100;
const MAX_LISTED_FAILURES = 50;

const { describeClient, listDeliveredPeriods } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES] },
});

async function initialState(input: BackfillInput): Promise<BackfillState> {
  const client = await describeClient({ clientId: input.clientId });
  const frequency = input.frequency ?? client.frequency;
  return {
    timeZone: client.timeZone,
    frequency,
    startedAt: Date.now(),
    total: endedPeriods(frequency, input.from, input.to, client.timeZone, Date.now()).length,
    nextIndex: 0,
    delivered: 0,
    unchanged: 0,
    skipped: 0,
    failed: 0,
    failures: [],
  };
}

/** Periods of the range that have ended when the backfill starts; later ones would be partial files. */
function endedPeriods(frequency: Frequency, from: LocalDate, to: LocalDate, timeZone: string, now: number) {
  return periodsBetween(frequency, from, to, timeZone).filter((period) => period.endInstant <= now);
}

/**
 * Runs a client's periods in a date range as period workflows (their business-key ids),
 * `concurrency` at a time, skipping delivered ones unless forced, answering the `progress`
 * query, and continuing as new every PERIODS_PER_RUN periods.
 */
export async function backfillReportsWorkflow(input: BackfillInput): Promise<BackfillProgress> {
  const state = input.state ?? (await initialState(input));
  const concurrency = Math.min(Math.max(1, input.concurrency ?? DEFAULT_BACKFILL_CONCURRENCY), MAX_BACKFILL_CONCURRENCY);
  const running = new Set<LocalDate>();
  const progress = (): BackfillProgress => {
    const { nextIndex: _nextIndex, startedAt: _startedAt, ...counts } = state;
    return { ...counts, clientId: input.clientId, done: state.delivered + state.unchanged + state.skipped + state.failed, running: [...running] };
  };
  setHandler(backfillProgressQuery, progress);
  upsertSearchAttributes(clientSearchAttributes(input.clientId, state.frequency));

  const periods = endedPeriods(state.frequency, input.from, input.to, state.timeZone, state.startedAt);
  const batch = periods.slice(state.nextIndex, state.nextIndex + Math.max(1, input.periodsPerRun ?? PERIODS_PER_RUN));
  const first = batch[0];
  const last = batch[batch.length - 1];
  const alreadyDelivered = new Set(
    input.force || !first || !last ? [] : await listDeliveredPeriods({ clientId: input.clientId, frequency: state.frequency, from: first.start, to: last.start }),
  );

  const runPeriod = async (periodStart: LocalDate) => {
    running.add(periodStart);
    try {
      const outcome = await executeChild(reportPeriodWorkflow, {
        workflowId: periodWorkflowId(input.clientId, state.frequency, periodStart),
        args: [{ clientId: input.clientId, frequency: state.frequency, periodStart, force: input.force ?? false }],
        typedSearchAttributes: periodSearchAttributes(input.clientId, state.frequency, periodStart),
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      });
      if (outcome.status === 'delivered') state.delivered++;
      else if (outcome.status === 'unchanged') state.unchanged++;
      else state.skipped++;
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError) {
        state.skipped++;
      } else {
        state.failed++;
        if (state.failures.length < MAX_LISTED_FAILURES) state.failures.push({ periodStart, reason: describeFailure(error) });
      }
    } finally {
      running.delete(periodStart);
    }
  };

  const inFlight: Promise<void>[] = [];
  for (const period of batch) {
    if (alreadyDelivered.has(period.start)) {
      state.skipped++;
      continue;
    }
    await condition(() => running.size < concurrency);
    inFlight.push(runPeriod(period.start));
  }
  // Children must finish before continue-as-new closes this run.
  await Promise.all(inFlight);
  state.nextIndex += batch.length;

  if (state.nextIndex < periods.length) {
    await continueAsNew<typeof backfillReportsWorkflow>({ ...input, state });
  }
  return progress();
}
