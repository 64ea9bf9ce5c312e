/**
 * When a period's file is due and when its scheduled run should have started, in the client's
 * time zone. Pure: the watchdog and the `problems` command compare these with the ledger.
 *
 * A due time is written `+N HH:MM`: local time HH:MM on the N-th day after the period's end
 * date (the first local date after the period). `+0 09:00` for a daily period of 2026-11-30 is
 * 2026-12-01 09:00 in the client's zone; for the November monthly period `+7 09:00` is
 * 2026-12-08 09:00.
 */
import { InvalidClientSettingError, describeValue } from './errors.js';
import { addDays, isoWeekday } from './local-date.js';
import type { LocalTimeOfDay } from './schedule-plan.js';
import { MS_PER_MINUTE, localTimeInstant } from './time-zone.js';
import type { Frequency, Instant, Period } from './types.js';

/** A validated due time: `daysAfterEnd` days after the period's end date, at `minuteOfDay` local. */
export interface DueTime {
  readonly daysAfterEnd: number;
  /** Minutes after local midnight, 0…1439. */
  readonly minuteOfDay: number;
}

/** Longest a due time may lie after a period's end: a month, so a mistyped `+300` is refused. */
export const MAX_DUE_DAYS_AFTER_END = 31;

const MINUTES_PER_HOUR = 60;
const DUE_PATTERN = /^\+(\d{1,2}) ([01]\d|2[0-3]):([0-5]\d)$/;
export const DUE_ALLOWED = `"+N HH:MM": local time HH:MM (00:00…23:59) on the N-th day (0…${MAX_DUE_DAYS_AFTER_END}) after the period's end date, e.g. "+0 09:00"`;

/**
 * Defaults per frequency: daily and weekly files are due the morning their schedule runs
 * (03:00 by default), monthly files a week after the month ends, because the monthly schedule
 * runs on the month's first Saturday, which may be its 7th.
 */
export const DEFAULT_DUE_TIMES: Readonly<Record<Frequency, DueTime>> = {
  daily: { daysAfterEnd: 0, minuteOfDay: 9 * MINUTES_PER_HOUR },
  weekly: { daysAfterEnd: 0, minuteOfDay: 9 * MINUTES_PER_HOUR },
  monthly: { daysAfterEnd: 7, minuteOfDay: 9 * MINUTES_PER_HOUR },
};

/** `+N HH:MM` into a DueTime, or null when it is not one. */
export function parseDueTime(text: string): DueTime | null {
  const match = DUE_PATTERN.exec(text);
  if (!match) return null;
  const daysAfterEnd = Number(match[1]);
  if (daysAfterEnd > MAX_DUE_DAYS_AFTER_END) return null;
  return { daysAfterEnd, minuteOfDay: Number(match[2]) * MINUTES_PER_HOUR + Number(match[3]) };
}

/** A client's `due` setting: null (the frequency's default) or a `+N HH:MM` text. */
export function parseDueSetting(clientId: string, value: unknown): DueTime | null {
  if (value === null || value === undefined) return null;
  const due = typeof value === 'string' ? parseDueTime(value) : null;
  if (!due) throw new InvalidClientSettingError(clientId, 'due', describeValue(value), `${DUE_ALLOWED}, or nothing for the frequency's default`);
  return due;
}

export function formatDueTime(due: DueTime): string {
  const hour = Math.floor(due.minuteOfDay / MINUTES_PER_HOUR);
  return `+${due.daysAfterEnd} ${String(hour).padStart(2, '0')}:${String(due.minuteOfDay % MINUTES_PER_HOUR).padStart(2, '0')}`;
}

/** When the period's file is due. */
export function dueInstant(period: Period, due: DueTime): Instant {
  return localTimeInstant(period.timeZone, addDays(period.end, due.daysAfterEnd), due.minuteOfDay);
}

const MONDAY = 1;
const SATURDAY = 6;

/**
 * When the client's schedule first fires for the period: the period's end date (daily), the
 * Monday that is its end date (weekly), or the first Saturday on or after its end date
 * (monthly), at the schedule's local time [SPEC §7]. Mirrors calendarFor in schedule-plan.ts.
 */
export function firstScheduledRun(period: Period, time: LocalTimeOfDay): Instant {
  let date = period.end;
  const wanted = period.frequency === 'weekly' ? MONDAY : period.frequency === 'monthly' ? SATURDAY : null;
  while (wanted !== null && isoWeekday(date) !== wanted) date = addDays(date, 1);
  return localTimeInstant(period.timeZone, date, time.hour * MINUTES_PER_HOUR + time.minute);
}

/**
 * How long after its first scheduled run a period with no run counts as missing. A schedule
 * starts its workflow within seconds; the margin covers a Temporal restart's catch-up.
 */
export const MISSING_AFTER_MS = 30 * MS_PER_MINUTE;
