/** The after-hours flag [SPEC §5]: classifying event times against a client's business hours. */
import { businessIntervals } from './business-intervals.js';
import type { AfterHoursSettings, Instant } from './types.js';

/**
 * Steps the classifier's cursor walks forward before it gives up and binary searches: ascending
 * input rarely crosses more than one boundary between two rows.
 */
const CURSOR_LINEAR_STEPS = 8;

/** Number of sorted `bounds` at or before `time`, searching only from index `low` on. */
function countAtOrBefore(bounds: Float64Array, time: number, low: number): number {
  let high = bounds.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((bounds[middle] as number) <= time) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * Builds the per-row after-hours test for one period `[from, to)`. The returned function takes
 * an event's instant (milliseconds since the epoch) inside `[from, to)` and returns true when
 * the event is after hours; with null settings, always false. An unknown time (NaN) counts as
 * after hours, as a time before every business interval does.
 *
 * It runs once per exported row, so the business intervals are computed once, as a sorted
 * array of their bounds. A cursor makes ascending input O(1) amortized; any other order falls
 * back to binary search.
 */
export function createAfterHoursClassifier(settings: AfterHoursSettings | null, from: Instant, to: Instant): (eventTime: Instant) => boolean {
  if (settings === null) return () => false;
  // Merged intervals never touch, so the bounds strictly increase: start0 < end0 < start1 < …
  const bounds = Float64Array.from(businessIntervals(settings, from, to).flatMap(({ start, end }) => [start, end]));
  const boundCount = bounds.length;
  /** Bounds at or before the previous event; an odd count means inside an interval. */
  let cursor = 0;
  return (eventTime: Instant): boolean => {
    if (Number.isNaN(eventTime)) return true;
    if (cursor > 0 && eventTime < (bounds[cursor - 1] as number)) {
      cursor = countAtOrBefore(bounds, eventTime, 0);
    } else {
      let steps = 0;
      while (cursor < boundCount && (bounds[cursor] as number) <= eventTime) {
        cursor += 1;
        steps += 1;
        if (steps === CURSOR_LINEAR_STEPS) {
          cursor = countAtOrBefore(bounds, eventTime, cursor);
          break;
        }
      }
    }
    return cursor % 2 === 0;
  };
}
