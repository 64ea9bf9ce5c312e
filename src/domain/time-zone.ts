/**
 * IANA time zones, read from Intl (the only tz database available without I/O). An instant
 * is epoch milliseconds; local wall-clock time is written as epoch milliseconds too ("local
 * ms": the instant a wall clock in UTC would show the same reading), so that
 * local = instant + offset.
 */
import { InvalidClientSettingError, describeValue } from './errors.js';
import { fromEpochDay, toEpochDay } from './local-date.js';
import type { Instant, LocalDate } from './types.js';

export const MS_PER_SECOND = 1_000;
export const MS_PER_MINUTE = 60 * MS_PER_SECOND;
export const MS_PER_HOUR = 60 * MS_PER_MINUTE;
export const MS_PER_DAY = 24 * MS_PER_HOUR;

/**
 * How far apart offsetSegments probes the offset. A probe would miss an offset that changes
 * and changes back between two probes; in the tz data Node ships, the shortest stretch between
 * two transitions of any zone from 1970 to 2040 is about a week (167 h).
 */
const PROBE_STEP_MS = 3 * MS_PER_HOUR;
/** Larger than any UTC offset tzdata has ever used (about ±16 h), so a local date's midnight lies within this of it. */
const MAX_OFFSET_MARGIN_MS = MS_PER_DAY;
/** `+05:00`, `-0300`, `−03`: UTC offsets, not IANA zones (newer engines accept them in Intl). */
const OFFSET_ZONE_PATTERN = /^[+\-\u2212]/;

/** One formatter per zone: building one costs far more than using it. */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(zone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(zone);
  if (formatter === undefined) {
    if (typeof zone !== 'string' || zone === '' || OFFSET_ZONE_PATTERN.test(zone)) {
      throw new RangeError(`${JSON.stringify(zone)} is not a time zone; allowed: an IANA time zone such as "America/Chicago" or "UTC"`);
    }
    // Throws RangeError for names Intl does not know.
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      era: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, formatter);
  }
  return formatter;
}

/** True for any IANA zone name Intl knows (including `UTC` and links such as `US/Eastern`); false for UTC offsets and unknown names. */
export function isTimeZone(zone: string): boolean {
  try {
    formatterFor(zone);
    return true;
  } catch {
    return false;
  }
}

/**
 * ICU names some zones by their pre-rename ids (CLDR keeps ids stable); the IANA name is the
 * canonical spelling here, and Intl accepts both. Every entry is a zone Intl in Node 20 resolves
 * to the key; engines that already answer with the IANA name never reach this table.
 */
const IANA_NAME_OF_CLDR_ID: Readonly<Record<string, string>> = {
  'Africa/Asmera': 'Africa/Asmara',
  'America/Buenos_Aires': 'America/Argentina/Buenos_Aires',
  'America/Catamarca': 'America/Argentina/Catamarca',
  'America/Cordoba': 'America/Argentina/Cordoba',
  'America/Coral_Harbour': 'America/Atikokan',
  'America/Godthab': 'America/Nuuk',
  'America/Indianapolis': 'America/Indiana/Indianapolis',
  'America/Jujuy': 'America/Argentina/Jujuy',
  'America/Louisville': 'America/Kentucky/Louisville',
  'America/Mendoza': 'America/Argentina/Mendoza',
  'Asia/Calcutta': 'Asia/Kolkata',
  'Asia/Katmandu': 'Asia/Kathmandu',
  'Asia/Rangoon': 'Asia/Yangon',
  'Asia/Saigon': 'Asia/Ho_Chi_Minh',
  'Atlantic/Faeroe': 'Atlantic/Faroe',
  'Europe/Kiev': 'Europe/Kyiv',
  'Pacific/Enderbury': 'Pacific/Kanton',
  'Pacific/Ponape': 'Pacific/Pohnpei',
  'Pacific/Truk': 'Pacific/Chuuk',
};

/**
 * The one spelling a zone is stored and used in, or null when Intl does not know it. Intl reads
 * names case-insensitively and follows links (`est` is America/Panama, `US/Eastern` is
 * America/New_York), while Temporal's server is case-sensitive: only the name Intl resolves a
 * zone to, in IANA's current spelling, is canonical.
 */
export function canonicalTimeZone(zone: string): string | null {
  if (!isTimeZone(zone)) return null;
  const resolved = formatterFor(zone).resolvedOptions().timeZone;
  return IANA_NAME_OF_CLDR_ID[resolved] ?? resolved;
}

/** True only for a zone written in its canonical spelling (`America/Chicago`, `UTC`; not `america/chicago`, `EST` or `US/Eastern`). */
export function isCanonicalTimeZone(zone: string): boolean {
  return canonicalTimeZone(zone) === zone;
}

const TIME_ZONE_ALLOWED = 'an IANA time zone such as "America/Chicago" or "UTC"';

/**
 * A client's time zone setting, in its canonical spelling. Every reader of a zone setting (the
 * CLI before saving, schedules sync, the worker) validates through here, so all refuse the same.
 */
export function parseTimeZoneSetting(clientId: string, field: string, value: unknown, allowed = TIME_ZONE_ALLOWED): string {
  const canonical = typeof value === 'string' ? canonicalTimeZone(value) : null;
  if (canonical !== null && canonical === value) return canonical;
  const hint = canonical === null ? '' : `; did you mean ${JSON.stringify(canonical)}? (the same zone, spelled as IANA and Temporal's server name it)`;
  throw new InvalidClientSettingError(clientId, field, describeValue(value), `${allowed}${hint}`);
}

/**
 * What the en-US formatter below prints, e.g. `6/1/2026 AD, 00:00:00`. Parsing the string is
 * about three times faster than formatToParts; formatToParts remains the fallback should an
 * ICU version ever print it differently.
 */
const FORMATTED_PATTERN = /^(\d+)\/(\d+)\/(\d+) (AD|BC), (\d+):(\d+):(\d+)$/;

interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  beforeCommonEra: boolean;
}

function wallClockFromParts(formatter: Intl.DateTimeFormat, instant: Instant): WallClock {
  const wall: WallClock = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0, beforeCommonEra: false };
  for (const part of formatter.formatToParts(instant)) {
    switch (part.type) {
      case 'year':
        wall.year = Number(part.value);
        break;
      case 'month':
        wall.month = Number(part.value);
        break;
      case 'day':
        wall.day = Number(part.value);
        break;
      case 'hour':
        wall.hour = Number(part.value);
        break;
      case 'minute':
        wall.minute = Number(part.value);
        break;
      case 'second':
        wall.second = Number(part.value);
        break;
      case 'era':
        wall.beforeCommonEra = part.value === 'BC' || part.value === 'B';
        break;
      default:
        break;
    }
  }
  return wall;
}

function wallClock(formatter: Intl.DateTimeFormat, instant: Instant): WallClock {
  const match = FORMATTED_PATTERN.exec(formatter.format(instant));
  if (!match) return wallClockFromParts(formatter, instant);
  return {
    month: Number(match[1]),
    day: Number(match[2]),
    year: Number(match[3]),
    beforeCommonEra: match[4] === 'BC',
    hour: Number(match[5]),
    minute: Number(match[6]),
    second: Number(match[7]),
  };
}

/** Milliseconds to add to `instant` to get the local wall-clock time in `zone`. */
export function offsetAt(zone: string, instant: Instant): number {
  const formatter = formatterFor(zone);
  // Intl reads whole seconds; offsets and transitions in tzdata are whole seconds too.
  const wholeSecond = Math.floor(instant / MS_PER_SECOND) * MS_PER_SECOND;
  const wall = wallClock(formatter, wholeSecond);
  // Date.UTC maps years 0–99 onto 1900–1999, so set the year separately; 2000 is a leap year,
  // so every month and day is valid in it.
  const local = new Date(Date.UTC(2000, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second));
  local.setUTCFullYear(wall.beforeCommonEra ? 1 - wall.year : wall.year);
  return local.getTime() - wholeSecond;
}

/** A stretch of time with one UTC offset: `[start, end)`. */
export interface OffsetSegment {
  start: Instant;
  end: Instant;
  offsetMs: number;
}

/**
 * Contiguous segments of constant offset exactly covering `[from, to)`, split at the exact
 * transition instants. Empty when `from >= to`.
 */
export function offsetSegments(zone: string, from: Instant, to: Instant): OffsetSegment[] {
  const segments: OffsetSegment[] = [];
  if (!(from < to)) return segments;
  let segmentStart = from;
  let offset = offsetAt(zone, from);
  // `known` always has `offset`; probe ahead from it and binary search the first change.
  let known = from;
  const last = to - 1;
  while (known < last) {
    const probe = Math.min(known + PROBE_STEP_MS, last);
    if (offsetAt(zone, probe) === offset) {
      known = probe;
      continue;
    }
    let low = known;
    let high = probe;
    while (high - low > 1) {
      const middle = low + Math.floor((high - low) / 2);
      if (offsetAt(zone, middle) === offset) low = middle;
      else high = middle;
    }
    segments.push({ start: segmentStart, end: high, offsetMs: offset });
    segmentStart = high;
    offset = offsetAt(zone, high);
    known = high;
  }
  segments.push({ start: segmentStart, end: to, offsetMs: offset });
  return segments;
}

/** The local date in `zone` at `instant`. */
export function localDateOf(zone: string, instant: Instant): LocalDate {
  return fromEpochDay(Math.floor((instant + offsetAt(zone, instant)) / MS_PER_DAY));
}

/**
 * The earliest instant whose local wall-clock time in `zone` is at or after `date` 00:00.
 * A midnight skipped by a transition gives the transition instant; a midnight that occurs
 * twice gives the first.
 */
export function startOfLocalDate(zone: string, date: LocalDate): Instant {
  return localTimeInstant(zone, date, 0);
}

/**
 * The earliest instant whose local wall-clock time in `zone` is at or after `date` plus
 * `minuteOfDay` minutes (0…1439). A time skipped by a transition gives the transition instant;
 * a time that occurs twice gives the first.
 */
export function localTimeInstant(zone: string, date: LocalDate, minuteOfDay: number): Instant {
  const localTime = toEpochDay(date) * MS_PER_DAY + minuteOfDay * MS_PER_MINUTE;
  // Local time runs as instant + offset within each segment; the first segment that reaches
  // the local time holds the answer.
  for (const segment of offsetSegments(zone, localTime - MAX_OFFSET_MARGIN_MS, localTime + MAX_OFFSET_MARGIN_MS)) {
    const candidate = Math.max(segment.start, localTime - segment.offsetMs);
    if (candidate < segment.end) return candidate;
  }
  throw new RangeError(`no instant in ${zone} reaches ${date} +${minuteOfDay} min within a day of it; the zone's offset is out of range`);
}
