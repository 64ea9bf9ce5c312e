import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPlanningActivities, type ListEndedPeriodsInput } from '../../src/activities/planning.js';
import { InvalidClientSettingError, UsageError } from '../../src/domain/errors.js';
import { periodsBetween, previousPeriod } from '../../src/domain/periods.js';

const { listEndedPeriods, periodBefore } = createPlanningActivities();

/** Every batch of a range, as a backfill asks for them. */
async function allBatches(input: Omit<ListEndedPeriodsInput, 'after'>) {
  const batches = [];
  let after: string | undefined;
  for (;;) {
    const batch = await listEndedPeriods({ ...input, ...(after ? { after } : {}) });
    batches.push(batch);
    if (!batch.more) return batches;
    after = batch.periods.at(-1);
  }
}

describe('planning activities', () => {
  // 2026-11-10 10:00 in Tokyo (UTC+9); the local day 2026-11-10 has not ended there.
  const now = Date.parse('2026-11-10T01:00:00Z');
  const base = { clientId: 'delta', frequency: 'daily', timeZone: 'Asia/Tokyo', limit: 3, now } as const;

  it('lists the periods of a range in batches, each after the last', async () => {
    const batches = await allBatches({ ...base, from: '2026-11-01', to: '2026-11-08' });
    assert.deepEqual(
      batches.map((batch) => batch.periods),
      [
        ['2026-11-01', '2026-11-02', '2026-11-03'],
        ['2026-11-04', '2026-11-05', '2026-11-06'],
        ['2026-11-07', '2026-11-08'],
      ],
    );
    assert.deepEqual(
      batches.map((batch) => [batch.more, batch.total, batch.clampedTo]),
      [
        [true, 8, null],
        [true, 8, null],
        [false, 8, null],
      ],
    );
  });

  it('leaves out periods that had not ended by `now`, and says where the range was cut', async () => {
    const batches = await allBatches({ ...base, from: '2026-11-07', to: '2030-12-31' });
    assert.deepEqual(
      batches.flatMap((batch) => batch.periods),
      ['2026-11-07', '2026-11-08', '2026-11-09'],
    );
    assert.deepEqual([batches[0]?.total, batches[0]?.clampedTo], [3, '2026-11-09']);
    // In UTC it is still 2026-11-10 01:00, so 2026-11-09 has ended there too, and nothing later.
    const utc = await listEndedPeriods({ ...base, timeZone: 'UTC', from: '2026-11-07', to: '2026-11-20', limit: 100 });
    assert.deepEqual(utc.periods, ['2026-11-07', '2026-11-08', '2026-11-09']);
    // A range wholly in the future has nothing to run.
    assert.deepEqual(await listEndedPeriods({ ...base, from: '2030-01-01', to: '2030-01-31' }), {
      periods: [],
      more: false,
      total: 0,
      clampedTo: '2026-11-09',
    });
  });

  it('agrees with periodsBetween on weeks and months touching the range', async () => {
    for (const frequency of ['weekly', 'monthly'] as const) {
      const batches = await allBatches({ ...base, frequency, timeZone: 'Europe/Berlin', from: '2025-12-31', to: '2026-10-01', limit: 7 });
      const expected = periodsBetween(frequency, '2025-12-31', '2026-10-01', 'Europe/Berlin')
        .filter((period) => period.endInstant <= now)
        .map((period) => period.start);
      assert.deepEqual(
        batches.flatMap((batch) => batch.periods),
        expected,
      );
      assert.equal(batches[0]?.total, expected.length);
    }
  });

  it('refuses a range of more than MAX_BACKFILL_PERIODS periods before listing any, without retrying', async () => {
    const started = performance.now();
    await assert.rejects(listEndedPeriods({ ...base, from: '2020-01-01', to: '9999-12-31' }), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.match(error.message, /^--from 2020-01-01 --to 9999-12-31 covers 2914635 daily periods; allowed: at most 10000/);
      return true;
    });
    assert.ok(performance.now() - started < 1_000);
  });

  it('refuses a bad time zone, limit or date as permanent errors', async () => {
    await assert.rejects(listEndedPeriods({ ...base, timeZone: 'Mars/Olympus', from: '2026-11-01', to: '2026-11-02' }), InvalidClientSettingError);
    await assert.rejects(listEndedPeriods({ ...base, limit: 0, from: '2026-11-01', to: '2026-11-02' }), /limit is 0; allowed: a whole number from 1 to 10000/);
    await assert.rejects(listEndedPeriods({ ...base, after: 'yesterday', from: '2026-11-01', to: '2026-11-02' }), UsageError);
    await assert.rejects(periodBefore({ clientId: 'x', frequency: 'daily', nominalTime: now, timeZone: 'Nowhere' }), /client "x": timezone is "Nowhere"/);
  });

  it('gives a scheduled run the period before its nominal time, as previousPeriod does', async () => {
    const cases = [
      ['daily', '2026-03-08T09:00:00Z', 'America/Chicago'],
      ['weekly', '2026-11-09T02:00:00Z', 'Europe/Berlin'],
      ['monthly', '2026-11-07T18:00:00Z', 'Asia/Tokyo'],
      ['monthly', '2026-11-01T05:00:00Z', 'America/Los_Angeles'],
    ] as const;
    for (const [frequency, iso, timeZone] of cases) {
      const nominalTime = Date.parse(iso);
      assert.equal(
        await periodBefore({ clientId: 'x', frequency, nominalTime, timeZone }),
        previousPeriod(frequency, nominalTime, timeZone).start,
        `${frequency} ${iso} ${timeZone}`,
      );
    }
    assert.equal(
      await periodBefore({ clientId: 'x', frequency: 'monthly', nominalTime: Date.parse('2026-11-07T18:00:00Z'), timeZone: 'Asia/Tokyo' }),
      '2026-10-01',
    );
  });
});
