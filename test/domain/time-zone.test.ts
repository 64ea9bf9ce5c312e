import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidClientSettingError } from '../../src/domain/errors.js';
import {
  canonicalTimeZone,
  isCanonicalTimeZone,
  isTimeZone,
  localDateOf,
  parseTimeZoneSetting,
  offsetAt,
  offsetSegments,
  startOfLocalDate,
  type OffsetSegment,
} from '../../src/domain/time-zone.js';

const HOUR = 3_600_000;
const MINUTE = 60_000;
const at = (iso: string): number => {
  const instant = Date.parse(iso);
  assert.ok(Number.isFinite(instant), `bad test instant ${iso}`);
  return instant;
};
/** Segments written as [start ISO, end ISO, offset in minutes], for readable expectations. */
const readable = (segments: OffsetSegment[]) =>
  segments.map((segment) => [new Date(segment.start).toISOString(), new Date(segment.end).toISOString(), segment.offsetMs / MINUTE]);

describe('isTimeZone', () => {
  it('accepts IANA zones, UTC and links', () => {
    for (const zone of ['UTC', 'America/Chicago', 'Europe/Berlin', 'Asia/Kathmandu', 'Australia/Lord_Howe', 'Pacific/Chatham', 'US/Eastern', 'Etc/GMT+5']) {
      assert.equal(isTimeZone(zone), true, zone);
    }
  });

  it('refuses empty, unknown and offset-style names', () => {
    for (const zone of ['', 'Mars/Olympus', '+05:00', '-03', '+0530', 'America/Chicago ', 'GMT+25', 'Europe']) {
      assert.equal(isTimeZone(zone), false, zone);
    }
  });
});

describe('canonical time zones', () => {
  it('accepts IANA names in their own spelling, including renamed zones ICU knows by their old id', () => {
    for (const zone of [
      'UTC',
      'America/Chicago',
      'Europe/Berlin',
      'Asia/Tokyo',
      'Asia/Kolkata',
      'Europe/Kyiv',
      'Asia/Ho_Chi_Minh',
      'America/Argentina/Buenos_Aires',
      'Etc/GMT+5',
    ]) {
      assert.equal(canonicalTimeZone(zone), zone, zone);
      assert.equal(isCanonicalTimeZone(zone), true, zone);
    }
  });

  it('names the canonical spelling of wrong case, abbreviations, links and old ids, and null for unknown zones', () => {
    const expected: Record<string, string | null> = {
      est: 'America/Panama',
      'america/chicago': 'America/Chicago',
      'US/Eastern': 'America/New_York',
      'Asia/Calcutta': 'Asia/Kolkata',
      'Etc/UTC': 'UTC',
      utc: 'UTC',
      'Mars/Olympus': null,
      '+05:00': null,
    };
    for (const [zone, canonical] of Object.entries(expected)) {
      assert.equal(canonicalTimeZone(zone), canonical, zone);
      assert.equal(isCanonicalTimeZone(zone), false, zone);
    }
  });

  it('refuses a non-canonical setting naming client, field, value and the spelling to use', () => {
    assert.equal(parseTimeZoneSetting('acme', 'timezone', 'America/Chicago'), 'America/Chicago');
    assert.throws(
      () => parseTimeZoneSetting('acme', 'timezone', 'america/chicago'),
      (error: unknown) =>
        error instanceof InvalidClientSettingError &&
        /^client "acme": timezone is "america\/chicago"; allowed: an IANA time zone .*; did you mean "America\/Chicago"\?/.test(error.message),
    );
    assert.throws(
      () => parseTimeZoneSetting('acme', 'after_hours.timezone', 42),
      /client "acme": after_hours\.timezone is 42; allowed: an IANA time zone such as "America\/Chicago" or "UTC"$/,
    );
  });
});

describe('offsetAt', () => {
  it('gives the UTC offset in milliseconds at known instants', () => {
    assert.equal(offsetAt('UTC', at('2026-11-24T13:05:22.123Z')), 0);
    assert.equal(offsetAt('America/New_York', at('2026-01-15T12:00:00Z')), -5 * HOUR);
    assert.equal(offsetAt('America/New_York', at('2026-07-15T12:00:00Z')), -4 * HOUR);
    assert.equal(offsetAt('Europe/Berlin', at('2026-01-15T12:00:00Z')), 1 * HOUR);
    assert.equal(offsetAt('Europe/Berlin', at('2026-07-15T12:00:00Z')), 2 * HOUR);
    assert.equal(offsetAt('Asia/Kathmandu', at('2026-11-24T00:00:00Z')), 5 * HOUR + 45 * MINUTE);
    assert.equal(offsetAt('Pacific/Chatham', at('2026-01-15T00:00:00Z')), 13 * HOUR + 45 * MINUTE);
    assert.equal(offsetAt('Pacific/Chatham', at('2026-07-15T00:00:00Z')), 12 * HOUR + 45 * MINUTE);
    assert.equal(offsetAt('Australia/Lord_Howe', at('2026-01-15T00:00:00Z')), 11 * HOUR);
    assert.equal(offsetAt('Australia/Lord_Howe', at('2026-07-15T00:00:00Z')), 10 * HOUR + 30 * MINUTE);
    assert.equal(offsetAt('America/St_Johns', at('2026-01-15T00:00:00Z')), -(3 * HOUR + 30 * MINUTE));
  });

  it('changes at the exact millisecond of a transition', () => {
    // US daylight saving time starts 2026-03-08 02:00 EST = 07:00Z.
    assert.equal(offsetAt('America/New_York', at('2026-03-08T06:59:59.999Z')), -5 * HOUR);
    assert.equal(offsetAt('America/New_York', at('2026-03-08T07:00:00.000Z')), -4 * HOUR);
    // And ends 2026-11-01 02:00 EDT = 06:00Z.
    assert.equal(offsetAt('America/New_York', at('2026-11-01T05:59:59.999Z')), -4 * HOUR);
    assert.equal(offsetAt('America/New_York', at('2026-11-01T06:00:00.000Z')), -5 * HOUR);
  });

  it('throws RangeError for a name that is not a zone', () => {
    assert.throws(() => offsetAt('Mars/Olympus', 0), RangeError);
    assert.throws(() => offsetAt('+05:00', 0), RangeError);
  });
});

describe('offsetSegments', () => {
  it('splits 2026 in New York exactly at the US transitions', () => {
    assert.deepEqual(readable(offsetSegments('America/New_York', at('2026-01-01T00:00:00Z'), at('2027-01-01T00:00:00Z'))), [
      ['2026-01-01T00:00:00.000Z', '2026-03-08T07:00:00.000Z', -300],
      ['2026-03-08T07:00:00.000Z', '2026-11-01T06:00:00.000Z', -240],
      ['2026-11-01T06:00:00.000Z', '2027-01-01T00:00:00.000Z', -300],
    ]);
  });

  it('splits 2026 in Berlin exactly at the EU transitions (01:00 UTC, last Sundays of March and October)', () => {
    assert.deepEqual(readable(offsetSegments('Europe/Berlin', at('2026-01-01T00:00:00Z'), at('2027-01-01T00:00:00Z'))), [
      ['2026-01-01T00:00:00.000Z', '2026-03-29T01:00:00.000Z', 60],
      ['2026-03-29T01:00:00.000Z', '2026-10-25T01:00:00.000Z', 120],
      ['2026-10-25T01:00:00.000Z', '2027-01-01T00:00:00.000Z', 60],
    ]);
  });

  it('handles the half-hour daylight saving shift of Lord Howe Island', () => {
    // Ends 2026-04-05 02:00 +11:00; starts 2026-10-04 02:00 +10:30.
    assert.deepEqual(readable(offsetSegments('Australia/Lord_Howe', at('2026-01-01T00:00:00Z'), at('2027-01-01T00:00:00Z'))), [
      ['2026-01-01T00:00:00.000Z', '2026-04-04T15:00:00.000Z', 660],
      ['2026-04-04T15:00:00.000Z', '2026-10-03T15:30:00.000Z', 630],
      ['2026-10-03T15:30:00.000Z', '2027-01-01T00:00:00.000Z', 660],
    ]);
  });

  it('handles the +12:45/+13:45 offsets of the Chatham Islands', () => {
    // Ends 2026-04-05 03:45 +13:45; starts 2026-09-27 02:45 +12:45.
    assert.deepEqual(readable(offsetSegments('Pacific/Chatham', at('2026-01-01T00:00:00Z'), at('2027-01-01T00:00:00Z'))), [
      ['2026-01-01T00:00:00.000Z', '2026-04-04T14:00:00.000Z', 825],
      ['2026-04-04T14:00:00.000Z', '2026-09-26T14:00:00.000Z', 765],
      ['2026-09-26T14:00:00.000Z', '2027-01-01T00:00:00.000Z', 825],
    ]);
  });

  it('gives one segment for a zone without transitions', () => {
    assert.deepEqual(readable(offsetSegments('Asia/Kathmandu', at('2026-01-01T00:00:00Z'), at('2027-01-01T00:00:00Z'))), [
      ['2026-01-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z', 345],
    ]);
  });

  it('is exact at the edges of the range', () => {
    assert.deepEqual(offsetSegments('America/New_York', at('2026-03-08T06:59:59.999Z'), at('2026-03-08T07:00:00.001Z')), [
      { start: at('2026-03-08T06:59:59.999Z'), end: at('2026-03-08T07:00:00.000Z'), offsetMs: -5 * HOUR },
      { start: at('2026-03-08T07:00:00.000Z'), end: at('2026-03-08T07:00:00.001Z'), offsetMs: -4 * HOUR },
    ]);
    // A range starting at the transition has the new offset only; one ending there, the old only.
    assert.deepEqual(offsetSegments('America/New_York', at('2026-03-08T07:00:00Z'), at('2026-03-08T08:00:00Z')), [
      { start: at('2026-03-08T07:00:00Z'), end: at('2026-03-08T08:00:00Z'), offsetMs: -4 * HOUR },
    ]);
    assert.deepEqual(offsetSegments('America/New_York', at('2026-03-08T06:00:00Z'), at('2026-03-08T07:00:00Z')), [
      { start: at('2026-03-08T06:00:00Z'), end: at('2026-03-08T07:00:00Z'), offsetMs: -5 * HOUR },
    ]);
  });

  it('is empty for an empty range', () => {
    assert.deepEqual(offsetSegments('Europe/Berlin', at('2026-03-29T01:00:00Z'), at('2026-03-29T01:00:00Z')), []);
    assert.deepEqual(offsetSegments('Europe/Berlin', at('2026-03-30T00:00:00Z'), at('2026-03-29T00:00:00Z')), []);
  });

  it('covers several transitions in one call, contiguously, with every offset right', () => {
    const from = at('2020-01-01T00:00:00Z');
    const to = at('2030-01-01T00:00:00Z');
    const segments = offsetSegments('Europe/Berlin', from, to);
    assert.equal(segments.length, 21); // two transitions a year for ten years
    assert.equal(segments[0]?.start, from);
    assert.equal(segments.at(-1)?.end, to);
    segments.forEach((segment, index) => {
      const next = segments[index + 1];
      if (next) {
        assert.equal(segment.end, next.start);
        assert.notEqual(segment.offsetMs, next.offsetMs);
      }
      assert.equal(offsetAt('Europe/Berlin', segment.start), segment.offsetMs);
      assert.equal(offsetAt('Europe/Berlin', segment.end - 1), segment.offsetMs);
    });
  });
});

describe('localDateOf', () => {
  it('gives the local date, changing exactly at local midnight', () => {
    assert.equal(localDateOf('America/New_York', at('2026-11-25T04:59:59.999Z')), '2026-11-24');
    assert.equal(localDateOf('America/New_York', at('2026-11-25T05:00:00.000Z')), '2026-11-25');
    assert.equal(localDateOf('Asia/Kathmandu', at('2026-11-23T18:14:59.999Z')), '2026-11-23');
    assert.equal(localDateOf('Asia/Kathmandu', at('2026-11-23T18:15:00.000Z')), '2026-11-24');
    assert.equal(localDateOf('Pacific/Kiritimati', at('2026-11-24T10:00:00Z')), '2026-11-25'); // UTC+14
    assert.equal(localDateOf('Pacific/Pago_Pago', at('2026-11-24T10:00:00Z')), '2026-11-23'); // UTC-11
    assert.equal(localDateOf('UTC', at('2026-11-24T23:59:59.999Z')), '2026-11-24');
  });
});

describe('startOfLocalDate', () => {
  it('gives the instant of local midnight', () => {
    assert.equal(startOfLocalDate('UTC', '2026-11-24'), at('2026-11-24T00:00:00Z'));
    assert.equal(startOfLocalDate('America/New_York', '2026-11-24'), at('2026-11-24T05:00:00Z'));
    assert.equal(startOfLocalDate('America/New_York', '2026-03-08'), at('2026-03-08T05:00:00Z'));
    assert.equal(startOfLocalDate('America/New_York', '2026-03-09'), at('2026-03-09T04:00:00Z'));
    assert.equal(startOfLocalDate('Europe/Berlin', '2026-10-25'), at('2026-10-24T22:00:00Z'));
    assert.equal(startOfLocalDate('Asia/Kathmandu', '2026-11-24'), at('2026-11-23T18:15:00Z'));
    assert.equal(startOfLocalDate('Pacific/Chatham', '2026-09-27'), at('2026-09-26T11:15:00Z'));
  });

  it('gives the transition instant when DST starts at midnight (America/Santiago, 2026-09-06)', () => {
    // Clocks go from 00:00 -04:00 straight to 01:00 -03:00 at 04:00Z: local midnight never happens.
    const start = startOfLocalDate('America/Santiago', '2026-09-06');
    assert.equal(start, at('2026-09-06T04:00:00Z'));
    assert.equal(offsetAt('America/Santiago', start), -3 * HOUR);
    assert.equal(localDateOf('America/Santiago', start), '2026-09-06');
    assert.equal(localDateOf('America/Santiago', start - 1), '2026-09-05');
    // Same in Havana, where DST starts at 00:00 -05:00 on 2026-03-08.
    assert.equal(startOfLocalDate('America/Havana', '2026-03-08'), at('2026-03-08T05:00:00Z'));
  });

  it('gives the first of two midnights when DST ends at 01:00 (America/Havana, 2026-11-01)', () => {
    // 00:00 -04:00 is 04:00Z; at 05:00Z (01:00 -04:00) clocks go back to 00:00 -05:00.
    assert.equal(startOfLocalDate('America/Havana', '2026-11-01'), at('2026-11-01T04:00:00Z'));
  });

  it('skips the hour that DST removes at the end of a day (America/Santiago, 2026-04-05)', () => {
    // At 03:00Z, 00:00 -03:00 becomes 23:00 -04:00 of the 4th; 5 April starts an hour later.
    assert.equal(startOfLocalDate('America/Santiago', '2026-04-04'), at('2026-04-04T03:00:00Z'));
    assert.equal(startOfLocalDate('America/Santiago', '2026-04-05'), at('2026-04-05T04:00:00Z'));
  });

  it('follows the half-hour shifts of Lord Howe Island', () => {
    assert.equal(startOfLocalDate('Australia/Lord_Howe', '2026-10-04'), at('2026-10-03T13:30:00Z')); // +10:30
    assert.equal(startOfLocalDate('Australia/Lord_Howe', '2026-10-05'), at('2026-10-04T13:00:00Z')); // +11:00
    assert.equal(startOfLocalDate('Australia/Lord_Howe', '2026-04-05'), at('2026-04-04T13:00:00Z')); // +11:00
    assert.equal(startOfLocalDate('Australia/Lord_Howe', '2026-04-06'), at('2026-04-05T13:30:00Z')); // +10:30
  });

  it('handles a local date that does not exist at all (Samoa skipped 2011-12-30)', () => {
    // 2011-12-29 24:00 -10:00 was followed by 2011-12-31 00:00 +14:00, at 10:00Z.
    assert.equal(startOfLocalDate('Pacific/Apia', '2011-12-30'), at('2011-12-30T10:00:00Z'));
    assert.equal(startOfLocalDate('Pacific/Apia', '2011-12-31'), at('2011-12-30T10:00:00Z'));
  });
});
