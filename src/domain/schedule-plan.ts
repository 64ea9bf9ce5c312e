/**
 * When each frequency's schedule fires, in the client's zone [SPEC §7]: daily runs deliver
 * the previous day, weekly runs (Monday) the previous week, monthly runs (first and second
 * Saturday) the previous month. Plain data shaped like Temporal's calendar specs.
 */
import type { Frequency } from './types.js';

export interface LocalTimeOfDay {
  readonly hour: number;
  readonly minute: number;
}

export interface CalendarPlan {
  readonly hour: number;
  readonly minute: number;
  readonly dayOfWeek?: 'MONDAY' | 'SATURDAY';
  readonly dayOfMonth?: { readonly start: number; readonly end: number };
  readonly comment: string;
}

/** Days 1–14 that are Saturdays: the first and the second Saturday of every month. */
const FIRST_TWO_WEEKS = { start: 1, end: 14 } as const;

export function calendarFor(frequency: Frequency, time: LocalTimeOfDay): CalendarPlan {
  switch (frequency) {
    case 'daily':
      return { ...time, comment: 'every day: the previous day' };
    case 'weekly':
      return { ...time, dayOfWeek: 'MONDAY', comment: 'every Monday: the previous ISO week' };
    case 'monthly':
      return {
        ...time,
        dayOfWeek: 'SATURDAY',
        dayOfMonth: FIRST_TWO_WEEKS,
        comment: 'first and second Saturday: the previous month (the second run does nothing when the first delivered)',
      };
  }
}
