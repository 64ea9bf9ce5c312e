import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { after, before, beforeEach, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { createNotificationActivities } from '../../src/activities/notifications.js';
import type { NotificationInput } from '../../src/notifications/events.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../src/notifications/receiver.js';
import { captureLog, type CapturedLog } from '../delivery/sftp-fixture.js';
import { startTestTemporal, type TestTemporal } from '../support/temporal.js';
import type { sendNotificationWorkflow } from './fixtures/notification-workflows.js';

const require = createRequire(import.meta.url);
const SECRET = 'whsec_workflow_test_0123456789';
const TASK_QUEUE = `notifications-test-${randomBytes(4).toString('hex')}`;

const INPUT: NotificationInput = {
  type: 'period.missing',
  change: 'schedule-paused-2026-11-11',
  occurredAt: '2026-11-11T03:05:00.000Z',
  clientId: 'hooli',
  frequency: 'daily',
  periodStart: '2026-11-10',
  data: {},
};

describe('sendNotification under a real Temporal dev server, retried by the recommended policy', () => {
  let temporal: TestTemporal;
  let receiver: WebhookReceiver;
  let worker: Worker;
  let running: Promise<void>;
  let log: CapturedLog;
  let answers: number[];
  let arrivals: Array<{ eventId: string; answered: number }>;

  before(async () => {
    temporal = await startTestTemporal();
    receiver = await startWebhookReceiver({
      secret: SECRET,
      onEvent: (event) => {
        const answered = answers.shift() ?? 200;
        arrivals.push({ eventId: event.id, answered });
        return answered;
      },
    });
    log = captureLog();
    worker = await Worker.create({
      connection: temporal.nativeConnection,
      namespace: temporal.namespace ?? 'default',
      taskQueue: TASK_QUEUE,
      workflowsPath: require.resolve('./fixtures/notification-workflows.js'),
      activities: createNotificationActivities({ webhook: { url: receiver.url, format: 'json', secret: SECRET, timeoutMs: 5_000 }, logger: log.logger }),
    });
    running = worker.run();
  });

  beforeEach(() => {
    answers = [];
    arrivals = [];
  });

  after(async () => {
    worker?.shutdown();
    await running;
    await receiver?.close();
    await temporal?.teardown();
  });

  function execute(workflowId: string) {
    return temporal.client.workflow.execute<typeof sendNotificationWorkflow>('sendNotificationWorkflow', { taskQueue: TASK_QUEUE, workflowId, args: [INPUT] });
  }

  it('retries a receiver answering 500 twice, then 200: one accepted delivery, the same event id on every try', async () => {
    answers = [500, 500, 200];
    const result = await execute('notify-retried');
    assert.equal(result.sent, true);
    assert.deepEqual(arrivals, [
      { eventId: result.eventId, answered: 500 },
      { eventId: result.eventId, answered: 500 },
      { eventId: result.eventId, answered: 200 },
    ]);
    const attempts = log
      .text()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.eventId === result.eventId);
    assert.deepEqual(
      attempts.map((line) => [line.attempt, line.status]),
      [
        [1, 500],
        [2, 500],
        [3, 200],
      ],
    );
  });

  it('does not retry a 400: the run fails after one attempt with the permanent error type', async () => {
    answers = [400];
    const error = await execute('notify-refused').then(
      () => assert.fail('the workflow should fail'),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof WorkflowFailedError);
    const activityFailure = error.cause;
    assert.ok(activityFailure instanceof ActivityFailure, String(activityFailure));
    assert.equal(activityFailure.retryState, RetryState.NON_RETRYABLE_FAILURE);
    const cause = activityFailure.cause;
    assert.ok(cause instanceof ApplicationFailure);
    assert.equal(cause.type, 'WebhookRejectedError');
    assert.match(cause.message, /^client "hooli": webhook http:\/\/127\.0\.0\.1:\d+ refused the period\.missing event evt_[0-9a-f]{32} with HTTP 400;/);
    assert.equal(arrivals.length, 1);
    assert.ok(!log.text().includes(SECRET));
  });
});
