/** Report periods [SPEC §3]: local days, ISO weeks and calendar months in the client's time zone. */
import { addDays, addMonths, isLocalDate, startOfIsoWeek, startOfMonth } from './local-date.js';
import { localDateOf, startOfLocalDate } from './time-zone.js';
import type { Frequency, Instant, LocalDate, Period } from './types.js';

const DAYS_PER_WEEK = 7;

function requireLocalDate(name: string, value: LocalDate): void {
  if (!isLocalDate(value)) {
    throw new RangeError(`${name} ${JSON.stringify(value)} is not a local date; allowed: a real calendar date written YYYY-MM-DD`);
  }
}

/** First local date of the period of `frequency` that contains `date`. */
function periodStart(frequency: Frequency, date: LocalDate): LocalDate {
  switch (frequency) {
    case 'daily':
      return date;
    case 'weekly':
      return startOfIsoWeek(date);
    case 'monthly':
      return startOfMonth(date);
  }
}

/** First local date after the period that starts on `start`. */
function periodEnd(frequency: Frequency, start: LocalDate): LocalDate {
  switch (frequency) {
    case 'daily':
      return addDays(start, 1);
    case 'weekly':
      return addDays(start, DAYS_PER_WEEK);
    case 'monthly':
      return addMonths(start, 1);
  }
}

/** `startInstant` may be handed in when the caller already knows it (the previous period's end). */
function buildPeriod(frequency: Frequency, start: LocalDate, timeZone: string, startInstant?: Instant): Period {
  const end = periodEnd(frequency, start);
  return {
    frequency,
    timeZone,
    start,
    end,
    lastDay: addDays(end, -1),
    startInstant: startInstant ?? startOfLocalDate(timeZone, start),
    endInstant: startOfLocalDate(timeZone, end),
  };
}

/** The period of `frequency` in `timeZone` that contains the local date `date`. */
export function periodContaining(frequency: Frequency, date: LocalDate, timeZone: string): Period {
  requireLocalDate('date', date);
  return buildPeriod(frequency, periodStart(frequency, date), timeZone);
}

/**
 * What a scheduled run delivers: the period before the one containing the local date of the
 * run's nominal (scheduled) time. A daily run delivers yesterday, a weekly run on Monday the
 * week before, a monthly run on either of the first two Saturdays the month before.
 */
export function previousPeriod(frequency: Frequency, nominalInstant: Instant, timeZone: string): Period {
  const current = periodStart(frequency, localDateOf(timeZone, nominalInstant));
  return buildPeriod(frequency, periodStart(frequency, addDays(current, -1)), timeZone);
}

/** Every period containing at least one date of the inclusive range `from`…`to`, in order (a backfill's list). */
export function periodsBetween(frequency: Frequency, from: LocalDate, to: LocalDate, timeZone: string): Period[] {
  requireLocalDate('from', from);
  requireLocalDate('to', to);
  // Fixed-width YYYY-MM-DD strings compare in calendar order.
  if (from > to) throw new RangeError(`backfill range from ${from} to ${to} is empty; allowed: from on or before to`);
  let last = buildPeriod(frequency, periodStart(frequency, from), timeZone);
  const periods = [last];
  while (last.end <= to) {
    last = buildPeriod(frequency, last.end, timeZone, last.endInstant);
    periods.push(last);
  }
  return periods;
}
