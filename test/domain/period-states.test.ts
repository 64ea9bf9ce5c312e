import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MISSING_AFTER_MS, parseDueTime } from '../../src/domain/deadlines.js';
import {
  assessPeriod,
  decideChange,
  type PeriodAssessment,
  type PeriodFacts,
  type RecordedState,
  type RunFact,
  type WatchRules,
} from '../../src/domain/period-states.js';
import { periodContaining } from '../../src/domain/periods.js';

const at = (text: string) => Date.parse(text);
// Daily UTC period 2026-11-30: schedule fires 2026-12-01 03:00Z, due 2026-12-01 09:00Z.
const PERIOD = periodContaining('daily', '2026-11-30', 'UTC');
const RULES: WatchRules = { due: parseDueTime('+0 09:00')!, scheduleTime: { hour: 3, minute: 0 } };
const DUE = at('2026-12-01T09:00:00Z');
const MISSING_AT = at('2026-12-01T03:00:00Z') + MISSING_AFTER_MS;

const run = (status: RunFact['status'], extra: Partial<RunFact> = {}): RunFact => ({
  status,
  workflowId: 'twoway-report/acme/daily/2026-11-30',
  startedAt: at('2026-12-01T03:00:05Z'),
  finishedAt: status === 'running' ? null : at('2026-12-01T03:10:00Z'),
  error: status === 'failed' ? 'client "acme": SFTP server refused password login' : null,
  ...extra,
});
const facts = (lastRun: RunFact | null, delivered: PeriodFacts['delivered'] = null): PeriodFacts => ({ period: PERIOD, delivered, lastRun });
const DELIVERED = { revision: 1, deliveredAt: at('2026-12-01T03:05:00Z'), fileName: 'f.csv', rowCount: 3, sha256: 'ab' };

describe('assessPeriod', () => {
  it('gives each state with the instant it began', () => {
    const cases: Array<[string, PeriodFacts, number, string, number]> = [
      ['before its schedule ran', facts(null), at('2026-12-01T02:00:00Z'), 'not_yet_due', PERIOD.endInstant],
      ['scheduled, within the start margin', facts(null), MISSING_AT - 1, 'not_yet_due', PERIOD.endInstant],
      ['no run once the margin passed', facts(null), MISSING_AT, 'missing', MISSING_AT],
      ['a run trying before the due time', facts(run('running')), DUE - 1, 'running', at('2026-12-01T03:00:05Z')],
      ['a run trying at the due time', facts(run('running')), DUE, 'late', DUE],
      ['the last run failed', facts(run('failed')), DUE + 1, 'failed', at('2026-12-01T03:10:00Z')],
      ['the last run was cancelled', facts(run('cancelled')), DUE - 1, 'failed', at('2026-12-01T03:10:00Z')],
      ['delivered, even after a failed run', facts(run('failed'), DELIVERED), DUE + 1, 'delivered', DELIVERED.deliveredAt],
      ['finished without a file', facts(run('finished')), DUE - 1, 'failed', at('2026-12-01T03:10:00Z')],
    ];
    for (const [name, given, now, state, since] of cases) {
      const assessment = assessPeriod(given, RULES, now);
      assert.equal(assessment.state, state, name);
      assert.equal(assessment.since, since, name);
      assert.equal(assessment.dueAt, DUE, name);
    }
  });

  it('late when due before the schedule is overdue and no run started', () => {
    const early: WatchRules = { ...RULES, due: parseDueTime('+0 03:10')! };
    assert.equal(assessPeriod(facts(null), early, at('2026-12-01T03:15:00Z')).state, 'late');
    assert.equal(assessPeriod(facts(null), early, MISSING_AT).state, 'missing');
  });

  it('carries the failed run error and workflow id', () => {
    const assessment = assessPeriod(facts(run('failed')), RULES, DUE);
    assert.match(assessment.error ?? '', /refused password login/);
    assert.equal(assessment.workflowId, 'twoway-report/acme/daily/2026-11-30');
    assert.equal(assessPeriod(facts(run('cancelled', { error: null })), RULES, DUE).error, 'the run was cancelled');
  });
});

const assessment = (state: PeriodAssessment['state'], since = DUE): PeriodAssessment => ({ state, since, dueAt: DUE, error: null, workflowId: null });
const recorded = (state: RecordedState['state'], lastProblem: RecordedState['lastProblem'] = null): RecordedState => ({ state, lastProblem });

describe('decideChange', () => {
  it('sends nothing while the state stays the same', () => {
    for (const state of ['late', 'missing', 'failed', 'running', 'delivered', 'not_yet_due'] as const) {
      assert.equal(
        decideChange(recorded(state, state === 'late' || state === 'missing' || state === 'failed' ? state : null), assessment(state), true, 1),
        null,
        state,
      );
    }
  });

  it('sends each problem once, on entering it', () => {
    assert.deepEqual(decideChange(recorded('running'), assessment('late'), false, null)?.notify?.type, 'period.late');
    assert.deepEqual(decideChange(null, assessment('missing', MISSING_AT), false, null)?.notify, {
      type: 'period.missing',
      change: `missing@${new Date(MISSING_AT).toISOString()}`,
      previousProblem: null,
    });
    assert.equal(decideChange(recorded('late', 'late'), assessment('failed'), false, null)?.notify?.type, 'period.failed');
  });

  it('does not send late for a period whose problem was already told (a slow rerun after a failure)', () => {
    const change = decideChange(recorded('running', 'failed'), assessment('late'), false, null);
    assert.equal(change?.notify, null);
    assert.deepEqual(change?.next, { state: 'late', lastProblem: 'failed' });
  });

  it('recovers from the last problem when delivered, then forgets it', () => {
    const change = decideChange(recorded('running', 'failed'), assessment('delivered'), false, 2);
    assert.deepEqual(change, {
      next: { state: 'delivered', lastProblem: null },
      notify: { type: 'period.recovered', change: 'r2', previousProblem: 'failed' },
    });
  });

  it('announces a delivery it saw happen, and one first seen only when asked', () => {
    assert.equal(decideChange(recorded('running'), assessment('delivered'), false, 1)?.notify?.type, 'period.delivered');
    assert.equal(decideChange(null, assessment('delivered'), true, 1)?.notify?.type, 'period.delivered');
    const silent = decideChange(null, assessment('delivered'), false, 1);
    assert.equal(silent?.notify, null);
    assert.deepEqual(silent?.next, { state: 'delivered', lastProblem: null });
  });

  it('a new failure after a rerun is a new change with its own key', () => {
    const first = decideChange(recorded('running', 'failed'), assessment('failed', at('2026-12-01T03:10:00Z')), false, null);
    const second = decideChange(recorded('running', 'failed'), assessment('failed', at('2026-12-01T05:10:00Z')), false, null);
    assert.ok(first?.notify && second?.notify);
    assert.notEqual(first.notify.change, second.notify.change);
  });
});
