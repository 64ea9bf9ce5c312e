import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { repairRanges } from '../../src/domain/repair-ranges.js';

describe('repairRanges', () => {
  it('joins consecutive daily periods and splits at a gap, in date order, without duplicates', () => {
    const ranges = repairRanges('daily', ['2026-11-05', '2026-11-01', '2026-11-02', '2026-11-02', '2026-11-03']);
    assert.deepEqual(
      ranges.map(({ from, to, periodStarts }) => ({ from, to, periodStarts })),
      [
        { from: '2026-11-01', to: '2026-11-03', periodStarts: ['2026-11-01', '2026-11-02', '2026-11-03'] },
        { from: '2026-11-05', to: '2026-11-05', periodStarts: ['2026-11-05'] },
      ],
    );
  });

  it('ends a weekly range on the last day of its last week, and a monthly one on the last day of the month', () => {
    assert.deepEqual(
      repairRanges('weekly', ['2026-11-09', '2026-11-02']).map(({ from, to }) => [from, to]),
      [['2026-11-02', '2026-11-15']],
    );
    assert.deepEqual(
      repairRanges('monthly', ['2026-09-01', '2026-11-01']).map(({ from, to }) => [from, to]),
      [
        ['2026-09-01', '2026-09-30'],
        ['2026-11-01', '2026-11-30'],
      ],
    );
  });

  it('is empty for no periods', () => {
    assert.deepEqual(repairRanges('daily', []), []);
  });
});
