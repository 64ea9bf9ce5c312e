import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAfterHoursClassifier } from '../../src/domain/after-hours.js';
import { businessIntervals } from '../../src/domain/business-intervals.js';
import type { AfterHoursSettings } from '../../src/domain/types.js';
import { at, CHICAGO, iso, settings, WEEK_FROM, WEEK_TO } from './after-hours-fixtures.js';

describe('createAfterHoursClassifier', () => {
  it('flags nothing when the client has no after_hours setting', () => {
    const isAfterHours = createAfterHoursClassifier(null, WEEK_FROM, WEEK_TO);
    assert.equal(isAfterHours(at('2026-11-23T03:00:00.000Z')), false);
    assert.equal(isAfterHours(at('2026-11-29T12:00:00.000Z')), false);
  });

  it('is exact at every edge of a window: open is inside, close is after hours', () => {
    const isAfterHours = createAfterHoursClassifier(settings(CHICAGO), WEEK_FROM, WEEK_TO);
    // Monday 08:00–17:00 CST.
    assert.equal(isAfterHours(at('2026-11-23T13:59:59.999Z')), true);
    assert.equal(isAfterHours(at('2026-11-23T14:00:00.000Z')), false);
    assert.equal(isAfterHours(at('2026-11-23T22:59:59.999Z')), false);
    assert.equal(isAfterHours(at('2026-11-23T23:00:00.000Z')), true);
  });

  it('flags the lunch gap of a split day', () => {
    const isAfterHours = createAfterHoursClassifier(settings(CHICAGO), WEEK_FROM, WEEK_TO);
    assert.equal(isAfterHours(at('2026-11-24T17:59:59.999Z')), false); // 11:59:59.999
    assert.equal(isAfterHours(at('2026-11-24T18:00:00.000Z')), true); // 12:00
    assert.equal(isAfterHours(at('2026-11-24T18:30:00.000Z')), true);
    assert.equal(isAfterHours(at('2026-11-24T18:59:59.999Z')), true);
    assert.equal(isAfterHours(at('2026-11-24T19:00:00.000Z')), false); // 13:00
  });

  it('flags all of an empty weekday and of one left out, and none of a "00:00"–"24:00" day', () => {
    const isAfterHours = createAfterHoursClassifier(settings(CHICAGO), WEEK_FROM, WEEK_TO);
    assert.equal(isAfterHours(at('2026-11-25T18:00:00.000Z')), true); // Wednesday noon: []
    assert.equal(isAfterHours(at('2026-11-26T18:00:00.000Z')), true); // Thursday noon: left out
    assert.equal(isAfterHours(at('2026-11-27T06:00:00.000Z')), false); // Friday 00:00
    assert.equal(isAfterHours(at('2026-11-28T05:59:59.999Z')), false); // Friday 23:59:59.999
    assert.equal(isAfterHours(at('2026-11-28T06:00:00.000Z')), true); // Saturday 00:00: []
  });

  it("reads the windows in after_hours.timezone when it differs from the client's zone", () => {
    const raw = { timezone: 'America/Chicago', businessHours: { mon: [['08:00', '17:00']] } };
    const chicago = settings(raw, 'Europe/Berlin');
    assert.equal(chicago.timeZone, 'America/Chicago');
    // The client's (Berlin) week of 2026-11-23.
    const from = at('2026-11-22T23:00:00Z');
    const to = at('2026-11-29T23:00:00Z');
    const isAfterHours = createAfterHoursClassifier(chicago, from, to);
    assert.equal(isAfterHours(at('2026-11-23T08:00:00.000Z')), true); // 09:00 Berlin, 02:00 Chicago
    assert.equal(isAfterHours(at('2026-11-23T15:00:00.000Z')), false); // 16:00 Berlin, 09:00 Chicago
    // Without its own zone the same windows are read in Berlin.
    const berlin = createAfterHoursClassifier(settings({ businessHours: raw.businessHours }, 'Europe/Berlin'), from, to);
    assert.equal(berlin(at('2026-11-23T08:00:00.000Z')), false);
    assert.equal(berlin(at('2026-11-23T17:00:00.000Z')), true); // 18:00 Berlin
  });

  it('flags a holiday by its local date in the after-hours zone', () => {
    const allDay = [['00:00', '24:00']];
    const holiday = settings({ timezone: 'America/Chicago', businessHours: { wed: allDay, thu: allDay, fri: allDay }, holidays: ['2026-11-26'] }, 'UTC');
    const isAfterHours = createAfterHoursClassifier(holiday, WEEK_FROM, WEEK_TO);
    assert.equal(isAfterHours(at('2026-11-26T03:00:00.000Z')), false); // UTC date is the holiday, Chicago's is Wednesday 25th
    assert.equal(isAfterHours(at('2026-11-26T06:00:00.000Z')), true); // Thursday 00:00 in Chicago
    assert.equal(isAfterHours(at('2026-11-27T03:00:00.000Z')), true); // Thursday 21:00 in Chicago, UTC date the 27th
    assert.equal(isAfterHours(at('2026-11-27T06:00:00.000Z')), false); // Friday 00:00 in Chicago
  });

  it('follows DST in both directions', () => {
    const early = settings({ timezone: 'America/Chicago', businessHours: { sun: [['01:30', '05:00']] } });
    const fall = createAfterHoursClassifier(early, at('2026-11-01T05:00:00Z'), at('2026-11-02T06:00:00Z'));
    assert.equal(fall(at('2026-11-01T06:29:59.999Z')), true); // 01:29:59.999 CDT
    assert.equal(fall(at('2026-11-01T06:30:00.000Z')), false); // 01:30 CDT
    assert.equal(fall(at('2026-11-01T06:59:59.999Z')), false); // 01:59:59.999 CDT
    assert.equal(fall(at('2026-11-01T07:00:00.000Z')), true); // 01:00 CST, the repeated hour
    assert.equal(fall(at('2026-11-01T07:29:59.999Z')), true); // 01:29:59.999 CST
    assert.equal(fall(at('2026-11-01T07:30:00.000Z')), false); // 01:30 CST
    assert.equal(fall(at('2026-11-01T10:59:59.999Z')), false); // 04:59:59.999 CST
    assert.equal(fall(at('2026-11-01T11:00:00.000Z')), true); // 05:00 CST
    const spring = createAfterHoursClassifier(early, at('2026-03-08T06:00:00Z'), at('2026-03-09T05:00:00Z'));
    assert.equal(spring(at('2026-03-08T07:29:59.999Z')), true); // 01:29:59.999 CST
    assert.equal(spring(at('2026-03-08T07:30:00.000Z')), false); // 01:30 CST
    assert.equal(spring(at('2026-03-08T07:59:59.999Z')), false); // 01:59:59.999 CST
    assert.equal(spring(at('2026-03-08T08:00:00.000Z')), false); // 03:00 CDT
    assert.equal(spring(at('2026-03-08T09:59:59.999Z')), false); // 04:59:59.999 CDT
    assert.equal(spring(at('2026-03-08T10:00:00.000Z')), true); // 05:00 CDT
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
    for (const [event, expected] of events) assert.equal(isAfterHours(at(event)), expected, event);
  });

  it('counts an unknown time (NaN) as after hours, and goes on classifying afterwards', () => {
    const isAfterHours = createAfterHoursClassifier(settings(CHICAGO), WEEK_FROM, WEEK_TO);
    assert.equal(isAfterHours(at('2026-11-23T14:00:00.000Z')), false);
    assert.equal(isAfterHours(Number.NaN), true);
    assert.equal(isAfterHours(at('2026-11-23T14:00:00.000Z')), false);
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
        businessHours: {
          mon: [['08:00', '17:00']],
          tue: [
            ['08:00', '12:00'],
            ['13:00', '17:00'],
          ],
          thu: [
            ['07:30', '09:00'],
            ['08:30', '18:15'],
          ],
          fri: [['00:00', '24:00']],
          sat: [['22:00', '24:00']],
          sun: [
            ['00:00', '02:30'],
            ['01:30', '05:00'],
          ],
        },
        holidays: ['2026-11-26'],
      },
      from: '2026-11-01T05:00:00Z',
      to: '2026-12-01T06:00:00Z',
    },
    {
      name: 'Berlin, March 2026 (spring-forward)',
      raw: {
        timezone: 'Europe/Berlin',
        businessHours: {
          mon: [['09:00', '17:30']],
          wed: [['00:00', '03:00']],
          sun: [
            ['01:15', '04:45'],
            ['23:59', '24:00'],
          ],
        },
        holidays: ['2026-03-16'],
      },
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
        for (const instant of order) assert.equal(isAfterHours(instant), !open(instant), iso(instant));
      }
      // Sanity: the scenarios exercise both answers.
      assert.ok(inRange.some(open) && inRange.some((instant) => !open(instant)));
    });
  }
});
