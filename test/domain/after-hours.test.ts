import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { businessIntervals, createAfterHoursClassifier, parseAfterHours, type Interval } from '../../src/domain/after-hours.js';
import { InvalidClientSettingError } from '../../src/domain/errors.js';
import type { AfterHoursSettings } from '../../src/domain/types.js';

const CLIENT = 'acme';
const at = (iso: string): number => {
  const instant = Date.parse(iso);
  assert.ok(Number.isFinite(instant), `bad test instant ${iso}`);
  return instant;
};
const iso = (instant: number): string => new Date(instant).toISOString();
const readable = (intervals: Interval[]) => intervals.map((interval) => [iso(interval.start), iso(interval.end)]);
const settings = (raw: unknown, clientTimeZone = 'America/Chicago'): AfterHoursSettings => {
  const parsed = parseAfterHours(CLIENT, raw, clientTimeZone);
  assert.ok(parsed);
  return parsed;
};

/** SPEC §5's example, in Chicago: Monday 08–17, Tuesday with a lunch break, Friday all day, others closed. */
const CHICAGO = {
  timezone: 'America/Chicago',
  businessHours: {
    mon: [['08:00', '17:00']],
    tue: [['08:00', '12:00'], ['13:00', '17:00']],
    wed: [],
    fri: [['00:00', '24:00']],
    sat: [],
  },
  holidays: ['2026-12-25'],
};
// The week of Monday 2026-11-23 in Chicago (CST, -06:00).
const WEEK_FROM = at('2026-11-23T06:00:00Z');
const WEEK_TO = at('2026-11-30T06:00:00Z');

describe('parseAfterHours', () => {
  it('gives null when the setting is null or absent', () => {
    assert.equal(parseAfterHours(CLIENT, null, 'UTC'), null);
    assert.equal(parseAfterHours(CLIENT, undefined, 'UTC'), null);
  });

  it('turns windows into minutes, with "24:00" as 1440 and missing weekdays closed', () => {
    assert.deepEqual(parseAfterHours(CLIENT, CHICAGO, 'Europe/Berlin'), {
      timeZone: 'America/Chicago',
      businessHours: {
        mon: [{ openMinute: 480, closeMinute: 1020 }],
        tue: [{ openMinute: 480, closeMinute: 720 }, { openMinute: 780, closeMinute: 1020 }],
        wed: [],
        thu: [],
        fri: [{ openMinute: 0, closeMinute: 1440 }],
        sat: [],
        sun: [],
      },
      holidays: ['2026-12-25'],
    });
  });

  it("uses the client's time zone when the setting has none", () => {
    assert.equal(settings({ businessHours: {} }, 'Europe/Berlin').timeZone, 'Europe/Berlin');
  });

  it('sorts holidays and drops repeats', () => {
    assert.deepEqual(settings({ businessHours: {}, holidays: ['2026-12-25', '2026-01-01', '2026-12-25', '2026-07-04'] }).holidays, [
      '2026-01-01',
      '2026-07-04',
      '2026-12-25',
    ]);
  });

  it('merges overlapping and touching windows into their union, sorted', () => {
    const parsed = settings({ businessHours: { mon: [['12:00', '17:00'], ['08:00', '12:00'], ['09:00', '10:00'], ['18:00', '19:00']] } });
    assert.deepEqual(parsed.businessHours.mon, [
      { openMinute: 480, closeMinute: 1020 },
      { openMinute: 1080, closeMinute: 1140 },
    ]);
  });

  describe('refuses malformed settings, naming the client, the field, the value and what is allowed', () => {
    const cases: { name: string; raw: unknown; field: string; given: string }[] = [
      { name: 'a string instead of an object', raw: '{"businessHours":{}}', field: 'after_hours', given: '"{\\"businessHours\\":{}}"' },
      { name: 'an array instead of an object', raw: [], field: 'after_hours', given: '[]' },
      { name: 'an unknown key', raw: { bussinessHours: {} }, field: 'after_hours.bussinessHours', given: '{}' },
      { name: 'an unknown zone', raw: { timezone: 'Mars/Olympus', businessHours: {} }, field: 'after_hours.timezone', given: '"Mars/Olympus"' },
      { name: 'a UTC offset as zone', raw: { timezone: '+05:00', businessHours: {} }, field: 'after_hours.timezone', given: '"+05:00"' },
      { name: 'a zone that is not a string', raw: { timezone: 5, businessHours: {} }, field: 'after_hours.timezone', given: '5' },
      { name: 'missing businessHours', raw: { timezone: 'UTC' }, field: 'after_hours.businessHours', given: 'nothing' },
      { name: 'businessHours as a list', raw: { businessHours: [] }, field: 'after_hours.businessHours', given: '[]' },
      { name: 'an unknown weekday', raw: { businessHours: { monday: [] } }, field: 'after_hours.businessHours.monday', given: '[]' },
      { name: 'a weekday that is not a list', raw: { businessHours: { mon: '08:00-17:00' } }, field: 'after_hours.businessHours.mon', given: '"08:00-17:00"' },
      { name: 'a flat window', raw: { businessHours: { mon: ['08:00', '17:00'] } }, field: 'after_hours.businessHours.mon[0]', given: '"08:00"' },
      { name: 'a window of one time', raw: { businessHours: { mon: [['08:00']] } }, field: 'after_hours.businessHours.mon[0]', given: '["08:00"]' },
      { name: 'a window of three times', raw: { businessHours: { mon: [['08:00', '12:00', '17:00']] } }, field: 'after_hours.businessHours.mon[0]', given: '["08:00","12:00","17:00"]' },
      { name: 'numbers as times', raw: { businessHours: { mon: [[8, 17]] } }, field: 'after_hours.businessHours.mon[0][0]', given: '8' },
      { name: 'hour 25', raw: { businessHours: { tue: [['08:00', '12:00'], ['25:00', '26:00']] } }, field: 'after_hours.businessHours.tue[1][0]', given: '"25:00"' },
      { name: 'a one-digit hour', raw: { businessHours: { mon: [['8:00', '17:00']] } }, field: 'after_hours.businessHours.mon[0][0]', given: '"8:00"' },
      { name: 'minute 60', raw: { businessHours: { mon: [['08:00', '16:60']] } }, field: 'after_hours.businessHours.mon[0][1]', given: '"16:60"' },
      { name: 'a close of 24:01', raw: { businessHours: { sun: [['20:00', '24:01']] } }, field: 'after_hours.businessHours.sun[0][1]', given: '"24:01"' },
      { name: 'an open of 24:00', raw: { businessHours: { sun: [['24:00', '24:00']] } }, field: 'after_hours.businessHours.sun[0][0]', given: '"24:00"' },
      { name: 'a close of 00:00', raw: { businessHours: { sun: [['20:00', '00:00']] } }, field: 'after_hours.businessHours.sun[0][1]', given: '"00:00"' },
      { name: 'a close before the open', raw: { businessHours: { wed: [['17:00', '08:00']] } }, field: 'after_hours.businessHours.wed[0][1]', given: '"08:00"' },
      { name: 'a close equal to the open', raw: { businessHours: { thu: [['09:00', '09:00']] } }, field: 'after_hours.businessHours.thu[0][1]', given: '"09:00"' },
      { name: 'holidays that are not a list', raw: { businessHours: {}, holidays: '2026-12-25' }, field: 'after_hours.holidays', given: '"2026-12-25"' },
      { name: 'a date that does not exist', raw: { businessHours: {}, holidays: ['2026-12-25', '2026-01-01', '2026-02-30'] }, field: 'after_hours.holidays[2]', given: '"2026-02-30"' },
      { name: 'a date as a number', raw: { businessHours: {}, holidays: [20261225] }, field: 'after_hours.holidays[0]', given: '20261225' },
      { name: 'a date with a time', raw: { businessHours: {}, holidays: ['2026-12-25T00:00:00Z'] }, field: 'after_hours.holidays[0]', given: '"2026-12-25T00:00:00Z"' },
    ];
    for (const { name, raw, field, given } of cases) {
      it(name, () => {
        assert.throws(
          () => parseAfterHours(CLIENT, raw, 'UTC'),
          (error: unknown) => {
            assert.ok(error instanceof InvalidClientSettingError, `not an InvalidClientSettingError: ${String(error)}`);
            assert.equal(error.clientId, CLIENT);
            assert.equal(error.field, field);
            assert.equal(error.given, given);
            assert.ok(error.message.includes(`client "${CLIENT}"`), error.message);
            assert.ok(error.message.includes(`${field} is ${given}`), error.message);
            assert.match(error.message, /; allowed: \S/);
            return true;
          },
        );
      });
    }
  });
});

describe('businessIntervals', () => {
  it('gives exactly the open instants of a week, lunch break and closed days left out', () => {
    assert.deepEqual(readable(businessIntervals(settings(CHICAGO), WEEK_FROM, WEEK_TO)), [
      ['2026-11-23T14:00:00.000Z', '2026-11-23T23:00:00.000Z'], // Monday 08:00–17:00 CST
      ['2026-11-24T14:00:00.000Z', '2026-11-24T18:00:00.000Z'], // Tuesday 08:00–12:00
      ['2026-11-24T19:00:00.000Z', '2026-11-24T23:00:00.000Z'], // Tuesday 13:00–17:00
      ['2026-11-27T06:00:00.000Z', '2026-11-28T06:00:00.000Z'], // Friday 00:00–24:00
    ]);
  });

  it('clips to the range asked for', () => {
    assert.deepEqual(readable(businessIntervals(settings(CHICAGO), at('2026-11-23T20:00:00Z'), at('2026-11-24T15:00:00Z'))), [
      ['2026-11-23T20:00:00.000Z', '2026-11-23T23:00:00.000Z'],
      ['2026-11-24T14:00:00.000Z', '2026-11-24T15:00:00.000Z'],
    ]);
    assert.deepEqual(businessIntervals(settings(CHICAGO), WEEK_FROM, WEEK_FROM), []);
  });

  it('joins a "24:00" close to the next day\'s "00:00" open', () => {
    const overnight = settings({ timezone: 'UTC', businessHours: { sat: [['20:00', '24:00']], sun: [['00:00', '02:00']] } });
    assert.deepEqual(readable(businessIntervals(overnight, at('2026-11-23T00:00:00Z'), at('2026-11-30T00:00:00Z'))), [
      ['2026-11-28T20:00:00.000Z', '2026-11-29T02:00:00.000Z'],
    ]);
  });

  it('closes a holiday for its whole local day in the after-hours zone, not the UTC day', () => {
    const alwaysOpen = { mon: [['00:00', '24:00']], tue: [['00:00', '24:00']], wed: [['00:00', '24:00']], thu: [['00:00', '24:00']], fri: [['00:00', '24:00']], sat: [['00:00', '24:00']], sun: [['00:00', '24:00']] };
    const thanksgiving = settings({ timezone: 'America/Chicago', businessHours: alwaysOpen, holidays: ['2026-11-26'] });
    assert.deepEqual(readable(businessIntervals(thanksgiving, WEEK_FROM, WEEK_TO)), [
      ['2026-11-23T06:00:00.000Z', '2026-11-26T06:00:00.000Z'],
      ['2026-11-27T06:00:00.000Z', '2026-11-30T06:00:00.000Z'],
    ]);
  });

  it('has a 23-hour all-day window on the spring-forward day and a 25-hour one on the fall-back day', () => {
    const sundays = settings({ timezone: 'America/Chicago', businessHours: { sun: [['00:00', '24:00']] } });
    // Each range runs from a Monday 00:00 to a Sunday 00:00 in Chicago, holding one Sunday.
    assert.deepEqual(readable(businessIntervals(sundays, at('2026-03-02T06:00:00Z'), at('2026-03-15T05:00:00Z'))), [
      ['2026-03-08T06:00:00.000Z', '2026-03-09T05:00:00.000Z'],
    ]);
    assert.deepEqual(readable(businessIntervals(sundays, at('2026-10-26T05:00:00Z'), at('2026-11-08T06:00:00Z'))), [
      ['2026-11-01T05:00:00.000Z', '2026-11-02T06:00:00.000Z'],
    ]);
  });

  it('leaves out the local times a spring-forward skips', () => {
    // Chicago 2026-03-08: 02:00 CST (08:00Z) becomes 03:00 CDT; 01:00–04:00 is two real hours.
    const early = settings({ timezone: 'America/Chicago', businessHours: { sun: [['01:00', '04:00']] } });
    assert.deepEqual(readable(businessIntervals(early, at('2026-03-08T00:00:00Z'), at('2026-03-09T00:00:00Z'))), [
      ['2026-03-08T07:00:00.000Z', '2026-03-08T09:00:00.000Z'],
    ]);
    // A window lying wholly in the skipped hour is never open.
    const skipped = settings({ timezone: 'America/Chicago', businessHours: { sun: [['02:00', '03:00']] } });
    assert.deepEqual(businessIntervals(skipped, at('2026-03-08T00:00:00Z'), at('2026-03-09T00:00:00Z')), []);
  });

  it('gives two intervals for [01:30, 05:00) on a fall-back day: the repeated 01:00–01:29 is outside', () => {
    // Chicago 2026-11-01: 02:00 CDT (07:00Z) becomes 01:00 CST; 01:00–01:59 happens twice.
    const early = settings({ timezone: 'America/Chicago', businessHours: { sun: [['01:30', '05:00']] } });
    assert.deepEqual(readable(businessIntervals(early, at('2026-11-01T00:00:00Z'), at('2026-11-02T00:00:00Z'))), [
      ['2026-11-01T06:30:00.000Z', '2026-11-01T07:00:00.000Z'], // 01:30–02:00 CDT
      ['2026-11-01T07:30:00.000Z', '2026-11-01T11:00:00.000Z'], // 01:30–05:00 CST
    ]);
  });

  it('counts a window inside the repeated hour twice (Europe/Berlin 2026-10-25, 02:00–03:00)', () => {
    const repeated = settings({ timezone: 'Europe/Berlin', businessHours: { sun: [['02:00', '03:00']] } });
    assert.deepEqual(readable(businessIntervals(repeated, at('2026-10-24T00:00:00Z'), at('2026-10-26T00:00:00Z'))), [
      ['2026-10-25T00:00:00.000Z', '2026-10-25T02:00:00.000Z'], // 02:00–03:00 CEST, then 02:00–03:00 CET
    ]);
  });

  it('follows Lord Howe Island across its half-hour shift', () => {
    // 2026-10-04: 02:00 +10:30 (15:30Z on the 3rd) becomes 02:30 +11:00.
    const morning = settings({ timezone: 'Australia/Lord_Howe', businessHours: { sun: [['01:00', '04:00']] } });
    assert.deepEqual(readable(businessIntervals(morning, at('2026-10-03T00:00:00Z'), at('2026-10-05T00:00:00Z'))), [
      ['2026-10-03T14:30:00.000Z', '2026-10-03T17:00:00.000Z'],
    ]);
  });
});

describe('createAfterHoursClassifier', () => {
  it('flags nothing when the client has no after_hours setting', () => {
    const isAfterHours = createAfterHoursClassifier(null, WEEK_FROM, WEEK_TO);
    assert.equal(isAfterHours('2026-11-23T03:00:00.000Z'), false);
    assert.equal(isAfterHours('2026-11-29T12:00:00.000Z'), false);
  });

  it('is exact at every edge of a window: open is inside, close is after hours', () => {
    const isAfterHours = createAfterHoursClassifier(settings(CHICAGO), WEEK_FROM, WEEK_TO);
    // Monday 08:00–17:00 CST.
    assert.equal(isAfterHours('2026-11-23T13:59:59.999Z'), true);
    assert.equal(isAfterHours('2026-11-23T14:00:00.000Z'), false);
    assert.equal(isAfterHours('2026-11-23T22:59:59.999Z'), false);
    assert.equal(isAfterHours('2026-11-23T23:00:00.000Z'), true);
  });

  it('flags the lunch gap of a split day', () => {
    const isAfterHours = createAfterHoursClassifier(settings(CHICAGO), WEEK_FROM, WEEK_TO);
    assert.equal(isAfterHours('2026-11-24T17:59:59.999Z'), false); // 11:59:59.999
    assert.equal(isAfterHours('2026-11-24T18:00:00.000Z'), true); // 12:00
    assert.equal(isAfterHours('2026-11-24T18:30:00.000Z'), true);
    assert.equal(isAfterHours('2026-11-24T18:59:59.999Z'), true);
    assert.equal(isAfterHours('2026-11-24T19:00:00.000Z'), false); // 13:00
  });

  it('flags all of an empty weekday and of one left out, and none of a "00:00"–"24:00" day', () => {
    const isAfterHours = createAfterHoursClassifier(settings(CHICAGO), WEEK_FROM, WEEK_TO);
    assert.equal(isAfterHours('2026-11-25T18:00:00.000Z'), true); // Wednesday noon: []
    assert.equal(isAfterHours('2026-11-26T18:00:00.000Z'), true); // Thursday noon: left out
    assert.equal(isAfterHours('2026-11-27T06:00:00.000Z'), false); // Friday 00:00
    assert.equal(isAfterHours('2026-11-28T05:59:59.999Z'), false); // Friday 23:59:59.999
    assert.equal(isAfterHours('2026-11-28T06:00:00.000Z'), true); // Saturday 00:00: []
  });

  it('reads the windows in after_hours.timezone when it differs from the client\'s zone', () => {
    const raw = { timezone: 'America/Chicago', businessHours: { mon: [['08:00', '17:00']] } };
    const chicago = settings(raw, 'Europe/Berlin');
    assert.equal(chicago.timeZone, 'America/Chicago');
    // The client's (Berlin) week of 2026-11-23.
    const from = at('2026-11-22T23:00:00Z');
    const to = at('2026-11-29T23:00:00Z');
    const isAfterHours = createAfterHoursClassifier(chicago, from, to);
    assert.equal(isAfterHours('2026-11-23T08:00:00.000Z'), true); // 09:00 Berlin, 02:00 Chicago
    assert.equal(isAfterHours('2026-11-23T15:00:00.000Z'), false); // 16:00 Berlin, 09:00 Chicago
    // Without its own zone the same windows are read in Berlin.
    const berlin = createAfterHoursClassifier(settings({ businessHours: raw.businessHours }, 'Europe/Berlin'), from, to);
    assert.equal(berlin('2026-11-23T08:00:00.000Z'), false);
    assert.equal(berlin('2026-11-23T17:00:00.000Z'), true); // 18:00 Berlin
  });

  it('flags a holiday by its local date in the after-hours zone', () => {
    const allDay = [['00:00', '24:00']];
    const holiday = settings({ timezone: 'America/Chicago', businessHours: { wed: allDay, thu: allDay, fri: allDay }, holidays: ['2026-11-26'] }, 'UTC');
    const isAfterHours = createAfterHoursClassifier(holiday, WEEK_FROM, WEEK_TO);
    assert.equal(isAfterHours('2026-11-26T03:00:00.000Z'), false); // UTC date is the holiday, Chicago's is Wednesday 25th
    assert.equal(isAfterHours('2026-11-26T06:00:00.000Z'), true); // Thursday 00:00 in Chicago
    assert.equal(isAfterHours('2026-11-27T03:00:00.000Z'), true); // Thursday 21:00 in Chicago, UTC date the 27th
    assert.equal(isAfterHours('2026-11-27T06:00:00.000Z'), false); // Friday 00:00 in Chicago
  });

  it('follows DST in both directions', () => {
    const early = settings({ timezone: 'America/Chicago', businessHours: { sun: [['01:30', '05:00']] } });
    const fall = createAfterHoursClassifier(early, at('2026-11-01T05:00:00Z'), at('2026-11-02T06:00:00Z'));
    assert.equal(fall('2026-11-01T06:29:59.999Z'), true); // 01:29:59.999 CDT
    assert.equal(fall('2026-11-01T06:30:00.000Z'), false); // 01:30 CDT
    assert.equal(fall('2026-11-01T06:59:59.999Z'), false); // 01:59:59.999 CDT
    assert.equal(fall('2026-11-01T07:00:00.000Z'), true); // 01:00 CST, the repeated hour
    assert.equal(fall('2026-11-01T07:29:59.999Z'), true); // 01:29:59.999 CST
    assert.equal(fall('2026-11-01T07:30:00.000Z'), false); // 01:30 CST
    assert.equal(fall('2026-11-01T10:59:59.999Z'), false); // 04:59:59.999 CST
    assert.equal(fall('2026-11-01T11:00:00.000Z'), true); // 05:00 CST
    const spring = createAfterHoursClassifier(early, at('2026-03-08T06:00:00Z'), at('2026-03-09T05:00:00Z'));
    assert.equal(spring('2026-03-08T07:29:59.999Z'), true); // 01:29:59.999 CST
    assert.equal(spring('2026-03-08T07:30:00.000Z'), false); // 01:30 CST
    assert.equal(spring('2026-03-08T07:59:59.999Z'), false); // 01:59:59.999 CST
    assert.equal(spring('2026-03-08T08:00:00.000Z'), false); // 03:00 CDT
    assert.equal(spring('2026-03-08T09:59:59.999Z'), false); // 04:59:59.999 CDT
    assert.equal(spring('2026-03-08T10:00:00.000Z'), true); // 05:00 CDT
  });

  it('gives the same answers whatever order the events come in', () => {
    const isAfterHours = createAfterHoursClassifier(settings(CHICAGO), WEEK_FROM, WEEK_TO);
    const events: [string, boolean][] = [
      ['2026-11-27T12:00:00.000Z', false],
      ['2026-11-23T14:00:00.000Z', false],
      ['2026-11-29T12:00:00.000Z', true],
      ['2026-11-23T13:59:59.999Z', true],
      ['2026-11-23T13:59:59.999Z', true],
      ['2026-11-24T19:00:00.000Z', false],
      ['2026-11-24T18:00:00.000Z', true],
      ['2026-11-23T06:00:00.000Z', true],
      ['2026-11-30T05:59:59.999Z', true],
      ['2026-11-24T14:00:00.000Z', false],
    ];
    for (const [event, expected] of events) assert.equal(isAfterHours(event), expected, event);
  });
});

/** mulberry32: a tiny seeded PRNG, so the generated cases are the same on every run. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const WALL_CLOCK = new Map<string, Intl.DateTimeFormat>();
/**
 * The definition of SPEC §5 read directly, independent of offset segments: format the
 * instant in the zone, then look its weekday and minute of day up in the windows.
 */
function isOpenByWallClock(setting: AfterHoursSettings, instant: number): boolean {
  let formatter = WALL_CLOCK.get(setting.timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-GB', {
      timeZone: setting.timeZone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    WALL_CLOCK.set(setting.timeZone, formatter);
  }
  const parts = Object.fromEntries(formatter.formatToParts(instant).map((part) => [part.type, part.value]));
  const date = `${parts.year}-${parts.month}-${parts.day}`;
  if (setting.holidays.includes(date)) return false;
  const weekday = String(parts.weekday).toLowerCase().slice(0, 3) as keyof AfterHoursSettings['businessHours'];
  // Windows are whole minutes, so a time inside minute m is open exactly when minute m is.
  const minute = Number(parts.hour) * 60 + Number(parts.minute);
  return setting.businessHours[weekday].some((window) => window.openMinute <= minute && minute < window.closeMinute);
}

describe('createAfterHoursClassifier against businessIntervals and the wall clock, on generated events', () => {
  const scenarios: { name: string; raw: unknown; from: string; to: string }[] = [
    {
      name: 'Chicago, November 2026 (fall-back, Thanksgiving)',
      raw: {
        timezone: 'America/Chicago',
        businessHours: { mon: [['08:00', '17:00']], tue: [['08:00', '12:00'], ['13:00', '17:00']], thu: [['07:30', '09:00'], ['08:30', '18:15']], fri: [['00:00', '24:00']], sat: [['22:00', '24:00']], sun: [['00:00', '02:30'], ['01:30', '05:00']] },
        holidays: ['2026-11-26'],
      },
      from: '2026-11-01T05:00:00Z',
      to: '2026-12-01T06:00:00Z',
    },
    {
      name: 'Berlin, March 2026 (spring-forward)',
      raw: { timezone: 'Europe/Berlin', businessHours: { mon: [['09:00', '17:30']], wed: [['00:00', '03:00']], sun: [['01:15', '04:45'], ['23:59', '24:00']] }, holidays: ['2026-03-16'] },
      from: '2026-02-28T23:00:00Z',
      to: '2026-03-31T22:00:00Z',
    },
    {
      name: 'Lord Howe, October 2026 (half-hour shift)',
      raw: { timezone: 'Australia/Lord_Howe', businessHours: { sun: [['01:45', '02:45']], mon: [['08:00', '17:00']], sat: [['00:00', '24:00']] } },
      from: '2026-09-30T14:00:00Z',
      to: '2026-10-31T13:00:00Z',
    },
  ];

  for (const scenario of scenarios) {
    it(scenario.name, () => {
      const setting = settings(scenario.raw);
      const from = at(scenario.from);
      const to = at(scenario.to);
      const intervals = businessIntervals(setting, from, to);
      const random = seededRandom(0x5eed);
      const instants: number[] = [];
      for (let index = 0; index < 5_000; index += 1) instants.push(from + Math.floor(random() * (to - from)));
      // Every edge of every interval, and a millisecond either side.
      for (const { start, end } of intervals) {
        for (const edge of [start, end]) instants.push(edge - 1, edge, edge + 1);
      }
      const inRange = instants.filter((instant) => instant >= from && instant < to);
      const open = (instant: number) => intervals.some((interval) => interval.start <= instant && instant < interval.end);

      // businessIntervals matches the wall-clock definition on every instant.
      for (const instant of inRange) assert.equal(open(instant), isOpenByWallClock(setting, instant), iso(instant));

      const ascending = [...inRange].sort((a, b) => a - b);
      const shuffled = [...inRange];
      for (let index = shuffled.length - 1; index > 0; index -= 1) {
        const other = Math.floor(random() * (index + 1));
        [shuffled[index], shuffled[other]] = [shuffled[other] as number, shuffled[index] as number];
      }
      for (const order of [ascending, shuffled]) {
        const isAfterHours = createAfterHoursClassifier(setting, from, to);
        for (const instant of order) assert.equal(isAfterHours(iso(instant)), !open(instant), iso(instant));
      }
      // Sanity: the scenarios exercise both answers.
      assert.ok(inRange.some(open) && inRange.some((instant) => !open(instant)));
    });
  }
});
