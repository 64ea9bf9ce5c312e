import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_DUE_TIMES, dueInstant, firstScheduledRun, formatDueTime, parseDueSetting, parseDueTime } from '../../src/domain/deadlines.js';
import { InvalidClientSettingError } from '../../src/domain/errors.js';
import { periodContaining } from '../../src/domain/periods.js';
import { localTimeInstant } from '../../src/domain/time-zone.js';

const iso = (instant: number) => new Date(instant).toISOString();

describe('parseDueTime / parseDueSetting', () => {
  it('reads +N HH:MM and writes it back the same', () => {
    assert.deepEqual(parseDueTime('+0 09:00'), { daysAfterEnd: 0, minuteOfDay: 540 });
    assert.deepEqual(parseDueTime('+31 23:59'), { daysAfterEnd: 31, minuteOfDay: 1439 });
    for (const text of ['+0 09:00', '+7 00:30', '+31 23:59']) assert.equal(formatDueTime(parseDueTime(text)!), text);
  });

  it('refuses other shapes, hours and day counts', () => {
    for (const text of ['0 09:00', '+1 9:00', '+1 24:00', '+1 09:60', '+32 09:00', '+-1 09:00', '+1 09:00 ', '']) {
      assert.equal(parseDueTime(text), null, text);
    }
  });

  it('null means the default; a bad value names the client, the field, the value and what is allowed', () => {
    assert.equal(parseDueSetting('acme', null), null);
    assert.equal(parseDueSetting('acme', undefined), null);
    assert.throws(
      () => parseDueSetting('acme', '+1 25:00'),
      (error: unknown) => {
        assert.ok(error instanceof InvalidClientSettingError);
        assert.match(error.message, /client "acme": due is "\+1 25:00"; allowed: "\+N HH:MM"/);
        return true;
      },
    );
    assert.throws(() => parseDueSetting('acme', 9), /due is 9; allowed/);
  });
});

describe('dueInstant', () => {
  it('is local time on the N-th day after the period end date, in the client zone', () => {
    const day = periodContaining('daily', '2026-11-30', 'America/Chicago');
    assert.equal(iso(dueInstant(day, DEFAULT_DUE_TIMES.daily)), '2026-12-01T15:00:00.000Z');
    const month = periodContaining('monthly', '2026-11-12', 'Europe/Berlin');
    assert.equal(iso(dueInstant(month, DEFAULT_DUE_TIMES.monthly)), '2026-12-08T08:00:00.000Z');
    assert.equal(iso(dueInstant(day, parseDueTime('+2 00:15')!)), '2026-12-03T06:15:00.000Z');
  });

  it('follows the offset in force on the due day, and a skipped local time gives the transition instant', () => {
    // America/New_York: DST starts 2026-03-08 at 02:00 local (07:00Z); 02:30 does not exist.
    const day = periodContaining('daily', '2026-03-07', 'America/New_York');
    assert.equal(iso(dueInstant(day, parseDueTime('+0 09:00')!)), '2026-03-08T13:00:00.000Z');
    assert.equal(iso(dueInstant(day, parseDueTime('+0 02:30')!)), '2026-03-08T07:00:00.000Z');
    assert.equal(iso(dueInstant(day, parseDueTime('+0 01:30')!)), '2026-03-08T06:30:00.000Z');
  });
});

describe('localTimeInstant', () => {
  it('gives the first of a local time that occurs twice (DST end)', () => {
    // America/New_York: 2026-11-01 01:30 local happens at 05:30Z (EDT) and 06:30Z (EST).
    assert.equal(iso(localTimeInstant('America/New_York', '2026-11-01', 90)), '2026-11-01T05:30:00.000Z');
  });
});

describe('firstScheduledRun', () => {
  const at0300 = { hour: 3, minute: 0 };
  it('daily: the period end date at the schedule time', () => {
    assert.equal(iso(firstScheduledRun(periodContaining('daily', '2026-11-30', 'Asia/Tokyo'), at0300)), '2026-11-30T18:00:00.000Z');
  });
  it('weekly: the Monday that ends the week', () => {
    assert.equal(iso(firstScheduledRun(periodContaining('weekly', '2026-11-25', 'UTC'), at0300)), '2026-11-30T03:00:00.000Z');
  });
  it('monthly: the first Saturday on or after the month end (day 1 to 7)', () => {
    // December 2026 begins on a Tuesday: first Saturday is the 5th; August 2026 begins on a Saturday.
    assert.equal(iso(firstScheduledRun(periodContaining('monthly', '2026-11-10', 'UTC'), at0300)), '2026-12-05T03:00:00.000Z');
    assert.equal(iso(firstScheduledRun(periodContaining('monthly', '2026-07-10', 'UTC'), at0300)), '2026-08-01T03:00:00.000Z');
  });
});
