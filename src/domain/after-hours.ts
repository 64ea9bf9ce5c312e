/** The after-hours flag [SPEC §5]: validating `clients.after_hours` and classifying event times. */
import { InvalidClientSettingError, describeValue } from './errors.js';
import { isLocalDate, toEpochDay, weekdayKeyOfEpochDay } from './local-date.js';
import { MS_PER_DAY, MS_PER_MINUTE, isTimeZone, offsetSegments, parseTimeZoneSetting } from './time-zone.js';
import { WEEKDAYS, type AfterHoursSettings, type BusinessWindow, type Instant, type LocalDate, type Weekday } from './types.js';

const MINUTES_PER_HOUR = 60;
const MINUTES_PER_DAY = 24 * MINUTES_PER_HOUR;
const LAST_OPEN_MINUTE = MINUTES_PER_DAY - 1;
const FIRST_CLOSE_MINUTE = 1;
/** Exactly two digits each: `8:00` is refused rather than guessed at. */
const WALL_TIME_PATTERN = /^(\d{2}):(\d{2})$/;
const SETTING_KEYS = ['timezone', 'businessHours', 'holidays'] as const;
/**
 * Steps the classifier's cursor walks forward before it gives up and binary searches: ascending
 * input rarely crosses more than one boundary between two rows.
 */
const CURSOR_LINEAR_STEPS = 8;

const FIELD = 'after_hours';
const ALLOWED = {
  setting: 'null, or an object with "businessHours" and optionally "timezone" and "holidays" (SPEC section 5)',
  key: 'only the keys "timezone", "businessHours" and "holidays"',
  timeZone: 'an IANA time zone such as "America/Chicago" or "UTC"; leave the key out to use the client\'s timezone',
  businessHours: 'an object whose keys are "mon", "tue", "wed", "thu", "fri", "sat", "sun", each holding a list of ["HH:MM", "HH:MM"] windows',
  weekdayKey: 'only the weekdays "mon", "tue", "wed", "thu", "fri", "sat" and "sun"',
  windows: 'a list of ["HH:MM", "HH:MM"] windows such as [["08:00", "17:00"]]; an empty list or a missing weekday is closed all day',
  window: 'a pair ["HH:MM", "HH:MM"] of an open time and a close time',
  open: 'an open time "HH:MM" (two-digit hour and minute) from "00:00" to "23:59"',
  close: 'a close time "HH:MM" (two-digit hour and minute) from "00:01" to "24:00"',
  holidays: 'a list of local dates "YYYY-MM-DD"',
  holiday: 'a real calendar date written "YYYY-MM-DD"',
} as const;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Minutes after midnight of an `HH:MM` string in [min, max], or null. */
function wallMinute(value: unknown, min: number, max: number): number | null {
  if (typeof value !== 'string') return null;
  const match = WALL_TIME_PATTERN.exec(value);
  if (!match) return null;
  const hours = Number(match[1]);
  const minutes = Number(match[2]);
  if (minutes >= MINUTES_PER_HOUR) return null;
  const minute = hours * MINUTES_PER_HOUR + minutes;
  return minute >= min && minute <= max ? minute : null;
}

/** Sorted by open time, overlapping and touching windows merged: the same open minutes, one way to write them. */
function normalizeWindows(windows: BusinessWindow[]): BusinessWindow[] {
  const sorted = [...windows].sort((a, b) => a.openMinute - b.openMinute || a.closeMinute - b.closeMinute);
  const merged: BusinessWindow[] = [];
  for (const window of sorted) {
    const last = merged.at(-1);
    if (last !== undefined && window.openMinute <= last.closeMinute) {
      merged[merged.length - 1] = { openMinute: last.openMinute, closeMinute: Math.max(last.closeMinute, window.closeMinute) };
    } else {
      merged.push(window);
    }
  }
  return merged;
}

function parseWindows(clientId: string, weekday: Weekday, raw: unknown): BusinessWindow[] {
  const field = `${FIELD}.businessHours.${weekday}`;
  if (!Array.isArray(raw)) throw new InvalidClientSettingError(clientId, field, describeValue(raw), ALLOWED.windows);
  const windows = raw.map((pair: unknown, index): BusinessWindow => {
    const pairField = `${field}[${index}]`;
    if (!Array.isArray(pair) || pair.length !== 2) throw new InvalidClientSettingError(clientId, pairField, describeValue(pair), ALLOWED.window);
    const [open, close] = pair as [unknown, unknown];
    const openMinute = wallMinute(open, 0, LAST_OPEN_MINUTE);
    if (openMinute === null) throw new InvalidClientSettingError(clientId, `${pairField}[0]`, describeValue(open), ALLOWED.open);
    const closeMinute = wallMinute(close, FIRST_CLOSE_MINUTE, MINUTES_PER_DAY);
    if (closeMinute === null) throw new InvalidClientSettingError(clientId, `${pairField}[1]`, describeValue(close), ALLOWED.close);
    if (closeMinute <= openMinute) {
      throw new InvalidClientSettingError(clientId, `${pairField}[1]`, describeValue(close), `a close time after the open time ${describeValue(open)}, at most "24:00" (a window cannot run past midnight)`);
    }
    return { openMinute, closeMinute };
  });
  return normalizeWindows(windows);
}

function parseBusinessHours(clientId: string, raw: unknown): Record<Weekday, readonly BusinessWindow[]> {
  const field = `${FIELD}.businessHours`;
  if (!isPlainObject(raw)) throw new InvalidClientSettingError(clientId, field, describeValue(raw), ALLOWED.businessHours);
  const unknownKey = Object.keys(raw).find((key) => !(WEEKDAYS as readonly string[]).includes(key));
  if (unknownKey !== undefined) {
    throw new InvalidClientSettingError(clientId, `${field}.${unknownKey}`, describeValue(raw[unknownKey]), ALLOWED.weekdayKey);
  }
  const hours = {} as Record<Weekday, readonly BusinessWindow[]>;
  for (const weekday of WEEKDAYS) {
    hours[weekday] = raw[weekday] === undefined ? [] : parseWindows(clientId, weekday, raw[weekday]);
  }
  return hours;
}

function parseHolidays(clientId: string, raw: unknown): LocalDate[] {
  const field = `${FIELD}.holidays`;
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new InvalidClientSettingError(clientId, field, describeValue(raw), ALLOWED.holidays);
  raw.forEach((date: unknown, index) => {
    if (typeof date !== 'string' || !isLocalDate(date)) {
      throw new InvalidClientSettingError(clientId, `${field}[${index}]`, describeValue(date), ALLOWED.holiday);
    }
  });
  return [...new Set(raw as string[])].sort();
}

/**
 * Validates a client's `after_hours` value [§5]. Null (or absent) means no after-hours flag.
 * The first problem found is thrown as InvalidClientSettingError naming the exact field.
 * Windows come back sorted with overlapping and touching ones merged.
 */
export function parseAfterHours(clientId: string, raw: unknown, clientTimeZone: string): AfterHoursSettings | null {
  if (raw === null || raw === undefined) return null;
  if (!isPlainObject(raw)) throw new InvalidClientSettingError(clientId, FIELD, describeValue(raw), ALLOWED.setting);
  const unknownKey = Object.keys(raw).find((key) => !(SETTING_KEYS as readonly string[]).includes(key));
  if (unknownKey !== undefined) {
    throw new InvalidClientSettingError(clientId, `${FIELD}.${unknownKey}`, describeValue(raw[unknownKey]), ALLOWED.key);
  }
  let timeZone = clientTimeZone;
  if (raw.timezone !== undefined) {
    timeZone = parseTimeZoneSetting(clientId, `${FIELD}.timezone`, raw.timezone, ALLOWED.timeZone);
  } else if (!isTimeZone(clientTimeZone)) {
    // The windows would be read in the client's zone, so it must be a real one.
    throw new InvalidClientSettingError(clientId, 'timezone', describeValue(clientTimeZone), 'an IANA time zone such as "America/Chicago" or "UTC"');
  }
  return {
    timeZone,
    businessHours: parseBusinessHours(clientId, raw.businessHours),
    holidays: parseHolidays(clientId, raw.holidays),
  };
}

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
