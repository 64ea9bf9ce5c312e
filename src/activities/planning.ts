/**
 * Which periods to run, decided in activities rather than in workflow code: periods come
 * from the client's time zone, and time-zone data (Intl, ICU) can change with a Node
 * upgrade. An activity's result is recorded in history, so a replay sees the same periods.
 */
import { MAX_BACKFILL_PERIODS, assertBackfillRange, countPeriods } from '../domain/backfill-range.js';
import { InvalidClientSettingError, UsageError, describeValue } from '../domain/errors.js';
import { isLocalDate } from '../domain/local-date.js';
import { periodContaining, previousPeriod } from '../domain/periods.js';
import { isTimeZone } from '../domain/time-zone.js';
import type { Frequency, Instant, LocalDate } from '../domain/types.js';

export interface ListEndedPeriodsInput {
  readonly clientId: string;
  readonly frequency: Frequency;
  readonly timeZone: string;
  /** Inclusive local dates; every period touching the range counts. */
  readonly from: LocalDate;
  readonly to: LocalDate;
  /** Start of the last period already listed; absent for the first batch. */
  readonly after?: LocalDate;
  /** Most periods to list in this batch. */
  readonly limit: number;
  /** Periods that had ended by this instant are listed; a backfill passes its start, so every batch agrees. */
  readonly now: Instant;
}

export interface EndedPeriods {
  /** Starts of the next periods, in order, after `after`. */
  readonly periods: LocalDate[];
  /** True when ended periods of the range remain after this batch. */
  readonly more: boolean;
  /** Ended periods in the whole range. */
  readonly total: number;
  /** When the range reaches past the last ended period: that period's last day (later periods are left out); else null. */
  readonly clampedTo: LocalDate | null;
}

export interface PeriodBeforeInput {
  readonly clientId: string;
  readonly frequency: Frequency;
  /** The scheduled (nominal) time of a run. */
  readonly nominalTime: Instant;
  readonly timeZone: string;
}

function requireTimeZone(clientId: string, timeZone: string): void {
  // Intl would throw a RangeError, which is retried; a bad zone never gets better.
  if (!isTimeZone(timeZone)) throw new InvalidClientSettingError(clientId, 'timezone', describeValue(timeZone), 'an IANA time zone such as "Europe/Berlin"');
}

/** The planning steps; pure calendar and time-zone work, so they need nothing from the worker. */
export function createPlanningActivities() {
  return {
    /**
     * The next batch of a backfill's periods: at most `limit` period starts after `after`,
     * among the periods touching `from`…`to` that had ended by `now`. Refuses a range over
     * MAX_BACKFILL_PERIODS before listing anything.
     */
    async listEndedPeriods(input: ListEndedPeriodsInput): Promise<EndedPeriods> {
      const { frequency, timeZone } = input;
      assertBackfillRange(frequency, input.from, input.to);
      requireTimeZone(input.clientId, timeZone);
      if (!Number.isSafeInteger(input.limit) || input.limit < 1 || input.limit > MAX_BACKFILL_PERIODS) {
        throw new UsageError(`limit is ${describeValue(input.limit)}; allowed: a whole number from 1 to ${MAX_BACKFILL_PERIODS}`);
      }
      if (input.after !== undefined && !isLocalDate(input.after)) {
        throw new UsageError(`after is ${describeValue(input.after)}; allowed: a calendar date YYYY-MM-DD`);
      }
      const lastEnded = previousPeriod(frequency, input.now, timeZone);
      const first = periodContaining(frequency, input.from, timeZone).start;
      const inRange = periodContaining(frequency, input.to, timeZone).start;
      // Fixed-width YYYY-MM-DD strings compare in calendar order.
      const last = inRange < lastEnded.start ? inRange : lastEnded.start;
      const periods: LocalDate[] = [];
      let next = input.after === undefined ? first : periodContaining(frequency, input.after, timeZone).end;
      while (periods.length < input.limit && next <= last) {
        periods.push(next);
        next = periodContaining(frequency, next, timeZone).end;
      }
      return {
        periods,
        more: next <= last,
        total: first <= last ? countPeriods(frequency, first, last) : 0,
        clampedTo: input.to > lastEnded.lastDay ? lastEnded.lastDay : null,
      };
    },

    /** What a scheduled run delivers: the start of the period before the one containing its nominal time's local date. */
    async periodBefore(input: PeriodBeforeInput): Promise<LocalDate> {
      requireTimeZone(input.clientId, input.timeZone);
      return previousPeriod(input.frequency, input.nominalTime, input.timeZone).start;
    },
  };
}

export type PlanningActivities = ReturnType<typeof createPlanningActivities>;
