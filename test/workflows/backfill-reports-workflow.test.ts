import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { addDays } from '../../src/domain/local-date.js';
import { backfillWorkflowId, periodWorkflowId } from '../../src/domain/workflow-ids.js';
import { rootCause } from '../../src/workflows/failures.js';
import { type BackfillInput, type BackfillProgress, type backfillReportsWorkflow } from '../../src/workflows/backfill-reports-workflow.js';
import { startPipeline, type Pipeline } from '../support/pipeline.js';

/** Largest number of ledger runs whose [started, finished] intervals overlap at one instant. */
function maxOverlap(runs: { started_at: Date; finished_at: Date }[]): number {
  const edges = runs.flatMap((run) => [
    { at: run.started_at.getTime(), delta: 1 },
    { at: run.finished_at.getTime(), delta: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let current = 0;
  let most = 0;
  for (const edge of edges) {
    current += edge.delta;
    most = Math.max(most, current);
  }
  return most;
}

describe('backfillReportsWorkflow (real Temporal dev server, PostgreSQL and sshd)', () => {
  let pipeline: Pipeline;
  const start = (input: BackfillInput) =>
    pipeline.temporal.client.workflow.start<typeof backfillReportsWorkflow>('backfillReportsWorkflow', {
      taskQueue: pipeline.taskQueue,
      workflowId: `${backfillWorkflowId(input.clientId, input.frequency ?? 'daily', input.from, input.to)}#${Math.random()}`,
      args: [input],
    });
  const backfill = async (input: BackfillInput) => {
    const handle = await start(input);
    return { handle, summary: await handle.result() };
  };
  /** Another run of a period, in progress: it holds the period's workflow id on a queue nobody polls. */
  const runInProgress = (clientId: string, periodStart: string, options: { workflowExecutionTimeout?: string } = {}) =>
    pipeline.temporal.client.workflow.start('reportPeriodWorkflow', {
      taskQueue: `${pipeline.taskQueue}-nobody-polls`,
      workflowId: periodWorkflowId(clientId, 'daily', periodStart),
      args: [{ clientId, frequency: 'daily', periodStart }],
      ...options,
    });

  before(async () => {
    pipeline = await startPipeline();
    await pipeline.db.knex('clients').insert([
      { id: 'delta', name: 'Delta', timezone: 'Asia/Tokyo', frequency: 'daily', delivery: JSON.stringify(await pipeline.deliveryTo('delta')) },
      { id: 'weekly', name: 'Weekly', timezone: 'Europe/Berlin', frequency: 'weekly', delivery: JSON.stringify(await pipeline.deliveryTo('weekly')) },
      { id: 'sandy', name: 'Sandbox', environment: 'sandbox', delivery: JSON.stringify(await pipeline.deliveryTo('sandy')) },
      { id: 'recent', name: 'Recent', timezone: 'UTC', frequency: 'daily', delivery: JSON.stringify(await pipeline.deliveryTo('recent')) },
      { id: 'busy', name: 'Busy', timezone: 'UTC', frequency: 'daily', delivery: JSON.stringify(await pipeline.deliveryTo('busy')) },
    ]);
    // One event a day at noon Tokyo, 2026-11-01 … 2026-11-10.
    for (let day = 1; day <= 10; day++) {
      await pipeline.db.knex('twoway_events').insert({
        client_id: 'delta',
        event_name: 'twoway.agent_ping',
        event_time: `2026-11-${String(day).padStart(2, '0')}T03:00:00Z`,
        control_tag: `day-${day}`,
      });
    }
  });

  after(async () => {
    await pipeline?.close();
  });

  it('runs every period of the range once, skipping delivered ones, with at most `concurrency` at a time', async () => {
    const single = await pipeline.temporal.client.workflow.execute('reportPeriodWorkflow', {
      taskQueue: pipeline.taskQueue,
      workflowId: 'twoway-report/delta/daily/2026-11-03',
      args: [{ clientId: 'delta', frequency: 'daily', periodStart: '2026-11-03' }],
    });
    assert.equal((single as { status: string }).status, 'delivered');

    const { handle, summary } = await backfill({ clientId: 'delta', from: '2026-11-01', to: '2026-11-07', concurrency: 2, periodsPerRun: 3 });
    assert.deepEqual(
      { total: summary.total, done: summary.done, delivered: summary.delivered, skipped: summary.skipped, failed: summary.failed, running: summary.running },
      { total: 7, done: 7, delivered: 6, skipped: 1, failed: 0, running: [] },
    );
    const files = (await readdir(join(pipeline.sftp.rootDir, 'delta'))).sort();
    assert.deepEqual(
      files,
      ['01', '02', '03', '04', '05', '06', '07'].map((day) => `twoway_activity_delta_daily_202611${day}.csv`),
    );

    const runs = await pipeline.db.knex('report_runs').where({ client_id: 'delta', status: 'delivered' }).select('period_start', 'started_at', 'finished_at');
    assert.equal(runs.length, 7, 'each period delivered exactly once');
    assert.ok(maxOverlap(runs.filter((run) => run.period_start !== '2026-11-03')) <= 2, 'no more than 2 periods at once');

    // The handle from start() is pinned to the first run; the latest run is found by id alone.
    const latest = await pipeline.temporal.client.workflow.getHandle(handle.workflowId).describe();
    assert.notEqual(latest.runId, handle.firstExecutionRunId, '7 periods at 3 per run continued as new');
    const progress = await handle.query<BackfillProgress>('progress');
    assert.equal(progress.done, 7);
  });

  it('skips everything delivered on a second pass, and re-checks it all when forced', async () => {
    const again = await backfill({ clientId: 'delta', from: '2026-11-01', to: '2026-11-07', concurrency: 3 });
    assert.deepEqual([again.summary.skipped, again.summary.delivered], [7, 0]);
    await pipeline.db
      .knex('twoway_events')
      .insert({ client_id: 'delta', event_name: 'twoway.agent_ping', event_time: '2026-11-05T04:00:00Z', control_tag: 'late' });
    const forced = await backfill({ clientId: 'delta', from: '2026-11-01', to: '2026-11-07', concurrency: 3, force: true });
    assert.deepEqual([forced.summary.unchanged, forced.summary.delivered, forced.summary.failed], [6, 1, 0]);
    assert.ok((await readdir(join(pipeline.sftp.rootDir, 'delta'))).includes('twoway_activity_delta_daily_20261105_r2.csv'));
  });

  it("takes the client's frequency and every week touching the range", async () => {
    const { summary } = await backfill({ clientId: 'weekly', from: '2026-10-28', to: '2026-11-10', concurrency: 4 });
    assert.equal(summary.frequency, 'weekly');
    assert.deepEqual([summary.total, summary.delivered], [3, 3]);
    assert.deepEqual((await readdir(join(pipeline.sftp.rootDir, 'weekly'))).sort(), [
      'twoway_activity_weekly_weekly_20261026.csv',
      'twoway_activity_weekly_weekly_20261102.csv',
      'twoway_activity_weekly_weekly_20261109.csv',
    ]);
  });

  it('leaves out periods that have not ended', async () => {
    const { summary } = await backfill({ clientId: 'weekly', from: '2030-01-01', to: '2030-01-31' });
    assert.deepEqual([summary.total, summary.done, summary.delivered], [0, 0, 0]);
  });

  it('refuses a sandbox client before running anything', async () => {
    await assert.rejects(backfill({ clientId: 'sandy', from: '2026-11-01', to: '2026-11-02' }), (error: unknown) => {
      assert.match(String((rootCause(error) as Error).message), /client "sandy": environment is "sandbox"/);
      return true;
    });
    assert.deepEqual(await readdir(join(pipeline.sftp.rootDir, 'sandy')), []);
  });

  it('refuses a range of more than MAX_BACKFILL_PERIODS periods at once: the workflow fails, its task never does', { timeout: 60_000 }, async () => {
    const handle = await start({ clientId: 'delta', from: '2020-01-01', to: '9999-12-31' });
    await assert.rejects(handle.result(), (error: unknown) => {
      assert.ok(error instanceof WorkflowFailedError);
      assert.ok(error.cause instanceof ApplicationFailure);
      assert.deepEqual([error.cause.type, error.cause.nonRetryable], ['UsageError', true]);
      assert.match(error.cause.message, /^--from 2020-01-01 --to 9999-12-31 covers 2914635 daily periods; allowed: at most 10000 periods in one backfill/);
      return true;
    });
    const events = (await handle.fetchHistory()).events ?? [];
    assert.ok(!events.some((event) => event.workflowTaskFailedEventAttributes), 'no workflow task failed');
  });

  it('runs a range reaching past today up to the last ended period, and says where it cut the range', { timeout: 60_000 }, async () => {
    const today = new Date().toISOString().slice(0, 10);
    const { handle, summary } = await backfill({ clientId: 'recent', from: addDays(today, -3), to: '2030-12-31', periodsPerRun: 2 });
    assert.deepEqual(
      { total: summary.total, done: summary.done, delivered: summary.delivered, failed: summary.failed, clampedTo: summary.clampedTo },
      { total: 3, done: 3, delivered: 3, failed: 0, clampedTo: addDays(today, -1) },
    );
    // The periods were listed by an activity, in batches of two, and carried in history.
    const events = (await pipeline.temporal.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).fetchHistory()).events ?? [];
    const listed = events.filter((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'listEndedPeriods');
    assert.equal(listed.length, 1, 'one listing per run');
  });

  it('forced: waits for a run of a period in progress to end, then forces the period instead of skipping it', { timeout: 60_000 }, async () => {
    const other = await runInProgress('busy', '2026-11-02', { workflowExecutionTimeout: '3 seconds' });
    const { handle, summary } = await backfill({ clientId: 'busy', from: '2026-11-01', to: '2026-11-03', force: true, busyRetryIntervalMs: 300 });
    assert.deepEqual([summary.delivered, summary.skipped, summary.failed, summary.waiting], [3, 0, 0, []]);
    await assert.rejects(other.result(), /timed out/);
    const events = (await handle.fetchHistory()).events ?? [];
    assert.ok(
      events.some((event) => event.startChildWorkflowExecutionFailedEventAttributes?.workflowId === other.workflowId),
      'the backfill met the run in progress',
    );
    assert.deepEqual(
      (await readdir(join(pipeline.sftp.rootDir, 'busy'))).sort(),
      ['01', '02', '03'].map((day) => `twoway_activity_busy_daily_202611${day}.csv`),
    );
  });

  it('forced: counts a period still in progress after its last try as failed, with the reason; not forced: skipped', { timeout: 60_000 }, async () => {
    const other = await runInProgress('busy', '2026-11-05');
    try {
      const forced = await backfill({ clientId: 'busy', from: '2026-11-05', to: '2026-11-05', force: true, busyRetryIntervalMs: 50, maxBusyTries: 3 });
      assert.deepEqual([forced.summary.failed, forced.summary.skipped, forced.summary.delivered], [1, 0, 0]);
      assert.deepEqual(forced.summary.failures, [
        {
          periodStart: '2026-11-05',
          reason: `a run of twoway-report/busy/daily/2026-11-05 was still in progress after 3 tries 50 ms apart; not forced (run it with \`run --force\` when that run ends)`,
        },
      ]);
      const plain = await backfill({ clientId: 'busy', from: '2026-11-05', to: '2026-11-05' });
      assert.deepEqual([plain.summary.skipped, plain.summary.failed], [1, 0]);
    } finally {
      await other.terminate('test over');
    }
  });
});
