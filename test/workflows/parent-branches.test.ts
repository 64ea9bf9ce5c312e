/**
 * The branches of the workflows that start period runs, fast: stub ledger and host activities,
 * the real planning activities, on the time-skipping test server (a forced backfill's waits
 * on a busy period pass in moments).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { DeliverOutcome, HostActivities, StartRunResult } from '../../src/activities/index.js';
import { createPlanningActivities } from '../../src/activities/planning.js';
import { WORKFLOW_BUNDLE_PATH } from '../../src/config/paths.js';
import { periodWorkflowId } from '../../src/domain/workflow-ids.js';
import type { backfillReportsWorkflow } from '../../src/workflows/backfill-reports-workflow.js';
import type { reportPeriodWorkflow } from '../../src/workflows/report-period-workflow.js';
import type { scheduledReportWorkflow } from '../../src/workflows/scheduled-report-workflow.js';
import { TEST_POLICY } from '../support/pipeline.js';
import { startTimeSkippingTemporal } from '../support/temporal.js';
import { waitUntil } from '../support/wait.js';

const SHARED_QUEUE = 'parents-shared';
const HOST_QUEUE = 'parents-shared/host';

describe('scheduled and backfill workflow branches (stub activities, time-skipping test server)', () => {
  let temporal: TestWorkflowEnvironment;
  let stop: () => Promise<void>;
  /** Periods whose delivery waits until released; everything else delivers at once. */
  const held = new Map<string, () => void>();
  const forcedDeliveries: string[] = [];
  const delivered: string[] = [];

  before(async () => {
    temporal = await startTimeSkippingTemporal();
    const shared = {
      ...createPlanningActivities(),
      startRun: async (): Promise<StartRunResult> => ({ action: 'build', fileName: 'f.csv', latest: null, policy: TEST_POLICY }),
      claimHost: async () => HOST_QUEUE,
      finishRun: async () => undefined,
      failRun: async () => undefined,
      describeClient: async () => ({ timeZone: 'UTC', frequency: 'daily' as const }),
      listDeliveredPeriods: async () => [],
    };
    const host = {
      buildReport: async () => ({ path: '/w/f.csv', fileName: 'f.csv', rowCount: 1, bytes: 10, sha256: 'c'.repeat(64) }),
      discardFile: async () => undefined,
      deliverReport: async (input: Parameters<HostActivities['deliverReport']>[0]): Promise<DeliverOutcome> => {
        if (held.has(input.periodStart)) await new Promise<void>((resolve) => held.set(input.periodStart, resolve));
        (input.force ? forcedDeliveries : delivered).push(input.periodStart);
        return { status: 'delivered', revision: 1, fileName: 'f.csv', remotePath: '/in/f.csv', rowCount: 1, bytes: 10, sha256: input.sha256 };
      },
    };
    const workers = await Promise.all([
      Worker.create({ connection: temporal.nativeConnection, taskQueue: SHARED_QUEUE, workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH }, activities: shared }),
      Worker.create({ connection: temporal.nativeConnection, taskQueue: HOST_QUEUE, activities: host }),
    ]);
    const running = Promise.all(workers.map((worker) => worker.run()));
    stop = async () => {
      for (const worker of workers) worker.shutdown();
      await running;
    };
  });

  after(async () => {
    for (const release of held.values()) release();
    await stop?.();
    await temporal?.teardown();
  });

  const startPeriod = (periodStart: string) =>
    temporal.client.workflow.start<typeof reportPeriodWorkflow>('reportPeriodWorkflow', {
      taskQueue: SHARED_QUEUE,
      workflowId: periodWorkflowId('acme', 'daily', periodStart),
      args: [{ clientId: 'acme', frequency: 'daily', periodStart }],
    });

  it('a scheduled run whose period is already being run returns already-running, starting nothing', async () => {
    // The scheduled run works out the day before its start time, in the test server's clock.
    const periodStart = new Date((await temporal.currentTimeMs()) - 24 * 60 * 60 * 1000).toISOString().slice(0, 10);
    held.set(periodStart, () => undefined);
    const running = await startPeriod(periodStart);
    await waitUntil(async () => (await running.describe()).status.name === 'RUNNING', { timeoutMs: 10_000, what: 'the period run to be running' });
    const outcome = await temporal.client.workflow
      .execute<typeof scheduledReportWorkflow>('scheduledReportWorkflow', {
        taskQueue: SHARED_QUEUE,
        workflowId: 'scheduled-busy',
        args: [{ clientId: 'acme', frequency: 'daily', timeZone: 'UTC' }],
      })
      .catch((error: unknown) => error);
    held.get(periodStart)?.();
    held.delete(periodStart);
    await running.result();
    assert.deepEqual(outcome, { status: 'already-running', workflowId: periodWorkflowId('acme', 'daily', periodStart) });
  });

  it('a backfill continues as new every periodsPerRun periods and counts every period once', async () => {
    const handle = await temporal.client.workflow.start<typeof backfillReportsWorkflow>('backfillReportsWorkflow', {
      taskQueue: SHARED_QUEUE,
      workflowId: 'backfill-continues',
      args: [{ clientId: 'acme', from: '2026-11-10', to: '2026-11-14', frequency: 'daily', concurrency: 2, periodsPerRun: 2 }],
    });
    const summary = await handle.result();
    assert.deepEqual([summary.total, summary.delivered, summary.done], [5, 5, 5]);
    const first = await temporal.client.workflow.getHandle('backfill-continues', handle.firstExecutionRunId).describe();
    assert.equal(first.status.name, 'CONTINUED_AS_NEW');
  });

  it('a forced backfill waits for a period someone else is running, then forces it', async () => {
    const periodStart = '2026-11-20';
    held.set(periodStart, () => undefined);
    const running = await startPeriod(periodStart);
    await waitUntil(async () => (await running.describe()).status.name === 'RUNNING', { timeoutMs: 10_000, what: 'the period run to be running' });
    const backfill = await temporal.client.workflow.start<typeof backfillReportsWorkflow>('backfillReportsWorkflow', {
      taskQueue: SHARED_QUEUE,
      workflowId: 'backfill-forced-busy',
      args: [{ clientId: 'acme', from: periodStart, to: periodStart, frequency: 'daily', force: true, busyRetryIntervalMs: 60_000, maxBusyTries: 5 }],
    });
    // The query refuses until the backfill has listed its periods.
    const waiting = () =>
      backfill.query<{ waiting: string[] }>('progress').then(
        (progress) => progress.waiting.includes(periodStart),
        () => false,
      );
    await waitUntil(waiting, { timeoutMs: 10_000, what: 'the backfill to wait on the busy period' });
    held.get(periodStart)?.();
    held.delete(periodStart);
    const summary = await backfill.result();
    assert.deepEqual([summary.delivered, summary.skipped, summary.failed], [1, 0, 0]);
    assert.ok(forcedDeliveries.includes(periodStart), 'delivered forced after the other run ended');
  });
});
