import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_BACKFILL_PERIODS, assertBackfillRange, countPeriods } from '../../src/domain/backfill-range.js';
import { UsageError } from '../../src/domain/errors.js';
import { periodsBetween } from '../../src/domain/periods.js';

describe('backfill range', () => {
  it('counts the periods touching a range, as periodsBetween lists them', () => {
    const ranges: [string, string][] = [
      ['2026-11-01', '2026-11-01'],
      ['2026-10-28', '2026-11-10'],
      ['2024-02-28', '2024-03-01'],
      ['2019-12-30', '2026-01-04'],
      ['2026-01-31', '2027-02-01'],
    ];
    for (const frequency of ['daily', 'weekly', 'monthly'] as const) {
      for (const [from, to] of ranges) {
        assert.equal(countPeriods(frequency, from, to), periodsBetween(frequency, from, to, 'UTC').length, `${frequency} ${from}…${to}`);
      }
    }
  });

  it('accepts up to MAX_BACKFILL_PERIODS periods', () => {
    assert.equal(MAX_BACKFILL_PERIODS, 10_000);
    assert.doesNotThrow(() => assertBackfillRange('daily', '2000-01-01', '2027-05-18')); // 10,000 days
    assert.doesNotThrow(() => assertBackfillRange('monthly', '2020-01-01', '2853-04-30')); // 10,000 months
    assert.throws(() => assertBackfillRange('monthly', '2020-01-01', '2853-05-01'), /covers 10001 monthly periods/);
  });

  it('refuses a larger range naming --from, --to, the count and the limit', () => {
    assert.throws(
      () => assertBackfillRange('daily', '2000-01-01', '2027-05-19'),
      (error: unknown) => {
        assert.ok(error instanceof UsageError);
        assert.equal(error.name, 'UsageError');
        assert.equal(
          error.message,
          '--from 2000-01-01 --to 2027-05-19 covers 10001 daily periods; allowed: at most 10000 periods in one backfill (split the range)',
        );
        return true;
      },
    );
    assert.throws(() => assertBackfillRange('daily', '2020-01-01', '9999-12-31'), /covers 2914635 daily periods/);
    assert.throws(() => assertBackfillRange('weekly', '2020-01-01', '9999-12-31'), /covers \d+ weekly periods/);
    assert.throws(() => assertBackfillRange('monthly', '2020-01-01', '9999-12-31'), /covers 95760 monthly periods/);
  });

  it('refuses dates that are not dates, or out of order', () => {
    assert.throws(() => assertBackfillRange('daily', '2026-02-30', '2026-03-01'), /^UsageError: --from is "2026-02-30"; allowed: a calendar date YYYY-MM-DD$/);
    assert.throws(() => assertBackfillRange('daily', '2026-03-01', 'tomorrow'), /--to is "tomorrow"/);
    assert.throws(() => assertBackfillRange('daily', '2026-03-02', '2026-03-01'), /--from 2026-03-02 is after --to 2026-03-01/);
  });
});
