/**
 * How large a backfill may be. Counting periods is calendar arithmetic on local dates only
 * (no time zone), so the CLI can refuse a range before anything starts.
 */
import { UsageError, describeValue } from './errors.js';
import { isLocalDate, startOfIsoWeek, toEpochDay } from './local-date.js';
import type { Frequency, LocalDate } from './types.js';

/**
 * Most periods one backfill may cover: over 27 years of days, and far more weeks and months
 * than there are events. A larger range is a typo (`--to 9999-12-31`) or a job to split; a
 * backfill of it would only keep the workers busy listing periods.
 */
export const MAX_BACKFILL_PERIODS = 10_000;

const DAYS_PER_WEEK = 7;
const MONTHS_PER_YEAR = 12;

function monthIndex(date: LocalDate): number {
  return Number(date.slice(0, 4)) * MONTHS_PER_YEAR + Number(date.slice(5, 7));
}

/** How many periods of `frequency` touch the inclusive range `from`…`to` (both valid local dates, from ≤ to). */
export function countPeriods(frequency: Frequency, from: LocalDate, to: LocalDate): number {
  switch (frequency) {
    case 'daily':
      return toEpochDay(to) - toEpochDay(from) + 1;
    case 'weekly':
      return (toEpochDay(startOfIsoWeek(to)) - toEpochDay(startOfIsoWeek(from))) / DAYS_PER_WEEK + 1;
    case 'monthly':
      return monthIndex(to) - monthIndex(from) + 1;
  }
}

/**
 * Refuses a backfill range that is not two dates in order or covers more than
 * MAX_BACKFILL_PERIODS periods. UsageError: the CLI exits 2, a workflow fails without retrying.
 */
export function assertBackfillRange(frequency: Frequency, from: LocalDate, to: LocalDate): void {
  for (const [name, value] of [
    ['from', from],
    ['to', to],
  ] as const) {
    if (!isLocalDate(value)) throw new UsageError(`--${name} is ${describeValue(value)}; allowed: a calendar date YYYY-MM-DD`);
  }
  if (from > to) throw new UsageError(`--from ${from} is after --to ${to}; allowed: --from on or before --to`);
  const periods = countPeriods(frequency, from, to);
  if (periods > MAX_BACKFILL_PERIODS) {
    throw new UsageError(
      `--from ${from} --to ${to} covers ${periods} ${frequency} periods; allowed: at most ${MAX_BACKFILL_PERIODS} periods in one backfill (split the range)`,
    );
  }
}
