import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { businessIntervals } from '../../src/domain/business-intervals.js';
import { at, CHICAGO, readable, settings, WEEK_FROM, WEEK_TO } from './after-hours-fixtures.js';

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
    const alwaysOpen = {
      mon: [['00:00', '24:00']],
      tue: [['00:00', '24:00']],
      wed: [['00:00', '24:00']],
      thu: [['00:00', '24:00']],
      fri: [['00:00', '24:00']],
      sat: [['00:00', '24:00']],
      sun: [['00:00', '24:00']],
    };
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
