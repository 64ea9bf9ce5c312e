import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAfterHours } from '../../src/domain/after-hours-settings.js';
import { InvalidClientSettingError } from '../../src/domain/errors.js';
import { CHICAGO, CLIENT, settings } from './after-hours-fixtures.js';

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
        tue: [
          { openMinute: 480, closeMinute: 720 },
          { openMinute: 780, closeMinute: 1020 },
        ],
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
    const parsed = settings({
      businessHours: {
        mon: [
          ['12:00', '17:00'],
          ['08:00', '12:00'],
          ['09:00', '10:00'],
          ['18:00', '19:00'],
        ],
      },
    });
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
      {
        name: 'a window of three times',
        raw: { businessHours: { mon: [['08:00', '12:00', '17:00']] } },
        field: 'after_hours.businessHours.mon[0]',
        given: '["08:00","12:00","17:00"]',
      },
      { name: 'numbers as times', raw: { businessHours: { mon: [[8, 17]] } }, field: 'after_hours.businessHours.mon[0][0]', given: '8' },
      {
        name: 'hour 25',
        raw: {
          businessHours: {
            tue: [
              ['08:00', '12:00'],
              ['25:00', '26:00'],
            ],
          },
        },
        field: 'after_hours.businessHours.tue[1][0]',
        given: '"25:00"',
      },
      { name: 'a one-digit hour', raw: { businessHours: { mon: [['8:00', '17:00']] } }, field: 'after_hours.businessHours.mon[0][0]', given: '"8:00"' },
      { name: 'minute 60', raw: { businessHours: { mon: [['08:00', '16:60']] } }, field: 'after_hours.businessHours.mon[0][1]', given: '"16:60"' },
      { name: 'a close of 24:01', raw: { businessHours: { sun: [['20:00', '24:01']] } }, field: 'after_hours.businessHours.sun[0][1]', given: '"24:01"' },
      { name: 'an open of 24:00', raw: { businessHours: { sun: [['24:00', '24:00']] } }, field: 'after_hours.businessHours.sun[0][0]', given: '"24:00"' },
      { name: 'a close of 00:00', raw: { businessHours: { sun: [['20:00', '00:00']] } }, field: 'after_hours.businessHours.sun[0][1]', given: '"00:00"' },
      {
        name: 'a close before the open',
        raw: { businessHours: { wed: [['17:00', '08:00']] } },
        field: 'after_hours.businessHours.wed[0][1]',
        given: '"08:00"',
      },
      {
        name: 'a close equal to the open',
        raw: { businessHours: { thu: [['09:00', '09:00']] } },
        field: 'after_hours.businessHours.thu[0][1]',
        given: '"09:00"',
      },
      { name: 'holidays that are not a list', raw: { businessHours: {}, holidays: '2026-12-25' }, field: 'after_hours.holidays', given: '"2026-12-25"' },
      {
        name: 'a date that does not exist',
        raw: { businessHours: {}, holidays: ['2026-12-25', '2026-01-01', '2026-02-30'] },
        field: 'after_hours.holidays[2]',
        given: '"2026-02-30"',
      },
      { name: 'a date as a number', raw: { businessHours: {}, holidays: [20261225] }, field: 'after_hours.holidays[0]', given: '20261225' },
      {
        name: 'a date with a time',
        raw: { businessHours: {}, holidays: ['2026-12-25T00:00:00Z'] },
        field: 'after_hours.holidays[0]',
        given: '"2026-12-25T00:00:00Z"',
      },
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
