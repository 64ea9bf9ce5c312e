import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  addDays,
  addMonths,
  compactDate,
  fromEpochDay,
  isLocalDate,
  isoWeekday,
  startOfIsoWeek,
  startOfMonth,
  toEpochDay,
  weekdayKey,
} from '../../src/domain/local-date.js';

const MS_PER_DAY = 86_400_000;

describe('isLocalDate', () => {
  it('accepts real calendar dates written YYYY-MM-DD', () => {
    for (const date of ['2026-11-24', '2028-02-29', '2000-02-29', '0001-01-01', '9999-12-31', '2026-12-31', '2026-04-30']) {
      assert.equal(isLocalDate(date), true, date);
    }
  });

  it('refuses dates that do not exist and anything not strictly YYYY-MM-DD', () => {
    for (const value of [
      '2026-02-29', // 2026 is not a leap year
      '2100-02-29', // divisible by 100, not by 400
      '2026-02-30',
      '2026-04-31',
      '2026-13-01',
      '2026-00-10',
      '2026-01-00',
      '0000-12-31',
      '10000-01-01',
      '2026-1-01',
      '2026-01-1',
      '26-01-01',
      '2026/01/01',
      '20260101',
      ' 2026-01-01',
      '2026-01-01 ',
      '2026-01-01T00:00',
      '',
    ]) {
      assert.equal(isLocalDate(value), false, value);
    }
  });
});

describe('epoch days', () => {
  it('counts days from 1970-01-01', () => {
    assert.equal(toEpochDay('1970-01-01'), 0);
    assert.equal(toEpochDay('1970-01-02'), 1);
    assert.equal(toEpochDay('1969-12-31'), -1);
    // 30 years of 365 days plus 7 leap days (1972 … 1996).
    assert.equal(toEpochDay('2000-01-01'), 10_957);
    // 2000-01-01 plus 31 (January) plus 29 (February of a leap year).
    assert.equal(toEpochDay('2000-03-01'), 11_017);
    // 56 years with 14 leap days to 2026-01-01, then 327 days to 24 November.
    assert.equal(toEpochDay('2026-11-24'), 20_781);
    assert.equal(toEpochDay('0001-01-01'), -719_162);
    assert.equal(toEpochDay('9999-12-31'), 2_932_896);
  });

  it('turns epoch days back into dates', () => {
    assert.equal(fromEpochDay(0), '1970-01-01');
    assert.equal(fromEpochDay(-1), '1969-12-31');
    assert.equal(fromEpochDay(20_781), '2026-11-24');
    assert.equal(fromEpochDay(-719_162), '0001-01-01');
    assert.equal(fromEpochDay(2_932_896), '9999-12-31');
  });

  it('agrees with Date.UTC on every day from 1890 to 2110 and on samples over all years', () => {
    const check = (day: number) => {
      const expected = new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
      assert.equal(fromEpochDay(day), expected);
      assert.equal(toEpochDay(expected), day);
    };
    for (let day = toEpochDay('1890-01-01'); day <= toEpochDay('2110-12-31'); day += 1) check(day);
    for (let day = -719_162; day <= 2_932_896; day += 997) check(day);
  });

  it('refuses malformed dates and days outside years 0001–9999 with RangeError', () => {
    assert.throws(() => toEpochDay('2026-02-30'), RangeError);
    assert.throws(() => toEpochDay('tomorrow'), RangeError);
    assert.throws(() => fromEpochDay(2_932_897), RangeError);
    assert.throws(() => fromEpochDay(-719_163), RangeError);
    assert.throws(() => fromEpochDay(1.5), RangeError);
  });
});

describe('addDays and addMonths', () => {
  it('adds days across month, year and leap-day boundaries', () => {
    assert.equal(addDays('2026-12-31', 1), '2027-01-01');
    assert.equal(addDays('2027-01-01', -1), '2026-12-31');
    assert.equal(addDays('2028-02-28', 1), '2028-02-29');
    assert.equal(addDays('2026-02-28', 1), '2026-03-01');
    assert.equal(addDays('2026-03-01', -1), '2026-02-28');
    assert.equal(addDays('2026-11-24', 0), '2026-11-24');
    assert.equal(addDays('2026-11-23', 7), '2026-11-30');
    assert.equal(addDays('2026-01-01', 365), '2027-01-01');
    assert.equal(addDays('2028-01-01', 365), '2028-12-31');
  });

  it('adds months, clamping the day to the last day of the month', () => {
    assert.equal(addMonths('2026-01-31', 1), '2026-02-28');
    assert.equal(addMonths('2028-01-31', 1), '2028-02-29');
    assert.equal(addMonths('2026-03-31', -1), '2026-02-28');
    assert.equal(addMonths('2026-05-31', 1), '2026-06-30');
    assert.equal(addMonths('2026-11-15', 2), '2027-01-15');
    assert.equal(addMonths('2026-01-15', -1), '2025-12-15');
    assert.equal(addMonths('2026-08-31', -18), '2025-02-28');
    assert.equal(addMonths('2026-12-01', 1), '2027-01-01');
    assert.equal(addMonths('2026-11-24', 0), '2026-11-24');
    assert.equal(addMonths('2026-11-24', 24), '2028-11-24');
  });

  it('refuses results outside years 0001–9999', () => {
    assert.throws(() => addMonths('9999-12-01', 1), RangeError);
    assert.throws(() => addMonths('0001-01-31', -1), RangeError);
    assert.throws(() => addDays('9999-12-31', 1), RangeError);
  });
});

describe('weekdays and the starts of weeks and months', () => {
  it('gives ISO weekdays, Monday 1 to Sunday 7', () => {
    assert.equal(isoWeekday('2026-11-23'), 1); // SPEC §3: the week of Monday 23 November 2026
    assert.equal(isoWeekday('2026-11-24'), 2);
    assert.equal(isoWeekday('2026-11-29'), 7);
    assert.equal(isoWeekday('1970-01-01'), 4); // a Thursday
    assert.equal(isoWeekday('1969-12-29'), 1);
    assert.equal(isoWeekday('2000-01-01'), 6); // a Saturday
    assert.equal(isoWeekday('2027-01-01'), 5); // a Friday
    assert.equal(isoWeekday('2026-12-05'), 6); // the first Saturday of December 2026
  });

  it('gives the businessHours key of a date', () => {
    assert.deepEqual(['2026-11-23', '2026-11-24', '2026-11-25', '2026-11-26', '2026-11-27', '2026-11-28', '2026-11-29'].map(weekdayKey), [
      'mon',
      'tue',
      'wed',
      'thu',
      'fri',
      'sat',
      'sun',
    ]);
    assert.equal(weekdayKey('1969-12-31'), 'wed');
  });

  it('finds the Monday on or before a date, also across a year boundary', () => {
    assert.equal(startOfIsoWeek('2026-11-23'), '2026-11-23');
    assert.equal(startOfIsoWeek('2026-11-29'), '2026-11-23');
    assert.equal(startOfIsoWeek('2026-11-30'), '2026-11-30');
    assert.equal(startOfIsoWeek('2026-12-31'), '2026-12-28');
    assert.equal(startOfIsoWeek('2027-01-01'), '2026-12-28');
    assert.equal(startOfIsoWeek('2027-01-03'), '2026-12-28');
    assert.equal(startOfIsoWeek('2027-01-04'), '2027-01-04');
    assert.equal(startOfIsoWeek('2028-03-01'), '2028-02-28');
  });

  it('finds the first day of the month', () => {
    assert.equal(startOfMonth('2028-02-29'), '2028-02-01');
    assert.equal(startOfMonth('2026-12-31'), '2026-12-01');
    assert.equal(startOfMonth('2026-11-01'), '2026-11-01');
  });
});

describe('compactDate', () => {
  it('writes YYYYMMDD', () => {
    assert.equal(compactDate('2026-11-24'), '20261124');
    assert.equal(compactDate('0001-01-01'), '00010101');
    assert.throws(() => compactDate('2026-11-31'), RangeError);
  });
});
