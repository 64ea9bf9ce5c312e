/**
 * The watchdog's judgement of one period, and which notification a change of it sends. Pure:
 * the facts come from the ledger and Temporal, the time from the caller.
 *
 * States, first match wins:
 * - delivered: a revision of the period is on the client's server (by any path).
 * - failed: the newest run failed or was cancelled, and nothing was delivered since.
 * - late: past the due time, not delivered, a run still trying (or none started, and the
 *   schedule's first run is not yet overdue).
 * - running: a run is trying, before the due time.
 * - missing: no run ever started although the schedule should have started one
 *   (MISSING_AFTER_MS after its first run time): a paused, deleted or skipped schedule.
 * - not_yet_due: none of the above yet.
 */
import { MISSING_AFTER_MS, dueInstant, firstScheduledRun, type DueTime } from './deadlines.js';
import type { LocalTimeOfDay } from './schedule-plan.js';
import type { Instant, Period } from './types.js';

export const PERIOD_STATES = ['not_yet_due', 'running', 'delivered', 'late', 'missing', 'failed'] as const;
export type PeriodState = (typeof PERIOD_STATES)[number];

/** States that need an operator (or, for late, attention); a period recovers from them when delivered. */
export const PROBLEM_STATES = ['late', 'missing', 'failed'] as const;
export type ProblemState = (typeof PROBLEM_STATES)[number];

export function isProblemState(state: PeriodState): state is ProblemState {
  return (PROBLEM_STATES as readonly string[]).includes(state);
}

export interface DeliveredFact {
  readonly revision: number;
  readonly deliveredAt: Instant;
  readonly fileName: string;
  readonly rowCount: number;
  readonly sha256: string;
}

/** The period's newest run, from the ledger, corrected by Temporal where the ledger cannot know (a terminated workflow). */
export interface RunFact {
  /** finished: ended without failing (delivered, unchanged or skipped). */
  readonly status: 'running' | 'failed' | 'cancelled' | 'finished';
  readonly workflowId: string;
  readonly startedAt: Instant;
  readonly finishedAt: Instant | null;
  readonly error: string | null;
}

export interface PeriodFacts {
  readonly period: Period;
  readonly delivered: DeliveredFact | null;
  readonly lastRun: RunFact | null;
}

export interface WatchRules {
  readonly due: DueTime;
  /** The local time the client's schedule runs at. */
  readonly scheduleTime: LocalTimeOfDay;
}

export interface PeriodAssessment {
  readonly state: PeriodState;
  /** When the period entered the state. */
  readonly since: Instant;
  readonly dueAt: Instant;
  /** The failed run's error (failed only). */
  readonly error: string | null;
  readonly workflowId: string | null;
}

export function assessPeriod(facts: PeriodFacts, rules: WatchRules, now: Instant): PeriodAssessment {
  const dueAt = dueInstant(facts.period, rules.due);
  const run = facts.lastRun;
  const workflowId = run?.workflowId ?? null;
  const judged = (state: PeriodState, since: Instant, error: string | null = null): PeriodAssessment => ({ state, since, dueAt, error, workflowId });
  if (facts.delivered) return judged('delivered', facts.delivered.deliveredAt);
  if (run?.status === 'failed' || run?.status === 'cancelled')
    return judged('failed', run.finishedAt ?? run.startedAt, run.error ?? `the run was ${run.status}`);
  // Finished without a delivered file cannot happen by the protocol; show it rather than hide it.
  if (run?.status === 'finished') return judged('failed', run.finishedAt ?? run.startedAt, 'the run finished but the ledger has no delivered file');
  if (run) return now >= dueAt ? judged('late', dueAt) : judged('running', run.startedAt);
  const missingAt = firstScheduledRun(facts.period, rules.scheduleTime) + MISSING_AFTER_MS;
  if (now >= missingAt) return judged('missing', missingAt);
  if (now >= dueAt) return judged('late', dueAt);
  return judged('not_yet_due', facts.period.endInstant);
}

/** What the watchdog last recorded for a period. */
export interface RecordedState {
  readonly state: PeriodState;
  /** The last problem state since the period was last delivered; a delivery then recovers from it. */
  readonly lastProblem: ProblemState | null;
}

export type NotificationType = 'period.delivered' | 'period.failed' | 'period.late' | 'period.missing' | 'period.recovered';

export interface StateChange {
  readonly next: RecordedState;
  /** The notification this change sends, with the key naming the change (its event id derives from it); null: none. */
  readonly notify: { readonly type: NotificationType; readonly change: string; readonly previousProblem: ProblemState | null } | null;
}

/**
 * The recorded state after an assessment, and the notification it sends: one per change of
 * state, never one for staying in a state. A period first seen delivered notifies only when
 * `announceDelivered` (it was delivered after the watchdog began watching its client), so
 * starting the watchdog on an old installation does not replay its history. `late` is not
 * sent for a period an operator was already told about (a rerun after a failure running past
 * the due time).
 */
export function decideChange(
  previous: RecordedState | null,
  assessment: PeriodAssessment,
  announceDelivered: boolean,
  revision: number | null,
): StateChange | null {
  if (previous?.state === assessment.state) return null;
  const lastProblem = previous?.lastProblem ?? null;
  const change = `${assessment.state}@${new Date(assessment.since).toISOString()}`;
  switch (assessment.state) {
    case 'delivered': {
      const next: RecordedState = { state: 'delivered', lastProblem: null };
      const key = `r${revision ?? 0}`;
      if (lastProblem) return { next, notify: { type: 'period.recovered', change: key, previousProblem: lastProblem } };
      return { next, notify: previous || announceDelivered ? { type: 'period.delivered', change: key, previousProblem: null } : null };
    }
    case 'failed':
    case 'missing':
      return {
        next: { state: assessment.state, lastProblem: assessment.state },
        notify: { type: `period.${assessment.state}`, change, previousProblem: lastProblem },
      };
    case 'late':
      return {
        next: { state: 'late', lastProblem: lastProblem ?? 'late' },
        notify: lastProblem ? null : { type: 'period.late', change, previousProblem: null },
      };
    case 'running':
    case 'not_yet_due':
      return { next: { state: assessment.state, lastProblem }, notify: null };
  }
}
