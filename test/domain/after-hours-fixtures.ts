/** Shared by the after-hours tests: SPEC §5's example setting, its week in Chicago and small helpers. */
import assert from 'node:assert/strict';
import { parseAfterHours } from '../../src/domain/after-hours-settings.js';
import type { Interval } from '../../src/domain/business-intervals.js';
import type { AfterHoursSettings } from '../../src/domain/types.js';

export const CLIENT = 'acme';
export const at = (iso: string): number => {
  const instant = Date.parse(iso);
  assert.ok(Number.isFinite(instant), `bad test instant ${iso}`);
  return instant;
};
export const iso = (instant: number): string => new Date(instant).toISOString();
export const readable = (intervals: Interval[]) => intervals.map((interval) => [iso(interval.start), iso(interval.end)]);
export const settings = (raw: unknown, clientTimeZone = 'America/Chicago'): AfterHoursSettings => {
  const parsed = parseAfterHours(CLIENT, raw, clientTimeZone);
  assert.ok(parsed);
  return parsed;
};

/** SPEC §5's example, in Chicago: Monday 08–17, Tuesday with a lunch break, Friday all day, others closed. */
export const CHICAGO = {
  timezone: 'America/Chicago',
  businessHours: {
    mon: [['08:00', '17:00']],
    tue: [
      ['08:00', '12:00'],
      ['13:00', '17:00'],
    ],
    wed: [],
    fri: [['00:00', '24:00']],
    sat: [],
  },
  holidays: ['2026-12-25'],
};
// The week of Monday 2026-11-23 in Chicago (CST, -06:00).
export const WEEK_FROM = at('2026-11-23T06:00:00Z');
export const WEEK_TO = at('2026-11-30T06:00:00Z');
