/** Validation of a client's `after_hours` setting [SPEC §5] into AfterHoursSettings. */
import { InvalidClientSettingError, describeValue } from './errors.js';
import { isLocalDate } from './local-date.js';
import { isTimeZone, parseTimeZoneSetting } from './time-zone.js';
import { WEEKDAYS, type AfterHoursSettings, type BusinessWindow, type LocalDate, type Weekday } from './types.js';

const MINUTES_PER_HOUR = 60;
const MINUTES_PER_DAY = 24 * MINUTES_PER_HOUR;
const LAST_OPEN_MINUTE = MINUTES_PER_DAY - 1;
const FIRST_CLOSE_MINUTE = 1;
/** Exactly two digits each: `8:00` is refused rather than guessed at. */
const WALL_TIME_PATTERN = /^(\d{2}):(\d{2})$/;
const SETTING_KEYS = ['timezone', 'businessHours', 'holidays'] as const;

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
      throw new InvalidClientSettingError(
        clientId,
        `${pairField}[1]`,
        describeValue(close),
        `a close time after the open time ${describeValue(open)}, at most "24:00" (a window cannot run past midnight)`,
      );
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
