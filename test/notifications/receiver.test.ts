import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { NotificationEvent } from '../../src/notifications/events.js';
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from '../../src/notifications/receiver.js';
import { EVENT_ID_HEADER, SIGNATURE_HEADER, createNotificationEvent, signWebhookBody } from '../../src/notifications/webhook.js';

const SECRET = 'whsec_receiver_test_0123456789';
const EVENT = createNotificationEvent({
  type: 'period.missing',
  change: 'schedule-paused',
  occurredAt: '2026-11-11T03:00:00.000Z',
  clientId: 'acme',
  frequency: 'daily',
  periodStart: '2026-11-10',
  data: {},
});
const BODY = JSON.stringify(EVENT);

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

describe('the demo webhook receiver (node:http on 127.0.0.1)', () => {
  let receiver: WebhookReceiver;
  let received: Array<{ event: NotificationEvent; details: ReceivedWebhook }>;
  let rejected: Array<{ status: number; reason: string }>;
  let answer: () => number | undefined;

  before(async () => {
    receiver = await startWebhookReceiver({
      secret: SECRET,
      onEvent: (event, details) => {
        received.push({ event, details });
        return answer();
      },
      onRejected: (status, reason) => rejected.push({ status, reason }),
    });
  });

  beforeEach(() => {
    received = [];
    rejected = [];
    answer = () => undefined;
  });

  after(async () => {
    await receiver?.close();
  });

  function post(body: string, headers: Record<string, string>): Promise<Response> {
    return fetch(receiver.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  }

  it('listens on loopback on a port of its own and hands a verified event over once, with the raw body', async () => {
    assert.match(receiver.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.ok(receiver.port > 0);
    const signature = signWebhookBody(BODY, SECRET, nowSeconds());
    const response = await post(BODY, { [SIGNATURE_HEADER]: signature, [EVENT_ID_HEADER]: EVENT.id });
    assert.equal(response.status, 200);
    assert.equal(received.length, 1);
    assert.deepEqual(received[0]?.event, EVENT);
    assert.equal(received[0]?.details.rawBody, BODY);
    assert.equal(received[0]?.details.signatureHeader, signature);
    assert.deepEqual(rejected, []);
  });

  it('answers 401 to a missing, wrong or stale signature without handing anything over', async () => {
    const stale = nowSeconds() - 3_600;
    const cases: Array<[Record<string, string>, string]> = [
      [{ [EVENT_ID_HEADER]: EVENT.id }, 'signature missing'],
      [{ [SIGNATURE_HEADER]: signWebhookBody(BODY, 'whsec_not_the_receivers_secret', nowSeconds()), [EVENT_ID_HEADER]: EVENT.id }, 'signature mismatch'],
      [{ [SIGNATURE_HEADER]: signWebhookBody(BODY, SECRET, stale), [EVENT_ID_HEADER]: EVENT.id }, 'signature outside tolerance'],
      [{ [SIGNATURE_HEADER]: 'v1=abc', [EVENT_ID_HEADER]: EVENT.id }, 'signature malformed'],
    ];
    for (const [headers, reason] of cases) {
      const response = await post(BODY, headers);
      assert.equal(response.status, 401, reason);
      assert.equal((await response.text()).trim(), reason);
    }
    assert.deepEqual(
      rejected.map((entry) => entry.reason),
      cases.map(([, reason]) => reason),
    );
    assert.equal(received.length, 0);
  });

  it('answers 400 to a signed body that is not an event, 405 to other methods, and what the handler says', async () => {
    const signed = (body: string) => ({ [SIGNATURE_HEADER]: signWebhookBody(body, SECRET, nowSeconds()), [EVENT_ID_HEADER]: EVENT.id });
    assert.equal((await post('not json', signed('not json'))).status, 400);
    assert.equal((await post('{"text":"hi"}', signed('{"text":"hi"}'))).status, 400);
    assert.equal((await post(BODY, { ...signed(BODY), [EVENT_ID_HEADER]: 'evt_other' })).status, 400);
    assert.equal((await fetch(receiver.url)).status, 405);
    assert.equal(received.length, 0);

    answer = () => 503;
    assert.equal((await post(BODY, signed(BODY))).status, 503);
    answer = () => {
      throw new Error('handler broke');
    };
    assert.equal((await post(BODY, signed(BODY))).status, 500);
    assert.equal(received.length, 2);
    assert.deepEqual(
      rejected.map((entry) => entry.status),
      [400, 400, 400, 405, 500],
    );
  });
});
