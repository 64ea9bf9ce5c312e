import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidClientSettingError } from '../../src/domain/errors.js';
import {
  DEFAULT_LATE_DATA,
  DEFAULT_LOOKBACK,
  describeLateData,
  isInLookback,
  lookbackEnds,
  lookbackFloor,
  parseLateDataSetting,
  parseLookback,
  planCheck,
  revisionReason,
  type FingerprintedBuild,
  type SourceFingerprint,
} from '../../src/domain/late-data.js';
import { addDays } from '../../src/domain/local-date.js';
import { periodContaining } from '../../src/domain/periods.js';

describe('parseLateDataSetting', () => {
  it('defaults to report, the frequency’s lookback, dimensions counted and no corrections', () => {
    assert.deepEqual(parseLateDataSetting('acme', null), DEFAULT_LATE_DATA);
    assert.deepEqual(parseLateDataSetting('acme', undefined), { policy: 'report', corrections: false, dimensions: true, lookback: null });
  });

  it('takes a policy name alone, or an object with any of its keys', () => {
    assert.equal(parseLateDataSetting('acme', 'restate').policy, 'restate');
    assert.equal(parseLateDataSetting('acme', 'off').policy, 'off');
    assert.deepEqual(parseLateDataSetting('acme', { policy: 'restate', corrections: true, dimensions: false, lookback: '10 days' }), {
      policy: 'restate',
      corrections: true,
      dimensions: false,
      lookback: { count: 10, unit: 'day' },
    });
    assert.deepEqual(parseLateDataSetting('acme', { corrections: true }), { ...DEFAULT_LATE_DATA, corrections: true });
    assert.deepEqual(parseLookback('1 month'), { count: 1, unit: 'month' });
  });

  it('refuses anything else, naming the client, the field, the value and what is allowed', () => {
    const cases: Array<[unknown, RegExp]> = [
      ['sometimes', /client "acme": late_data is "sometimes"; allowed: "off", "report", "restate"/],
      [7, /late_data is 7; allowed: "off", "report" or "restate", or \{"policy"/],
      [{ policy: 'loud' }, /late_data\.policy is "loud"; allowed: "off", "report", "restate"/],
      [{ corrections: 'yes' }, /late_data\.corrections is "yes"; allowed: true or false/],
      [{ lookback: '7 fortnights' }, /late_data\.lookback is "7 fortnights"; allowed: "N days" \(up to 366\)/],
      [{ lookback: '700 days' }, /late_data\.lookback is "700 days"/],
      [{ lookback: '0 days' }, /late_data\.lookback is "0 days"/],
      [{ polciy: 'off' }, /late_data\.polciy is "off"; allowed: only the keys policy, corrections, dimensions, lookback/],
    ];
    for (const [value, message] of cases) {
      assert.throws(
        () => parseLateDataSetting('acme', value),
        (error: unknown) => error instanceof InvalidClientSettingError && message.test(error.message),
        JSON.stringify(value),
      );
    }
  });

  it('describes the setting as clients list shows it', () => {
    assert.equal(describeLateData(DEFAULT_LATE_DATA, 'monthly'), 'late data report (lookback 2 months)');
    assert.equal(
      describeLateData(parseLateDataSetting('acme', { policy: 'restate', corrections: true, dimensions: false, lookback: '1 week' }), 'daily'),
      'late data restate (corrections, events only, lookback 1 week)',
    );
    assert.equal(describeLateData(parseLateDataSetting('acme', 'off'), 'daily'), 'late data off');
  });
});

describe('lookback', () => {
  it('defaults by frequency: 7 days, 5 weeks, 2 months after the period', () => {
    assert.deepEqual(DEFAULT_LOOKBACK, { daily: { count: 7, unit: 'day' }, weekly: { count: 5, unit: 'week' }, monthly: { count: 2, unit: 'month' } });
    const day = periodContaining('daily', '2026-11-24', 'America/Chicago');
    assert.equal(lookbackEnds(day, DEFAULT_LOOKBACK.daily), '2026-12-02');
    assert.ok(isInLookback(day, DEFAULT_LOOKBACK.daily, '2026-12-01'));
    assert.ok(!isInLookback(day, DEFAULT_LOOKBACK.daily, '2026-12-02'));
    const week = periodContaining('weekly', '2026-11-24', 'Europe/Berlin');
    assert.equal(lookbackEnds(week, DEFAULT_LOOKBACK.weekly), '2027-01-04');
  });

  it("a monthly client's boundary: the whole of the second month after, not a day more, across a year's end and a short February", () => {
    const november = periodContaining('monthly', '2026-11-15', 'Asia/Tokyo');
    assert.equal(november.end, '2026-12-01');
    assert.equal(lookbackEnds(november, DEFAULT_LOOKBACK.monthly), '2027-02-01');
    assert.ok(isInLookback(november, DEFAULT_LOOKBACK.monthly, '2026-12-01'), 'the day after the month');
    assert.ok(isInLookback(november, DEFAULT_LOOKBACK.monthly, '2027-01-31'), 'the last day of the second month after');
    assert.ok(!isInLookback(november, DEFAULT_LOOKBACK.monthly, '2027-02-01'), 'the first day of the third month after');
    const december = periodContaining('monthly', '2026-12-31', 'Asia/Tokyo');
    assert.equal(lookbackEnds(december, DEFAULT_LOOKBACK.monthly), '2027-03-01');
    assert.ok(isInLookback(december, DEFAULT_LOOKBACK.monthly, '2027-02-28'));
    assert.ok(!isInLookback(december, DEFAULT_LOOKBACK.monthly, '2027-03-01'));
    // A daily period looked back on for a month ends on the same day a month later, or the month's last day.
    const lastOfJanuary = periodContaining('daily', '2027-01-30', 'UTC');
    assert.equal(lookbackEnds(lastOfJanuary, { count: 1, unit: 'month' }), '2027-02-28');
  });

  it('narrows a query without leaving out a period still inside', () => {
    for (const [frequency, date] of [
      ['daily', '2026-11-24'],
      ['weekly', '2026-11-23'],
      ['monthly', '2026-10-01'],
    ] as const) {
      const period = periodContaining(frequency, date, 'UTC');
      const lookback = DEFAULT_LOOKBACK[frequency];
      const lastDayInside = addDays(lookbackEnds(period, lookback), -1);
      assert.ok(period.start >= lookbackFloor(lastDayInside, lookback), `${frequency} ${date}`);
    }
  });
});

describe('planCheck', () => {
  const fingerprint = (rows: number, events: string, joined: string): SourceFingerprint => ({ rows, events, joined });
  const delivered: FingerprintedBuild = { sha256: 'a'.repeat(64), fingerprint: fingerprint(3, '100', '200') };
  const base = { policy: 'report' as const, dimensions: true, deliveredSha256: delivered.sha256, driftRecorded: false, builds: [delivered] };

  it('the cheap path: a source equal to the delivered file’s needs no rebuild', () => {
    assert.deepEqual(planCheck({ ...base, current: fingerprint(3, '100', '200') }), { kind: 'unchanged' });
  });

  it('a drift recorded under report needs nothing read; under restate it is checked again', () => {
    assert.deepEqual(planCheck({ ...base, driftRecorded: true, current: null }), { kind: 'already-recorded' });
    assert.deepEqual(planCheck({ ...base, policy: 'restate', driftRecorded: true, current: fingerprint(3, '100', '200') }), { kind: 'unchanged' });
  });

  it('another source needs a rebuild, unless a build of that very source is known', () => {
    assert.deepEqual(planCheck({ ...base, current: fingerprint(4, '150', '260') }), { kind: 'rebuild' });
    const later: FingerprintedBuild = { sha256: 'b'.repeat(64), fingerprint: fingerprint(4, '150', '260') };
    assert.deepEqual(planCheck({ ...base, builds: [later, delivered], current: fingerprint(4, '150', '260') }), { kind: 'drifted', build: later });
    const back: FingerprintedBuild = { sha256: delivered.sha256, fingerprint: fingerprint(4, '150', '260') };
    assert.deepEqual(planCheck({ ...base, builds: [back], current: fingerprint(4, '150', '260') }), { kind: 'unchanged' });
  });

  it('dimensions: a changed agent or customer is a maybe when it counts, nothing when only events count', () => {
    const renamed = fingerprint(3, '100', '999');
    assert.deepEqual(planCheck({ ...base, current: renamed }), { kind: 'rebuild' });
    assert.deepEqual(planCheck({ ...base, dimensions: false, current: renamed }), { kind: 'unchanged' });
    assert.deepEqual(planCheck({ ...base, dimensions: false, current: fingerprint(3, '101', '200') }), { kind: 'rebuild' });
  });

  it('a revision delivered before fingerprints were kept is rebuilt once', () => {
    assert.deepEqual(planCheck({ ...base, builds: [], current: fingerprint(3, '100', '200') }), { kind: 'rebuild' });
  });
});

describe('revisionReason', () => {
  it('says why each revision exists', () => {
    assert.equal(revisionReason(1, null), 'first delivery');
    assert.equal(revisionReason(1, 'restated-for-drift'), 'first delivery');
    assert.equal(revisionReason(2, null), 'forced');
    assert.equal(revisionReason(3, 'restated-for-drift'), 'restated for drift');
  });
});
