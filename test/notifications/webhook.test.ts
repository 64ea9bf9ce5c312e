import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidNotificationError } from '../../src/domain/errors.js';
import type { NotificationInput } from '../../src/notifications/events.js';
import {
  SIGNATURE_TOLERANCE_SECONDS,
  createNotificationEvent,
  notificationEventId,
  signWebhookBody,
  verifySignature,
  webhookBody,
} from '../../src/notifications/webhook.js';

// Known answers, computed with OpenSSL rather than the code under test:
//   printf '%s' '1767225600.{"id":"evt_known","type":"period.missing"}' | openssl dgst -sha256 -hmac 'whsec_known_answer_0123456789'
//   printf '%s' '["period.failed","acme","daily","2026-11-10","run-1"]' | sha256sum
const KNOWN_SECRET = 'whsec_known_answer_0123456789';
const KNOWN_TIMESTAMP_SECONDS = 1_767_225_600;
const KNOWN_BODY = '{"id":"evt_known","type":"period.missing"}';
const KNOWN_HMAC = 'd9fc7344209f22216e7fdc879f48ea72c7bc74f258b9365d88842f9e1a1fecf1';
const KNOWN_EVENT_ID = 'evt_8dc766cfdf55cc5319ed4b2f4f47742c';
const KNOWN_NOW_MS = KNOWN_TIMESTAMP_SECONDS * 1000;

const FAILED: NotificationInput = {
  type: 'period.failed',
  change: 'run-1',
  occurredAt: '2026-11-11T03:00:05.000Z',
  clientId: 'acme',
  frequency: 'daily',
  periodStart: '2026-11-10',
  data: { errorType: 'AuthenticationFailedError', errorMessage: 'client "acme": SFTP server sftp.example.com:22 refused password login for user "acme"' },
};

const DRIFTED: NotificationInput = {
  type: 'period.drifted',
  change: 'r1',
  occurredAt: '2026-11-12T00:00:04.000Z',
  clientId: 'acme',
  frequency: 'daily',
  periodStart: '2026-11-10',
  data: { revision: 1, fileName: 'acme.csv', deliveredSha256: 'a'.repeat(64), rebuiltSha256: 'b'.repeat(64), deliveredRowCount: 120, rebuiltRowCount: 161 },
};
const RESTATED: NotificationInput = {
  type: 'period.restated',
  change: 'r2',
  occurredAt: '2026-11-12T00:01:00.000Z',
  clientId: 'acme',
  frequency: 'daily',
  periodStart: '2026-11-10',
  data: { revision: 2, fileName: 'acme_r2.csv', replacesRevision: 1, rowCount: 161, sha256: 'b'.repeat(64), rowsAdded: 41, rowsRemoved: 0 },
};

describe('webhook signatures (Stripe\'s scheme: t=<seconds>,v1=<HMAC-SHA256 of "<t>.<body>">)', () => {
  it('signs a known body at a fixed time with a fixed secret to the known HMAC', () => {
    assert.equal(signWebhookBody(KNOWN_BODY, KNOWN_SECRET, KNOWN_TIMESTAMP_SECONDS), `t=${KNOWN_TIMESTAMP_SECONDS},v1=${KNOWN_HMAC}`);
    assert.equal(
      signWebhookBody(Buffer.from(KNOWN_BODY), KNOWN_SECRET, KNOWN_TIMESTAMP_SECONDS),
      `t=${KNOWN_TIMESTAMP_SECONDS},v1=${KNOWN_HMAC}`,
      'bytes sign as their text',
    );
  });

  it('verifies the known signature, as bytes or text, within the tolerance on either side', () => {
    const header = `t=${KNOWN_TIMESTAMP_SECONDS},v1=${KNOWN_HMAC}`;
    assert.deepEqual(verifySignature(KNOWN_BODY, header, KNOWN_SECRET, { now: KNOWN_NOW_MS }), { valid: true, timestampSeconds: KNOWN_TIMESTAMP_SECONDS });
    assert.equal(verifySignature(Buffer.from(KNOWN_BODY), header, KNOWN_SECRET, { now: KNOWN_NOW_MS }).valid, true);
    const edgeMs = SIGNATURE_TOLERANCE_SECONDS * 1000;
    assert.equal(verifySignature(KNOWN_BODY, header, KNOWN_SECRET, { now: KNOWN_NOW_MS + edgeMs }).valid, true, 'as old as the tolerance');
    assert.equal(verifySignature(KNOWN_BODY, header, KNOWN_SECRET, { now: KNOWN_NOW_MS - edgeMs }).valid, true, 'as far ahead as the tolerance');
  });

  it('rejects a replayed old signature and one from the future, outside the tolerance', () => {
    const header = signWebhookBody(KNOWN_BODY, KNOWN_SECRET, KNOWN_TIMESTAMP_SECONDS);
    const replayedAt = KNOWN_NOW_MS + (SIGNATURE_TOLERANCE_SECONDS + 1) * 1000;
    assert.deepEqual(verifySignature(KNOWN_BODY, header, KNOWN_SECRET, { now: replayedAt }), { valid: false, reason: 'outside tolerance' });
    assert.deepEqual(verifySignature(KNOWN_BODY, header, KNOWN_SECRET, { now: KNOWN_NOW_MS - 301_000 }), { valid: false, reason: 'outside tolerance' });
    assert.equal(verifySignature(KNOWN_BODY, header, KNOWN_SECRET, { now: KNOWN_NOW_MS + 60_000, toleranceSeconds: 30 }).valid, false, 'a tighter tolerance');
    // Moving the timestamp forward to pass the check breaks the signature, which covers it.
    const refreshed = header.replace(`t=${KNOWN_TIMESTAMP_SECONDS}`, `t=${KNOWN_TIMESTAMP_SECONDS + 400}`);
    assert.deepEqual(verifySignature(KNOWN_BODY, refreshed, KNOWN_SECRET, { now: replayedAt }), { valid: false, reason: 'mismatch' });
  });

  it('rejects a changed body, a wrong secret, and missing or malformed headers', () => {
    const header = signWebhookBody(KNOWN_BODY, KNOWN_SECRET, KNOWN_TIMESTAMP_SECONDS);
    const at = { now: KNOWN_NOW_MS };
    assert.deepEqual(verifySignature(KNOWN_BODY.replace('missing', 'late'), header, KNOWN_SECRET, at), { valid: false, reason: 'mismatch' });
    assert.deepEqual(
      verifySignature(`${KNOWN_BODY} `, header, KNOWN_SECRET, at),
      { valid: false, reason: 'mismatch' },
      'the raw bytes count, not the parsed JSON',
    );
    assert.deepEqual(verifySignature(KNOWN_BODY, header, 'whsec_some_other_secret_000', at), { valid: false, reason: 'mismatch' });
    assert.deepEqual(verifySignature(KNOWN_BODY, undefined, KNOWN_SECRET, at), { valid: false, reason: 'missing' });
    assert.deepEqual(verifySignature(KNOWN_BODY, '', KNOWN_SECRET, at), { valid: false, reason: 'missing' });
    for (const bad of [
      `v1=${KNOWN_HMAC}`,
      `t=${KNOWN_TIMESTAMP_SECONDS}`,
      `t=soon,v1=${KNOWN_HMAC}`,
      `t=${KNOWN_TIMESTAMP_SECONDS},v1=${KNOWN_HMAC.slice(2)}`,
      `t=${KNOWN_TIMESTAMP_SECONDS},v0=${KNOWN_HMAC}`,
      'garbage',
    ]) {
      assert.deepEqual(verifySignature(KNOWN_BODY, bad, KNOWN_SECRET, at), { valid: false, reason: 'malformed' }, bad);
    }
  });

  it('accepts a header with several v1 signatures when one matches (a secret rotation)', () => {
    const other = signWebhookBody(KNOWN_BODY, 'whsec_the_old_secret_0123', KNOWN_TIMESTAMP_SECONDS).split(',')[1];
    const header = `t=${KNOWN_TIMESTAMP_SECONDS},${other},v1=${KNOWN_HMAC}`;
    assert.equal(verifySignature(KNOWN_BODY, header, KNOWN_SECRET, { now: KNOWN_NOW_MS }).valid, true);
    assert.deepEqual(verifySignature(KNOWN_BODY, `t=${KNOWN_TIMESTAMP_SECONDS},${other}`, KNOWN_SECRET, { now: KNOWN_NOW_MS }), {
      valid: false,
      reason: 'mismatch',
    });
  });
});

describe('notification events', () => {
  it('derive their id from client, frequency, period, type and state change only', () => {
    assert.equal(notificationEventId(FAILED), KNOWN_EVENT_ID);
    assert.equal(createNotificationEvent(FAILED).id, KNOWN_EVENT_ID);
    assert.equal(
      createNotificationEvent({ ...FAILED, occurredAt: '2026-11-12T00:00:00.000Z', data: { errorType: 'X', errorMessage: 'other' } }).id,
      KNOWN_EVENT_ID,
      'a resend of the same change',
    );
    const others = [
      { ...FAILED, change: 'run-2' },
      { ...FAILED, clientId: 'acme2' },
      { ...FAILED, frequency: 'weekly' as const, periodStart: '2026-11-09' },
      { ...FAILED, periodStart: '2026-11-11' },
      { ...FAILED, type: 'period.missing' as const, data: {} },
    ];
    const ids = new Set([KNOWN_EVENT_ID, ...others.map((input) => notificationEventId(input))]);
    assert.equal(ids.size, others.length + 1, 'every other change has an id of its own');
  });

  it("carry the period, the type's fields and nothing else; the JSON body is the event", () => {
    const extra = { ...FAILED, data: { ...FAILED.data, password: 'hunter2' }, rows: [['a']] } as unknown as NotificationInput;
    const event = createNotificationEvent(extra);
    assert.deepEqual(event, {
      id: KNOWN_EVENT_ID,
      type: 'period.failed',
      occurredAt: '2026-11-11T03:00:05.000Z',
      clientId: 'acme',
      frequency: 'daily',
      periodStart: '2026-11-10',
      data: { errorType: 'AuthenticationFailedError', errorMessage: FAILED.data.errorMessage },
    });
    assert.equal(webhookBody(event, 'json'), JSON.stringify(event));
    const delivered = createNotificationEvent({
      type: 'period.delivered',
      change: 'r2',
      occurredAt: '2026-11-11T03:01:00Z',
      clientId: 'acme',
      frequency: 'monthly',
      periodStart: '2026-10-01',
      data: { fileName: 'twoway_activity_acme_monthly_20261001_r2.csv', revision: 2, rowCount: 1234, sha256: 'a'.repeat(64) },
    });
    assert.deepEqual(delivered.data, { fileName: 'twoway_activity_acme_monthly_20261001_r2.csv', revision: 2, rowCount: 1234, sha256: 'a'.repeat(64) });
    const late = createNotificationEvent({
      type: 'period.late',
      change: '2026-11-11T09:00:00.000Z',
      occurredAt: '2026-11-11T09:05:00.000Z',
      clientId: 'acme',
      frequency: 'daily',
      periodStart: '2026-11-10',
      data: { dueAt: '2026-11-11T09:00:00.000Z' },
    });
    assert.deepEqual(late.data, { dueAt: '2026-11-11T09:00:00.000Z' });
  });

  it('shorten a long error message', () => {
    const event = createNotificationEvent({ ...FAILED, data: { errorType: 'Error', errorMessage: 'x'.repeat(5_000) } });
    assert.ok(event.type === 'period.failed' && event.data.errorMessage.length === 1_000 && event.data.errorMessage.endsWith('…'));
  });

  it('refuse an input that can never be sent, naming the client, the field and the value', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ ...FAILED, type: 'period.exploded' }, /client "acme": notification type is "period\.exploded"; allowed: period\.delivered, /],
      [{ ...FAILED, occurredAt: '11/11/2026' }, /occurredAt is "11\/11\/2026"; allowed: an ISO 8601 UTC instant/],
      [{ ...FAILED, periodStart: '2026-11' }, /periodStart is "2026-11"/],
      [{ ...FAILED, frequency: 'hourly' }, /frequency is "hourly"; allowed: daily, weekly, monthly/],
      [{ ...FAILED, change: '' }, /change is ""/],
      [{ ...FAILED, type: 'period.late', data: { dueAt: 'tomorrow' } }, /data\.dueAt is "tomorrow"/],
      [{ ...FAILED, type: 'period.recovered', data: { previousState: 'sad' } }, /data\.previousState is "sad"; allowed: late, missing, failed/],
      [{ ...FAILED, type: 'period.delivered', data: { fileName: 'f.csv', revision: 0, rowCount: 1, sha256: 'a'.repeat(64) } }, /data\.revision is 0/],
      [{ ...DRIFTED, data: { ...DRIFTED.data, rebuiltSha256: 'nope' } }, /data\.rebuiltSha256 is "nope"; allowed: 64 lower-case hex digits/],
      [{ ...RESTATED, data: { ...RESTATED.data, replacesRevision: 0 } }, /data\.replacesRevision is 0; allowed: a whole number from 1/],
      [{ ...RESTATED, data: { ...RESTATED.data, rowsAdded: -1 } }, /data\.rowsAdded is -1; allowed: a whole number from 0/],
    ];
    for (const [input, message] of cases) {
      assert.throws(
        () => createNotificationEvent(input as NotificationInput),
        (error: unknown) => error instanceof InvalidNotificationError && message.test(error.message),
        String(message),
      );
    }
  });

  it('render a Slack-compatible body: one text line naming the client and period, markup escaped', () => {
    const event = createNotificationEvent({ ...FAILED, data: { errorType: 'RemoteFileConflictError', errorMessage: 'a <b> & c' } });
    const body = JSON.parse(webhookBody(event, 'slack')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body), ['text']);
    assert.equal(body.text, 'Failed: client acme, daily period 2026-11-10: RemoteFileConflictError: a &lt;b&gt; &amp; c');
    const recovered = createNotificationEvent({ ...FAILED, type: 'period.recovered', data: { previousState: 'missing' } });
    assert.match(
      JSON.parse(webhookBody(recovered, 'slack')).text as string,
      /^Recovered: client acme, daily period 2026-11-10: delivered after being missing$/,
    );
    assert.equal(
      JSON.parse(webhookBody(createNotificationEvent(DRIFTED), 'slack')).text,
      'Drifted: client acme, daily period 2026-11-10: acme.csv (revision 1) would differ if built today (120 → 161 rows)',
    );
    assert.equal(
      JSON.parse(webhookBody(createNotificationEvent({ ...RESTATED, data: { ...RESTATED.data, rowsAdded: null, rowsRemoved: null } }), 'slack')).text,
      'Restated: client acme, daily period 2026-11-10: acme_r2.csv (revision 2, replaces revision 1, rows changed: not known)',
    );
  });

  it('keep exactly the fields of the late-data events', () => {
    assert.deepEqual(createNotificationEvent({ ...DRIFTED, data: { ...DRIFTED.data, extra: 'dropped' } } as NotificationInput).data, DRIFTED.data);
    assert.deepEqual(createNotificationEvent(RESTATED).data, RESTATED.data);
  });
});
