/**
 * A repair's backfills: the periods to run, grouped into ranges of consecutive periods, so each
 * backfill runs exactly those periods and none between them.
 */
import { periodContaining } from './periods.js';
import type { Frequency, LocalDate } from './types.js';

export interface RepairRange {
  readonly frequency: Frequency;
  /** First day of the first period. */
  readonly from: LocalDate;
  /** Last day of the last period. */
  readonly to: LocalDate;
  readonly periodStarts: readonly LocalDate[];
}

/** Ranges of consecutive periods among `periodStarts` (any order, duplicates ignored), in date order. */
export function repairRanges(frequency: Frequency, periodStarts: readonly LocalDate[]): RepairRange[] {
  // Local dates only: the time zone does not change which dates a period covers.
  const periods = [...new Set(periodStarts)].sort().map((start) => periodContaining(frequency, start, 'UTC'));
  const ranges: { from: LocalDate; to: LocalDate; end: LocalDate; periodStarts: LocalDate[] }[] = [];
  for (const period of periods) {
    const last = ranges.at(-1);
    if (last && last.end === period.start) {
      last.to = period.lastDay;
      last.end = period.end;
      last.periodStarts.push(period.start);
    } else {
      ranges.push({ from: period.start, to: period.lastDay, end: period.end, periodStarts: [period.start] });
    }
  }
  return ranges.map(({ from, to, periodStarts: starts }) => ({ frequency, from, to, periodStarts: starts }));
}
