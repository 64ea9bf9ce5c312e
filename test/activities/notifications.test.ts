import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';
import { inspect } from 'node:util';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createNotificationActivities, type NotificationResult } from '../../src/activities/notifications.js';
import { freePort } from '../../src/devstack/ports.js';
import { InvalidNotificationError, NON_RETRYABLE_ERROR_TYPES, WebhookRejectedError, WebhookUnavailableError } from '../../src/domain/errors.js';
import type { NotificationEvent, NotificationInput } from '../../src/notifications/events.js';
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from '../../src/notifications/receiver.js';
import type { WebhookSettings } from '../../src/notifications/settings.js';
import { createNotificationEvent, verifySignature } from '../../src/notifications/webhook.js';
import { captureLog, type CapturedLog } from '../delivery/sftp-fixture.js';
import { waitUntil } from '../support/wait.js';

const SECRET = 'whsec_activity_test_s3cr3t_0123456789';
// A webhook URL can be a credential itself (Slack's carry a token in the path); neither part may leak.
const PATH_TOKEN = 'p4th-t0ken-XYZ';
const QUERY_TOKEN = 'qu3ry-t0ken-XYZ';
const LEAKS = [SECRET, PATH_TOKEN, QUERY_TOKEN];
const SLOW_TIMEOUT_MS = 300;

const INPUT: NotificationInput = {
  type: 'period.failed',
  change: 'run-4f1c',
  occurredAt: '2026-11-11T03:00:05.000Z',
  clientId: 'acme',
  frequency: 'daily',
  periodStart: '2026-11-10',
  data: { errorType: 'AuthenticationFailedError', errorMessage: 'client "acme": SFTP server sftp.example.com:22 refused password login for user "acme"' },
};

interface Arrival {
  readonly event: NotificationEvent;
  readonly details: ReceivedWebhook;
  readonly answered: number;
}

function assertNoLeak(text: string, where: string): void {
  for (const leak of LEAKS) assert.ok(!text.includes(leak), `${where} shows a secret or the URL's path/query: ${text}`);
}

/** Awaits the activity's rejection with the given class; checks that neither message nor serialised error leaks. */
async function expectError<T extends Error>(promise: Promise<unknown>, type: abstract new (...args: never[]) => T): Promise<T> {
  const error = await promise.then(
    () => assert.fail(`expected ${type.name}, but it resolved`),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof type, `expected ${type.name}, got ${String(error instanceof Error ? `${error.name}: ${error.message}` : error)}`);
  assertNoLeak(`${error.message} ${error.stack ?? ''} ${JSON.stringify(error)}`, 'the error');
  return error;
}

/** The SDK's activity environment, with the SDK's own log (it logs every failure with its error) kept in `sdkLog` to be scanned too. */
function mockEnvironment(sdkLog: string[], attempt = 1): MockActivityEnvironment {
  return new MockActivityEnvironment(
    { attempt },
    { logger: new DefaultLogger('TRACE', (entry) => sdkLog.push(`${entry.message} ${inspect(entry.meta, { depth: 5 })}`)) },
  );
}

function logLines(log: CapturedLog): Array<Record<string, unknown>> {
  return log
    .text()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('sendNotification activity against a real local webhook receiver', () => {
  let receiver: WebhookReceiver;
  let arrivals: Arrival[];
  let rejections: string[];
  /** What the receiver answers next; 200 when the queue is empty. */
  let answers: Array<number | (() => Promise<number>)>;

  before(async () => {
    receiver = await startWebhookReceiver({
      secret: SECRET,
      onEvent: async (event, details) => {
        const next = answers.shift() ?? 200;
        const answered = typeof next === 'number' ? next : await next();
        arrivals.push({ event, details, answered });
        return answered;
      },
      onRejected: (_status, reason) => rejections.push(reason),
    });
  });

  beforeEach(() => {
    arrivals = [];
    rejections = [];
    answers = [];
  });

  after(async () => {
    await receiver?.close();
  });

  /** Activities with a captured log; `send` runs one attempt; `logText` is our log and the SDK's. */
  function setup(patch: Partial<WebhookSettings> = {}) {
    const log = captureLog();
    const sdkLog: string[] = [];
    const webhook: WebhookSettings = {
      url: `${receiver.url}hooks/T0/B0/${PATH_TOKEN}?token=${QUERY_TOKEN}`,
      format: 'json',
      secret: SECRET,
      timeoutMs: 10_000,
      ...patch,
    };
    const activities = createNotificationActivities({ webhook, logger: log.logger });
    return {
      log,
      activities,
      sdkLog,
      send: (attempt = 1, input: NotificationInput = INPUT): Promise<NotificationResult> =>
        mockEnvironment(sdkLog, attempt).run(activities.sendNotification, input),
      logText: () => `${log.text()}\n${sdkLog.join('\n')}`,
    };
  }

  it('delivers the event once, with the exact JSON body, a valid signature and the event headers; logs one line without secrets', async () => {
    const { log, logText, send } = setup();
    const before = Date.now();
    const result = await send();
    const expected = createNotificationEvent(INPUT);
    assert.deepEqual(result, { sent: true, eventId: expected.id, status: 200 });
    assert.equal(arrivals.length, 1);
    const [arrival] = arrivals;
    assert.ok(arrival);
    assert.equal(arrival.details.rawBody, JSON.stringify(expected));
    assert.deepEqual(arrival.event, expected);
    const headers: IncomingHttpHeaders = arrival.details.headers;
    assert.equal(headers['twoway-event-id'], expected.id);
    assert.equal(headers['twoway-event-type'], 'period.failed');
    assert.equal(headers['content-type'], 'application/json');
    assert.match(arrival.details.signatureHeader, /^t=\d+,v1=[0-9a-f]{64}$/);
    assert.equal(verifySignature(arrival.details.rawBody, arrival.details.signatureHeader, SECRET).valid, true);
    assert.ok(Math.abs(arrival.details.timestampSeconds * 1000 - before) < 5_000, 'signed with the current time');
    assert.deepEqual(rejections, []);

    const lines = logLines(log);
    assert.equal(lines.length, 1, log.text());
    assert.deepEqual(
      {
        msg: lines[0]?.msg,
        eventId: lines[0]?.eventId,
        eventType: lines[0]?.eventType,
        client: lines[0]?.client,
        status: lines[0]?.status,
        endpoint: lines[0]?.endpoint,
        attempt: lines[0]?.attempt,
      },
      {
        msg: 'notification sent',
        eventId: expected.id,
        eventType: 'period.failed',
        client: 'acme',
        status: 200,
        endpoint: `http://127.0.0.1:${receiver.port}/…`,
        attempt: 1,
      },
    );
    assertNoLeak(logText(), 'the logs');
  });

  it('is refused by the receiver when signed with another secret: a permanent error naming type, client and status', async () => {
    const { log, logText, send } = setup({ secret: 'whsec_not_the_receivers_secret_99' });
    const error = await expectError(send(), WebhookRejectedError);
    assert.equal(error.status, 401);
    assert.match(
      error.message,
      /^client "acme": webhook http:\/\/127\.0\.0\.1:\d+\/… refused the period\.failed event evt_[0-9a-f]{32} with HTTP 401; allowed: a 2xx answer/,
    );
    assert.ok(NON_RETRYABLE_ERROR_TYPES.includes(error.name));
    assert.deepEqual(rejections, ['signature mismatch']);
    assert.equal(arrivals.length, 0);
    assert.equal(logLines(log)[0]?.msg, 'notification not sent');
    assertNoLeak(logText(), 'the logs');
    assert.ok(logText().includes('WebhookRejectedError'), 'the SDK logged the failure');
    assert.ok(!logText().includes('whsec_not_the_receivers_secret_99'), 'nor the wrong secret');
  });

  it('throws a retryable error on each of two 500 answers and succeeds on the third attempt, with the same event id each time', async () => {
    const { log, logText, send } = setup();
    answers = [500, 500, 200];
    for (const attempt of [1, 2]) {
      const error = await expectError(send(attempt), WebhookUnavailableError);
      assert.equal(error.status, 500);
      assert.match(
        error.message,
        /^client "acme": webhook http:\/\/127\.0\.0\.1:\d+\/… did not take the period\.failed event evt_[0-9a-f]{32}: HTTP 500; it is retried$/,
      );
      assert.ok(!NON_RETRYABLE_ERROR_TYPES.includes(error.name), 'Temporal retries it');
    }
    const result = await send(3);
    assert.equal(result.sent, true);
    assert.deepEqual(
      arrivals.map((arrival) => arrival.answered),
      [500, 500, 200],
    );
    assert.equal(arrivals.filter((arrival) => arrival.answered === 200).length, 1, 'exactly one accepted delivery');
    assert.deepEqual(new Set(arrivals.map((arrival) => arrival.details.headers['twoway-event-id'])), new Set([result.eventId]));
    assert.deepEqual(new Set(arrivals.map((arrival) => arrival.details.rawBody)).size, 1, 'the same body each time');
    assert.deepEqual(
      logLines(log).map((line) => [line.attempt, line.status, line.eventId]),
      [
        [1, 500, result.eventId],
        [2, 500, result.eventId],
        [3, 200, result.eventId],
      ],
    );
    assertNoLeak(logText(), 'the logs');
  });

  it('treats 400 and a redirect as permanent, 408 and 429 as retryable', async () => {
    const { send } = setup();
    for (const status of [400, 404, 302]) {
      answers = [status];
      const error = await expectError(send(), WebhookRejectedError);
      assert.equal(error.status, status);
      assert.match(error.message, new RegExp(`period\\.failed event evt_[0-9a-f]{32} with HTTP ${status};`));
    }
    for (const status of [408, 429, 503]) {
      answers = [status];
      const error = await expectError(send(), WebhookUnavailableError);
      assert.equal(error.status, status);
    }
    assert.equal(arrivals.length, 6);
  });

  it('gives up on a slow receiver after the request timeout with a retryable error', async () => {
    const { log, logText, send } = setup({ timeoutMs: SLOW_TIMEOUT_MS });
    let release: (status: number) => void = () => undefined;
    answers = [() => new Promise<number>((resolve) => (release = resolve))];
    const started = Date.now();
    const error = await expectError(send(), WebhookUnavailableError);
    const elapsedMs = Date.now() - started;
    release(200);
    await waitUntil(() => arrivals.length === 1, { timeoutMs: 10_000, what: 'the held request to finish' });
    assert.equal(error.status, null);
    assert.match(error.message, new RegExp(`: no answer within ${SLOW_TIMEOUT_MS} ms; it is retried$`));
    assert.ok(elapsedMs >= SLOW_TIMEOUT_MS - 50 && elapsedMs < 5_000, `gave up after ${elapsedMs} ms`);
    assert.equal(logLines(log)[0]?.errorType, 'WebhookUnavailableError');
    assertNoLeak(logText(), 'the logs');
  });

  it('throws a retryable error when nothing listens', async () => {
    const { logText, send } = setup({ url: `http://127.0.0.1:${await freePort()}/hooks/${PATH_TOKEN}` });
    const error = await expectError(send(), WebhookUnavailableError);
    assert.match(error.message, /: network error ECONNREFUSED; it is retried$/);
    assertNoLeak(logText(), 'the logs');
  });

  it('stops a request in flight when the activity is cancelled', async () => {
    const { activities, sdkLog } = setup();
    let release: (status: number) => void = () => undefined;
    answers = [() => new Promise<number>((resolve) => (release = resolve))];
    const environment = mockEnvironment(sdkLog);
    const running = environment.run(activities.sendNotification, INPUT);
    await waitUntil(() => answers.length === 0, { timeoutMs: 10_000, what: 'the request to reach the receiver' });
    environment.cancel();
    await assert.rejects(running, CancelledFailure);
    release(200);
    await waitUntil(() => arrivals.length === 1, { timeoutMs: 10_000, what: 'the held request to finish' });
  });

  it('sends nothing when no webhook is configured, and refuses an input that can never be sent', async () => {
    const log = captureLog();
    const off = createNotificationActivities({ webhook: null, logger: log.logger });
    const result = await mockEnvironment([]).run(off.sendNotification, INPUT);
    assert.deepEqual(result, { sent: false, eventId: createNotificationEvent(INPUT).id });
    const { send } = setup();
    const bad = { ...INPUT, occurredAt: 'yesterday' } as NotificationInput;
    const error = await expectError(send(1, bad), InvalidNotificationError);
    assert.ok(NON_RETRYABLE_ERROR_TYPES.includes(error.name));
    assert.equal(arrivals.length, 0);
    assert.equal(log.text(), '');
  });
});

describe('sendNotification with a Slack-compatible body', () => {
  let server: ReturnType<typeof createServer>;
  let url: string;
  const requests: Array<{ body: string; headers: IncomingHttpHeaders }> = [];

  before(async () => {
    // Slack's incoming webhooks take any JSON with a `text`; a plain server stands in for one.
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        requests.push({ body: Buffer.concat(chunks).toString('utf8'), headers: request.headers });
        response.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    assert.ok(typeof address === 'object' && address);
    url = `http://127.0.0.1:${address.port}/services/T0/B0/${PATH_TOKEN}`;
  });

  after(async () => {
    await new Promise((resolve) => server?.close(resolve));
  });

  it('posts { "text": … } naming the client and period, signed when a secret is set and unsigned otherwise', async () => {
    requests.length = 0;
    const log = captureLog();
    const sdkLog: string[] = [];
    for (const secret of [SECRET, null]) {
      const activities = createNotificationActivities({ webhook: { url, format: 'slack', secret, timeoutMs: 10_000 }, logger: log.logger });
      const late: NotificationInput = { ...INPUT, type: 'period.late', data: { dueAt: '2026-11-11T09:00:00.000Z' } };
      const result: NotificationResult = await mockEnvironment(sdkLog, 1).run(activities.sendNotification, late);
      assert.equal(result.sent, true);
    }
    assert.equal(requests.length, 2);
    const [signed, unsigned] = requests;
    assert.deepEqual(JSON.parse(signed?.body ?? ''), { text: 'Late: client acme, daily period 2026-11-10: due 2026-11-11T09:00:00.000Z, not delivered yet' });
    assert.equal(unsigned?.body, signed?.body);
    assert.equal(verifySignature(signed?.body ?? '', signed?.headers['twoway-signature'] as string, SECRET).valid, true);
    assert.equal(unsigned?.headers['twoway-signature'], undefined);
    assert.match(String(unsigned?.headers['twoway-event-id']), /^evt_[0-9a-f]{32}$/);
    assertNoLeak(`${log.text()}\n${sdkLog.join('\n')}`, 'the logs');
  });
});
