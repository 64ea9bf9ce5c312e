/**
 * Calendar arithmetic on local dates (`YYYY-MM-DD`, proleptic Gregorian, years 0001–9999).
 * Plain integer arithmetic on "epoch days" (days since 1970-01-01): no Date, no time zone,
 * so the same input always gives the same output in workflows and activities alike.
 */
import { WEEKDAYS, type LocalDate, type Weekday } from './types.js';

const LOCAL_DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;
const MIN_YEAR = 1;
const MAX_YEAR = 9999;
const MONTHS_PER_YEAR = 12;
const DAYS_PER_WEEK = 7;
/** 1970-01-01 was a Thursday (ISO weekday 4); shifts epoch days onto Monday = 0. */
const EPOCH_DAY_TO_MONDAY_BASED = 3;
/** Days in a 400-year era of the Gregorian calendar (Hinnant's 146097). */
const DAYS_PER_ERA = 146_097;
/** Days from 0000-03-01 to 1970-01-01 (Hinnant's 719468). */
const EPOCH_SHIFT_DAYS = 719_468;

/** Epoch days of 0001-01-01 and 9999-12-31: the range a LocalDate can name. */
const MIN_EPOCH_DAY = daysFromCivil(MIN_YEAR, 1, 1);
const MAX_EPOCH_DAY = daysFromCivil(MAX_YEAR, 12, 31);

interface CivilDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** Number of days in a month (1–12) of a year. */
export function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/*
 * days_from_civil and civil_from_days are Howard Hinnant's algorithms
 * (http://howardhinnant.github.io/date_algorithms.html), with his names: the year counts from
 * March so that the leap day is its last day; `era` is a 400-year cycle, `yoe` the year of the
 * era [0, 399], `doy` the day of the (March-based) year [0, 365], `doe` the day of the era
 * [0, 146096], `mp` the March-based month [0, 11]. Math.floor stands in for his integer division
 * of possibly negative values.
 */

/** Hinnant's days_from_civil: the epoch day of a (proleptic Gregorian) date. */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * DAYS_PER_ERA + doe - EPOCH_SHIFT_DAYS;
}

/** Hinnant's civil_from_days: the date of an epoch day. */
function civilFromDays(epochDay: number): CivilDate {
  const z = epochDay + EPOCH_SHIFT_DAYS;
  const era = Math.floor(z / DAYS_PER_ERA);
  const doe = z - era * DAYS_PER_ERA;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return { year, month, day };
}

/** The parts of a valid local date, or null. */
function parse(value: string): CivilDate | null {
  const match = LOCAL_DATE_PATTERN.exec(value);
  if (!match) return null;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  if (year < MIN_YEAR || month < 1 || month > MONTHS_PER_YEAR || day < 1 || day > daysInMonth(year, month)) return null;
  return { year, month, day };
}

/** Parts of a local date; a malformed one is a programming error, not a setting, so RangeError. */
function parseOrThrow(date: LocalDate): CivilDate {
  const parts = typeof date === 'string' ? parse(date) : null;
  if (!parts) throw new RangeError(`${JSON.stringify(date)} is not a local date; allowed: a real calendar date written YYYY-MM-DD, years 0001 to 9999`);
  return parts;
}

function format({ year, month, day }: CivilDate): LocalDate {
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/** True for a strict `YYYY-MM-DD` naming a real calendar date in years 0001–9999. */
export function isLocalDate(value: string): boolean {
  return typeof value === 'string' && parse(value) !== null;
}

/** Days since 1970-01-01 (negative before it). */
export function toEpochDay(date: LocalDate): number {
  const { year, month, day } = parseOrThrow(date);
  return daysFromCivil(year, month, day);
}

/** The local date `day` days after 1970-01-01; RangeError outside years 0001–9999. */
export function fromEpochDay(day: number): LocalDate {
  if (!Number.isInteger(day) || day < MIN_EPOCH_DAY || day > MAX_EPOCH_DAY) {
    throw new RangeError(`epoch day ${day} is outside the local dates 0001-01-01 to 9999-12-31`);
  }
  return format(civilFromDays(day));
}

export function addDays(date: LocalDate, days: number): LocalDate {
  return fromEpochDay(toEpochDay(date) + days);
}

/** Same day of the month `months` later (or earlier), clamped to that month's last day (01-31 + 1 month = 02-28). */
export function addMonths(date: LocalDate, months: number): LocalDate {
  const { year, month, day } = parseOrThrow(date);
  if (!Number.isInteger(months)) throw new RangeError(`addMonths needs a whole number of months, got ${months}`);
  const monthIndex = year * MONTHS_PER_YEAR + (month - 1) + months;
  const targetYear = Math.floor(monthIndex / MONTHS_PER_YEAR);
  const targetMonth = monthIndex - targetYear * MONTHS_PER_YEAR + 1;
  if (targetYear < MIN_YEAR || targetYear > MAX_YEAR) {
    throw new RangeError(`${date} plus ${months} months is outside the local dates 0001-01-01 to 9999-12-31`);
  }
  return format({ year: targetYear, month: targetMonth, day: Math.min(day, daysInMonth(targetYear, targetMonth)) });
}

/** ISO weekday of an epoch day: Monday 1 … Sunday 7. */
export function isoWeekdayOfEpochDay(epochDay: number): number {
  const mondayBased = (((epochDay + EPOCH_DAY_TO_MONDAY_BASED) % DAYS_PER_WEEK) + DAYS_PER_WEEK) % DAYS_PER_WEEK;
  return mondayBased + 1;
}

/** Monday 1 … Sunday 7. */
export function isoWeekday(date: LocalDate): number {
  return isoWeekdayOfEpochDay(toEpochDay(date));
}

/** `'mon'` … `'sun'`, the keys of `after_hours.businessHours`. */
export function weekdayKey(date: LocalDate): Weekday {
  return weekdayKeyOfEpochDay(toEpochDay(date));
}

export function weekdayKeyOfEpochDay(epochDay: number): Weekday {
  // WEEKDAYS has 7 entries and the index is 0–6, so the lookup always hits.
  return WEEKDAYS[isoWeekdayOfEpochDay(epochDay) - 1] as Weekday;
}

/** The Monday on or before `date`. */
export function startOfIsoWeek(date: LocalDate): LocalDate {
  const day = toEpochDay(date);
  return fromEpochDay(day - (isoWeekdayOfEpochDay(day) - 1));
}

/** The first day of `date`'s month. */
export function startOfMonth(date: LocalDate): LocalDate {
  const { year, month } = parseOrThrow(date);
  return format({ year, month, day: 1 });
}

/** `YYYYMMDD`, as file names use it. */
export function compactDate(date: LocalDate): string {
  parseOrThrow(date);
  return date.replaceAll('-', '');
}
