import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { periodContaining, periodsBetween, previousPeriod } from '../../src/domain/periods.js';
import type { Period } from '../../src/domain/types.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const at = (iso: string): number => {
  const instant = Date.parse(iso);
  assert.ok(Number.isFinite(instant), `bad test instant ${iso}`);
  return instant;
};
/** A period with its instants written as ISO strings, for readable expectations. */
const readable = (period: Period) => ({
  ...period,
  startInstant: new Date(period.startInstant).toISOString(),
  endInstant: new Date(period.endInstant).toISOString(),
});
const length = (period: Period) => period.endInstant - period.startInstant;

describe('periodContaining: daily', () => {
  it('is the local day, named by its date', () => {
    assert.deepEqual(readable(periodContaining('daily', '2026-11-24', 'America/Chicago')), {
      frequency: 'daily',
      timeZone: 'America/Chicago',
      start: '2026-11-24',
      end: '2026-11-25',
      lastDay: '2026-11-24',
      startInstant: '2026-11-24T06:00:00.000Z',
      endInstant: '2026-11-25T06:00:00.000Z',
    });
  });

  it('is 23 hours long when DST starts and 25 when it ends (America/New_York)', () => {
    const spring = periodContaining('daily', '2026-03-08', 'America/New_York');
    assert.equal(spring.startInstant, at('2026-03-08T05:00:00Z'));
    assert.equal(spring.endInstant, at('2026-03-09T04:00:00Z'));
    assert.equal(length(spring), 23 * HOUR);
    const fall = periodContaining('daily', '2026-11-01', 'America/New_York');
    assert.equal(fall.startInstant, at('2026-11-01T04:00:00Z'));
    assert.equal(fall.endInstant, at('2026-11-02T05:00:00Z'));
    assert.equal(length(fall), 25 * HOUR);
    assert.equal(length(periodContaining('daily', '2026-11-02', 'America/New_York')), 24 * HOUR);
  });

  it('is 23 hours long when DST starts and 25 when it ends (Europe/Berlin)', () => {
    const spring = periodContaining('daily', '2026-03-29', 'Europe/Berlin');
    assert.equal(spring.startInstant, at('2026-03-28T23:00:00Z'));
    assert.equal(spring.endInstant, at('2026-03-29T22:00:00Z'));
    assert.equal(length(spring), 23 * HOUR);
    const fall = periodContaining('daily', '2026-10-25', 'Europe/Berlin');
    assert.equal(fall.startInstant, at('2026-10-24T22:00:00Z'));
    assert.equal(fall.endInstant, at('2026-10-25T23:00:00Z'));
    assert.equal(length(fall), 25 * HOUR);
  });

  it('starts at the DST transition when local midnight does not exist (America/Santiago 2026-09-06)', () => {
    const day = periodContaining('daily', '2026-09-06', 'America/Santiago');
    assert.equal(day.startInstant, at('2026-09-06T04:00:00Z'));
    assert.equal(day.endInstant, at('2026-09-07T03:00:00Z'));
    assert.equal(length(day), 23 * HOUR);
    const before = periodContaining('daily', '2026-09-05', 'America/Santiago');
    assert.equal(before.endInstant, day.startInstant);
    assert.equal(length(before), 24 * HOUR);
  });

  it('follows the +05:45 offset of Asia/Kathmandu', () => {
    const day = periodContaining('daily', '2026-11-24', 'Asia/Kathmandu');
    assert.equal(day.startInstant, at('2026-11-23T18:15:00Z'));
    assert.equal(day.endInstant, at('2026-11-24T18:15:00Z'));
  });

  it('refuses a date that is not a local date', () => {
    assert.throws(() => periodContaining('daily', '2026-02-29', 'UTC'), RangeError);
    assert.throws(() => periodContaining('daily', '2026-11-24', 'Mars/Olympus'), RangeError);
  });
});

describe('periodContaining: weekly', () => {
  it('is the ISO week, Monday to Monday, named by its Monday (SPEC: 2026-11-23 is the week of 23 November)', () => {
    const expected = {
      frequency: 'weekly',
      timeZone: 'UTC',
      start: '2026-11-23',
      end: '2026-11-30',
      lastDay: '2026-11-29',
      startInstant: '2026-11-23T00:00:00.000Z',
      endInstant: '2026-11-30T00:00:00.000Z',
    };
    assert.deepEqual(readable(periodContaining('weekly', '2026-11-23', 'UTC')), expected);
    assert.deepEqual(readable(periodContaining('weekly', '2026-11-26', 'UTC')), expected);
    assert.deepEqual(readable(periodContaining('weekly', '2026-11-29', 'UTC')), expected);
    assert.equal(periodContaining('weekly', '2026-11-30', 'UTC').start, '2026-11-30');
  });

  it('crosses a year boundary: 2026-12-31 and 2027-01-01 are in the week of Monday 2026-12-28', () => {
    for (const date of ['2026-12-31', '2027-01-01', '2027-01-03']) {
      const week = periodContaining('weekly', date, 'Europe/Berlin');
      assert.equal(week.start, '2026-12-28', date);
      assert.equal(week.end, '2027-01-04', date);
      assert.equal(week.lastDay, '2027-01-03', date);
      assert.equal(week.startInstant, at('2026-12-27T23:00:00Z'), date);
      assert.equal(week.endInstant, at('2027-01-03T23:00:00Z'), date);
    }
  });

  it('is an hour longer in the week DST ends (Europe/Berlin, week of 2026-10-19)', () => {
    const week = periodContaining('weekly', '2026-10-25', 'Europe/Berlin');
    assert.equal(week.start, '2026-10-19');
    assert.equal(week.startInstant, at('2026-10-18T22:00:00Z'));
    assert.equal(week.endInstant, at('2026-10-25T23:00:00Z'));
    assert.equal(length(week), 7 * DAY + HOUR);
  });
});

describe('periodContaining: monthly', () => {
  it('is the calendar month, including 29 February 2028', () => {
    assert.deepEqual(readable(periodContaining('monthly', '2028-02-15', 'America/New_York')), {
      frequency: 'monthly',
      timeZone: 'America/New_York',
      start: '2028-02-01',
      end: '2028-03-01',
      lastDay: '2028-02-29',
      startInstant: '2028-02-01T05:00:00.000Z',
      endInstant: '2028-03-01T05:00:00.000Z',
    });
    assert.equal(periodContaining('monthly', '2026-02-28', 'UTC').lastDay, '2026-02-28');
    assert.equal(length(periodContaining('monthly', '2028-02-29', 'UTC')), 29 * DAY);
  });

  it('ends at the next year for December, and is 31 days less an hour for March in New York', () => {
    const december = periodContaining('monthly', '2026-12-31', 'UTC');
    assert.equal(december.start, '2026-12-01');
    assert.equal(december.end, '2027-01-01');
    assert.equal(december.lastDay, '2026-12-31');
    assert.equal(length(periodContaining('monthly', '2026-03-01', 'America/New_York')), 31 * DAY - HOUR);
  });

  it('follows Asia/Kathmandu', () => {
    const month = periodContaining('monthly', '2026-11-24', 'Asia/Kathmandu');
    assert.equal(month.startInstant, at('2026-10-31T18:15:00Z'));
    assert.equal(month.endInstant, at('2026-11-30T18:15:00Z'));
  });
});

describe('previousPeriod', () => {
  it('daily: a run at 03:00 America/Chicago on 2026-11-25 delivers 2026-11-24', () => {
    const period = previousPeriod('daily', at('2026-11-25T09:00:00Z'), 'America/Chicago');
    assert.deepEqual(readable(period), {
      frequency: 'daily',
      timeZone: 'America/Chicago',
      start: '2026-11-24',
      end: '2026-11-25',
      lastDay: '2026-11-24',
      startInstant: '2026-11-24T06:00:00.000Z',
      endInstant: '2026-11-25T06:00:00.000Z',
    });
    // 23:59:59.999 on the 24th in Chicago is still the 24th, though already the 25th in UTC.
    assert.equal(previousPeriod('daily', at('2026-11-25T05:59:59.999Z'), 'America/Chicago').start, '2026-11-23');
    assert.equal(previousPeriod('daily', at('2026-11-25T06:00:00.000Z'), 'America/Chicago').start, '2026-11-24');
  });

  it('daily: the local date decides in a zone ahead of UTC', () => {
    // 2026-11-24T15:30Z is 00:30 on the 25th in Tokyo.
    assert.equal(previousPeriod('daily', at('2026-11-24T15:30:00Z'), 'Asia/Tokyo').start, '2026-11-24');
  });

  it('weekly: a run on a Monday delivers the week before', () => {
    const period = previousPeriod('weekly', at('2026-11-30T12:00:00Z'), 'America/Chicago'); // Monday 06:00 CST
    assert.equal(period.start, '2026-11-23');
    assert.equal(period.end, '2026-11-30');
    assert.equal(period.lastDay, '2026-11-29');
    assert.equal(period.startInstant, at('2026-11-23T06:00:00Z'));
    assert.equal(period.endInstant, at('2026-11-30T06:00:00Z'));
    assert.equal(previousPeriod('weekly', at('2027-01-04T12:00:00Z'), 'America/Chicago').start, '2026-12-28');
  });

  it('monthly: runs on the first and second Saturday of December 2026 both deliver November 2026', () => {
    for (const nominal of ['2026-12-05T12:00:00Z', '2026-12-12T12:00:00Z']) {
      const period = previousPeriod('monthly', at(nominal), 'America/Chicago');
      assert.equal(period.frequency, 'monthly');
      assert.equal(period.start, '2026-11-01', nominal);
      assert.equal(period.end, '2026-12-01', nominal);
      assert.equal(period.lastDay, '2026-11-30', nominal);
      // November starts in CDT (-05:00) and ends in CST (-06:00).
      assert.equal(period.startInstant, at('2026-11-01T05:00:00Z'), nominal);
      assert.equal(period.endInstant, at('2026-12-01T06:00:00Z'), nominal);
    }
    assert.equal(previousPeriod('monthly', at('2027-01-02T12:00:00Z'), 'America/Chicago').start, '2026-12-01');
  });
});

describe('periodsBetween', () => {
  it('daily: every day of the inclusive range, contiguous', () => {
    const days = periodsBetween('daily', '2026-10-31', '2026-11-02', 'America/New_York');
    assert.deepEqual(
      days.map((day) => day.start),
      ['2026-10-31', '2026-11-01', '2026-11-02'],
    );
    assert.deepEqual(days.map(length), [24 * HOUR, 25 * HOUR, 24 * HOUR]);
    assert.equal(days[0]?.startInstant, at('2026-10-31T04:00:00Z'));
    assert.equal(days[0]?.endInstant, days[1]?.startInstant);
    assert.equal(days[1]?.endInstant, days[2]?.startInstant);
    assert.equal(days[2]?.endInstant, at('2026-11-03T05:00:00Z'));
  });

  it('daily: a single day when from equals to', () => {
    assert.deepEqual(periodsBetween('daily', '2026-11-24', '2026-11-24', 'UTC'), [periodContaining('daily', '2026-11-24', 'UTC')]);
  });

  it('weekly: includes the weeks only partly inside the range at both ends', () => {
    const weeks = periodsBetween('weekly', '2026-11-25', '2026-12-08', 'UTC'); // Wednesday to Tuesday
    assert.deepEqual(
      weeks.map((week) => [week.start, week.lastDay]),
      [
        ['2026-11-23', '2026-11-29'],
        ['2026-11-30', '2026-12-06'],
        ['2026-12-07', '2026-12-13'],
      ],
    );
    assert.deepEqual(
      periodsBetween('weekly', '2026-12-30', '2027-01-05', 'UTC').map((week) => week.start),
      ['2026-12-28', '2027-01-04'],
    );
  });

  it('weekly: a range that is exactly one week gives one period; a day more gives two', () => {
    assert.deepEqual(
      periodsBetween('weekly', '2026-11-23', '2026-11-29', 'UTC').map((week) => week.start),
      ['2026-11-23'],
    );
    assert.deepEqual(
      periodsBetween('weekly', '2026-11-23', '2026-11-30', 'UTC').map((week) => week.start),
      ['2026-11-23', '2026-11-30'],
    );
  });

  it('monthly: includes partial months at both ends', () => {
    const months = periodsBetween('monthly', '2026-11-15', '2027-02-01', 'America/Chicago');
    assert.deepEqual(
      months.map((month) => [month.start, month.end]),
      [
        ['2026-11-01', '2026-12-01'],
        ['2026-12-01', '2027-01-01'],
        ['2027-01-01', '2027-02-01'],
        ['2027-02-01', '2027-03-01'],
      ],
    );
    assert.equal(months[0]?.startInstant, at('2026-11-01T05:00:00Z'));
    assert.equal(months[0]?.endInstant, months[1]?.startInstant);
    assert.equal(months[3]?.endInstant, at('2027-03-01T06:00:00Z'));
  });

  it('refuses a range whose from is after its to, naming both dates', () => {
    assert.throws(
      () => periodsBetween('daily', '2026-11-25', '2026-11-24', 'UTC'),
      (error: unknown) => error instanceof RangeError && error.message.includes('2026-11-25') && error.message.includes('2026-11-24'),
    );
    assert.throws(() => periodsBetween('daily', '2026-11-24', '2026-11-31', 'UTC'), RangeError);
  });
});
