/**
 * The branches of a watchdog pass, fast: stub watchdog and notification activities on the
 * time-skipping test server (a send retried for its whole window passes in moments).
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { WatchSummary } from '../../src/activities/watchdog.js';
import { WORKFLOW_BUNDLE_PATH } from '../../src/config/paths.js';
import type { NotificationInput } from '../../src/notifications/events.js';
import type { WatchPassResult, watchPeriodsWorkflow } from '../../src/workflows/watch-periods-workflow.js';
import { startTimeSkippingTemporal } from '../support/temporal.js';

const QUEUE = 'watch-branches';

const event = (clientId: string): { eventId: string; input: NotificationInput } => ({
  eventId: `evt_${clientId}`,
  input: {
    type: 'period.missing',
    change: 'missing@x',
    occurredAt: '2026-12-01T03:30:00.000Z',
    clientId,
    frequency: 'daily',
    periodStart: '2026-11-30',
    data: {},
  },
});

describe('watchPeriodsWorkflow branches (stub activities, time-skipping test server)', () => {
  let temporal: TestWorkflowEnvironment;
  let stop: () => Promise<void>;
  let passes = 0;
  /** What the receiver does with each client's event: accept, refuse for good, or stay down. */
  let behaviour: Record<string, 'accept' | 'refuse' | 'down'>;
  let pending: Array<{ eventId: string; input: NotificationInput }>;
  let settled: Array<{ eventId: string; outcome: string }>;
  let sendAttempts: Record<string, number>;

  before(async () => {
    temporal = await startTimeSkippingTemporal();
    const summary = (): WatchSummary => ({
      clients: 3,
      notWatched: [],
      periods: 9,
      changes: pending.length,
      problems: { late: 0, missing: pending.length, failed: 0 },
      notifications: pending,
    });
    const activities = {
      watchPeriods: async () => summary(),
      settleNotification: async (input: { eventId: string; outcome: string }) => void settled.push({ eventId: input.eventId, outcome: input.outcome }),
      sendNotification: async (input: NotificationInput) => {
        sendAttempts[input.clientId] = (sendAttempts[input.clientId] ?? 0) + 1;
        switch (behaviour[input.clientId]) {
          case 'refuse':
            throw ApplicationFailure.create({ type: 'WebhookRejectedError', message: `refused ${input.clientId}`, nonRetryable: true });
          case 'down':
            throw ApplicationFailure.create({ type: 'WebhookUnavailableError', message: `receiver down for ${input.clientId}` });
          default:
            return { sent: true, eventId: `evt_${input.clientId}`, status: 200 };
        }
      },
    };
    const worker = await Worker.create({
      connection: temporal.nativeConnection,
      taskQueue: QUEUE,
      workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH },
      activities,
    });
    const running = worker.run();
    stop = async () => {
      worker.shutdown();
      await running;
    };
  });

  beforeEach(() => {
    behaviour = {};
    pending = [];
    settled = [];
    sendAttempts = {};
  });

  after(async () => {
    await stop?.();
    await temporal?.teardown();
  });

  const pass = () =>
    temporal.client.workflow.execute<typeof watchPeriodsWorkflow>('watchPeriodsWorkflow', {
      taskQueue: QUEUE,
      workflowId: `pass-${(passes += 1)}`,
    }) as Promise<WatchPassResult>;

  it('nothing to send: the summary of the pass, nothing settled', async () => {
    const result = await pass();
    assert.deepEqual(result, { clients: 3, notWatched: [], periods: 9, changes: 0, problems: { late: 0, missing: 0, failed: 0 }, sent: 0, unsent: 0 });
    assert.deepEqual(settled, []);
  });

  it('each event is settled by what came of it: sent, refused for good after one try, or left for the next pass after retrying its window', async () => {
    pending = [event('ok'), event('refusing'), event('down')];
    behaviour = { ok: 'accept', refusing: 'refuse', down: 'down' };
    const result = await pass();
    assert.deepEqual([result.sent, result.unsent], [1, 2]);
    assert.deepEqual(
      settled.sort((a, b) => a.eventId.localeCompare(b.eventId)),
      [
        { eventId: 'evt_down', outcome: 'unsent' },
        { eventId: 'evt_ok', outcome: 'sent' },
        { eventId: 'evt_refusing', outcome: 'refused' },
      ],
    );
    assert.equal(sendAttempts.refusing, 1, 'a refusal is not retried');
    assert.ok((sendAttempts.down ?? 0) >= 3, `a receiver that is down is retried with backoff (${sendAttempts.down} tries)`);
  });
});
