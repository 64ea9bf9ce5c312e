/** The after-hours flag [SPEC §5]: classifying event times against a client's business hours. */
import { businessIntervals } from './business-intervals.js';
import type { AfterHoursSettings, Instant } from './types.js';

/**
 * Steps the classifier's cursor walks forward before it gives up and binary searches: ascending
 * input rarely crosses more than one boundary between two rows.
 */
const CURSOR_LINEAR_STEPS = 8;

/** Number of sorted `bounds` at or before `time`, searching only from index `low` on. */
function countAtOrBefore(bounds: readonly string[], time: string, low: number): number {
  let high = bounds.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((bounds[middle] as string) <= time) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * Builds the per-row after-hours test for one period `[from, to)`. The returned function takes
 * an event time formatted exactly like `2026-11-24T13:05:22.123Z` (UTC, milliseconds) inside
 * `[from, to)` and returns true when the event is after hours; with null settings, always false.
 *
 * It runs once per exported row, so it never parses a date: the business intervals are
 * computed once and their bounds turned into the same fixed-width ISO form, whose string
 * order is time order. A cursor makes ascending input O(1) amortized; any other order falls
 * back to binary search.
 */
export function createAfterHoursClassifier(settings: AfterHoursSettings | null, from: Instant, to: Instant): (eventTimeIso: string) => boolean {
  if (settings === null) return () => false;
  // Merged intervals never touch, so the bounds strictly increase: start0 < end0 < start1 < …
  const bounds = businessIntervals(settings, from, to).flatMap(({ start, end }) => [new Date(start).toISOString(), new Date(end).toISOString()]);
  const boundCount = bounds.length;
  /** Bounds at or before the previous event; an odd count means inside an interval. */
  let cursor = 0;
  return (eventTimeIso: string): boolean => {
    if (cursor > 0 && eventTimeIso < (bounds[cursor - 1] as string)) {
      cursor = countAtOrBefore(bounds, eventTimeIso, 0);
    } else {
      let steps = 0;
      while (cursor < boundCount && (bounds[cursor] as string) <= eventTimeIso) {
        cursor += 1;
        steps += 1;
        if (steps === CURSOR_LINEAR_STEPS) {
          cursor = countAtOrBefore(bounds, eventTimeIso, cursor);
          break;
        }
      }
    }
    return cursor % 2 === 0;
  };
}
