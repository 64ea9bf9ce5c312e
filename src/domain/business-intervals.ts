/** The instants of a range that are inside business hours [SPEC §5], as merged intervals. */
import { toEpochDay, weekdayKeyOfEpochDay } from './local-date.js';
import { MS_PER_DAY, MS_PER_MINUTE, offsetSegments } from './time-zone.js';
import type { AfterHoursSettings, Instant } from './types.js';

/** A half-open interval of instants, `[start, end)`. */
export interface Interval {
  start: Instant;
  end: Instant;
}

/**
 * Exactly the instants of `[from, to)` whose local wall-clock time in `settings.timeZone` lies
 * inside a window of its local weekday on a local date that is not a holiday: sorted, merged
 * (no two touch), clipped to `[from, to)`.
 *
 * Within one offset segment local time is instant + offset, a strictly increasing map, so each
 * window of each local date maps to at most one interval per segment. Local times a spring-
 * forward skips fall in no segment; local times a fall-back repeats are counted in each
 * segment they occur in, so the repeated hour is inside exactly when its wall time is.
 */
export function businessIntervals(settings: AfterHoursSettings, from: Instant, to: Instant): Interval[] {
  const holidays = new Set(settings.holidays.map(toEpochDay));
  const pieces: Interval[] = [];
  for (const segment of offsetSegments(settings.timeZone, from, to)) {
    const offset = segment.offsetMs;
    const firstDay = Math.floor((segment.start + offset) / MS_PER_DAY);
    const lastDay = Math.floor((segment.end - 1 + offset) / MS_PER_DAY);
    for (let day = firstDay; day <= lastDay; day += 1) {
      if (holidays.has(day)) continue;
      const midnightInstant = day * MS_PER_DAY - offset;
      for (const window of settings.businessHours[weekdayKeyOfEpochDay(day)]) {
        const start = Math.max(segment.start, midnightInstant + window.openMinute * MS_PER_MINUTE);
        const end = Math.min(segment.end, midnightInstant + window.closeMinute * MS_PER_MINUTE);
        if (start < end) pieces.push({ start, end });
      }
    }
  }
  pieces.sort((a, b) => a.start - b.start || a.end - b.end);
  const merged: Interval[] = [];
  for (const piece of pieces) {
    const last = merged.at(-1);
    if (last !== undefined && piece.start <= last.end) last.end = Math.max(last.end, piece.end);
    else merged.push({ ...piece });
  }
  return merged;
}
