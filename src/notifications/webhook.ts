/**
 * Webhooks, signed as Stripe signs them: `Twoway-Signature: t=<unix seconds>,v1=<hex
 * HMAC-SHA256 of "<t>.<raw body>">`. The timestamp is signed with the body, so a receiver
 * that checks it (verifySignature) refuses a captured request replayed later.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { FREQUENCIES } from '../domain/types.js';
import { InvalidNotificationError, WebhookRejectedError, WebhookUnavailableError, describeValue } from '../domain/errors.js';
import { MS_PER_SECOND } from '../domain/time-zone.js';
import { PROBLEM_STATES } from '../domain/period-states.js';
import { NOTIFICATION_EVENT_TYPES, type NotificationEvent, type NotificationInput } from './events.js';
import { describeWebhookEndpoint, type WebhookSettings } from './settings.js';

export const SIGNATURE_HEADER = 'Twoway-Signature';
export const EVENT_ID_HEADER = 'Twoway-Event-Id';
const EVENT_TYPE_HEADER = 'Twoway-Event-Type';

/** How far a signature's timestamp may lie from the receiver's clock (Stripe's default). */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/** Longest error message an event carries; a receiver (Slack, say) shows events in a line or two. */
const MAX_ERROR_MESSAGE_CHARACTERS = 1_000;
const EVENT_ID_HEX_CHARACTERS = 32;
const SIGNATURE_VERSION = 'v1';
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?Z$/;
const LOCAL_DATE = /^\d{4}-\d{2}-\d{2}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** The event's id: a hash of client, frequency, period, type and state change, so every send of one change has the same id. */
export function notificationEventId(input: Pick<NotificationInput, 'type' | 'clientId' | 'frequency' | 'periodStart' | 'change'>): string {
  const key = JSON.stringify([input.type, input.clientId, input.frequency, input.periodStart, input.change]);
  return `evt_${createHash('sha256').update(key).digest('hex').slice(0, EVENT_ID_HEX_CHARACTERS)}`;
}

function assertField(input: { readonly clientId: string }, ok: boolean, field: string, value: unknown, allowed: string): void {
  if (!ok) throw new InvalidNotificationError(String(input.clientId), field, describeValue(value), allowed);
}

function assertInput(input: NotificationInput): void {
  assertField(input, typeof input.clientId === 'string' && input.clientId.length > 0, 'clientId', input.clientId, 'a client id');
  assertField(input, NOTIFICATION_EVENT_TYPES.includes(input.type), 'type', input.type, NOTIFICATION_EVENT_TYPES.join(', '));
  assertField(input, FREQUENCIES.includes(input.frequency), 'frequency', input.frequency, FREQUENCIES.join(', '));
  assertField(input, typeof input.periodStart === 'string' && LOCAL_DATE.test(input.periodStart), 'periodStart', input.periodStart, 'a local date YYYY-MM-DD');
  assertField(
    input,
    typeof input.occurredAt === 'string' && ISO_INSTANT.test(input.occurredAt),
    'occurredAt',
    input.occurredAt,
    'an ISO 8601 UTC instant such as 2026-11-11T03:00:00.000Z',
  );
  assertField(input, typeof input.change === 'string' && input.change.length > 0, 'change', input.change, 'a non-empty key of the state change');
  switch (input.type) {
    case 'period.delivered': {
      const { fileName, revision, rowCount, sha256 } = input.data;
      assertField(input, typeof fileName === 'string' && fileName.length > 0, 'data.fileName', fileName, "the delivered file's name");
      assertField(input, Number.isSafeInteger(revision) && revision >= 1, 'data.revision', revision, 'a whole number from 1');
      assertField(input, Number.isSafeInteger(rowCount) && rowCount >= 0, 'data.rowCount', rowCount, 'a whole number from 0');
      assertField(input, typeof sha256 === 'string' && SHA256_HEX.test(sha256), 'data.sha256', sha256, '64 lower-case hex digits');
      break;
    }
    case 'period.failed':
      assertField(
        input,
        typeof input.data.errorType === 'string' && input.data.errorType.length > 0,
        'data.errorType',
        input.data.errorType,
        'an error type name',
      );
      assertField(input, typeof input.data.errorMessage === 'string', 'data.errorMessage', input.data.errorMessage, 'a message');
      break;
    case 'period.late':
      assertField(input, typeof input.data.dueAt === 'string' && ISO_INSTANT.test(input.data.dueAt), 'data.dueAt', input.data.dueAt, 'an ISO 8601 UTC instant');
      break;
    case 'period.recovered':
      assertField(input, PROBLEM_STATES.includes(input.data.previousState), 'data.previousState', input.data.previousState, PROBLEM_STATES.join(', '));
      break;
    case 'period.missing':
      break;
    case 'period.drifted': {
      const { revision, fileName, deliveredSha256, rebuiltSha256, deliveredRowCount, rebuiltRowCount } = input.data;
      assertRevision(input, 'data.revision', revision);
      assertField(input, typeof fileName === 'string' && fileName.length > 0, 'data.fileName', fileName, "the delivered file's name");
      assertField(
        input,
        typeof deliveredSha256 === 'string' && SHA256_HEX.test(deliveredSha256),
        'data.deliveredSha256',
        deliveredSha256,
        '64 lower-case hex digits',
      );
      assertField(input, typeof rebuiltSha256 === 'string' && SHA256_HEX.test(rebuiltSha256), 'data.rebuiltSha256', rebuiltSha256, '64 lower-case hex digits');
      assertCount(input, 'data.deliveredRowCount', deliveredRowCount);
      assertCount(input, 'data.rebuiltRowCount', rebuiltRowCount);
      break;
    }
    case 'period.restated': {
      const { revision, fileName, replacesRevision, rowCount, sha256, rowsAdded, rowsRemoved } = input.data;
      assertRevision(input, 'data.revision', revision);
      assertRevision(input, 'data.replacesRevision', replacesRevision);
      assertField(input, typeof fileName === 'string' && fileName.length > 0, 'data.fileName', fileName, "the delivered file's name");
      assertCount(input, 'data.rowCount', rowCount);
      assertField(input, typeof sha256 === 'string' && SHA256_HEX.test(sha256), 'data.sha256', sha256, '64 lower-case hex digits');
      if (rowsAdded !== null) assertCount(input, 'data.rowsAdded', rowsAdded);
      if (rowsRemoved !== null) assertCount(input, 'data.rowsRemoved', rowsRemoved);
      break;
    }
  }
}

function assertRevision(input: { readonly clientId: string }, field: string, value: unknown): void {
  assertField(input, Number.isSafeInteger(value) && (value as number) >= 1, field, value, 'a whole number from 1');
}

function assertCount(input: { readonly clientId: string }, field: string, value: unknown): void {
  assertField(input, Number.isSafeInteger(value) && (value as number) >= 0, field, value, 'a whole number from 0');
}

function shorten(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The event a caller's input describes, checked; only the fields of its type are kept, so nothing else reaches a receiver. */
export function createNotificationEvent(input: NotificationInput): NotificationEvent {
  assertInput(input);
  const base = {
    id: notificationEventId(input),
    occurredAt: input.occurredAt,
    clientId: input.clientId,
    frequency: input.frequency,
    periodStart: input.periodStart,
  };
  switch (input.type) {
    case 'period.delivered': {
      const { fileName, revision, rowCount, sha256 } = input.data;
      return { ...base, type: input.type, data: { fileName, revision, rowCount, sha256 } };
    }
    case 'period.failed':
      return {
        ...base,
        type: input.type,
        data: { errorType: input.data.errorType, errorMessage: shorten(input.data.errorMessage, MAX_ERROR_MESSAGE_CHARACTERS) },
      };
    case 'period.late':
      return { ...base, type: input.type, data: { dueAt: input.data.dueAt } };
    case 'period.missing':
      return { ...base, type: input.type, data: {} };
    case 'period.recovered':
      return { ...base, type: input.type, data: { previousState: input.data.previousState } };
    case 'period.drifted': {
      const { revision, fileName, deliveredSha256, rebuiltSha256, deliveredRowCount, rebuiltRowCount } = input.data;
      return { ...base, type: input.type, data: { revision, fileName, deliveredSha256, rebuiltSha256, deliveredRowCount, rebuiltRowCount } };
    }
    case 'period.restated': {
      const { revision, fileName, replacesRevision, rowCount, sha256, rowsAdded, rowsRemoved } = input.data;
      return { ...base, type: input.type, data: { revision, fileName, replacesRevision, rowCount, sha256, rowsAdded, rowsRemoved } };
    }
  }
}

/** `+3 −1 rows`, or the net change when the rows added and removed are not known. */
export function describeRowChanges(changes: { readonly rowsAdded: number | null; readonly rowsRemoved: number | null }): string {
  return changes.rowsAdded === null || changes.rowsRemoved === null ? 'rows changed: not known' : `+${changes.rowsAdded} −${changes.rowsRemoved} rows`;
}

function hmacHex(secret: string, timestampSeconds: number, rawBody: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestampSeconds}.`).update(rawBody).digest('hex');
}

/** The Twoway-Signature header for a body sent at `timestampSeconds` (Unix seconds). */
export function signWebhookBody(rawBody: string | Buffer, secret: string, timestampSeconds: number): string {
  return `t=${timestampSeconds},${SIGNATURE_VERSION}=${hmacHex(secret, timestampSeconds, rawBody)}`;
}

export type SignatureVerification =
  | { readonly valid: true; readonly timestampSeconds: number }
  | { readonly valid: false; readonly reason: 'missing' | 'malformed' | 'mismatch' | 'outside tolerance' };

export interface VerifySignatureOptions {
  /** Largest difference between the signed timestamp and `now`; SIGNATURE_TOLERANCE_SECONDS when not given. */
  readonly toleranceSeconds?: number;
  /** The receiver's clock, milliseconds since the epoch; Date.now() when not given. */
  readonly now?: number;
}

/**
 * What a receiver does with a request: recomputes the HMAC of "<t>.<raw body>" with its secret,
 * compares it in constant time with every v1 signature of the header (several during a secret
 * rotation), then refuses a timestamp outside the tolerance, which stops replays of old requests.
 * `rawBody` must be the bytes received, before any JSON parsing.
 */
export function verifySignature(
  rawBody: string | Buffer,
  header: string | null | undefined,
  secret: string,
  options: VerifySignatureOptions = {},
): SignatureVerification {
  if (!header) return { valid: false, reason: 'missing' };
  let timestampSeconds: number | null = null;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const separator = part.indexOf('=');
    if (separator < 0) continue;
    const key = part.slice(0, separator).trim();
    const value = part.slice(separator + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(value)) timestampSeconds = Number(value);
    else if (key === SIGNATURE_VERSION && SHA256_HEX.test(value)) signatures.push(Buffer.from(value, 'hex'));
  }
  if (timestampSeconds === null || signatures.length === 0) return { valid: false, reason: 'malformed' };
  const expected = Buffer.from(hmacHex(secret, timestampSeconds, rawBody), 'hex');
  if (!signatures.some((signature) => timingSafeEqual(signature, expected))) return { valid: false, reason: 'mismatch' };
  const nowSeconds = Math.floor((options.now ?? Date.now()) / MS_PER_SECOND);
  if (Math.abs(nowSeconds - timestampSeconds) > (options.toleranceSeconds ?? SIGNATURE_TOLERANCE_SECONDS)) return { valid: false, reason: 'outside tolerance' };
  return { valid: true, timestampSeconds };
}

// Slack reads &, < and > as markup.
function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** One line for people: what happened to which period. */
export function describeNotificationEvent(event: NotificationEvent): string {
  const period = `client ${event.clientId}, ${event.frequency} period ${event.periodStart}`;
  switch (event.type) {
    case 'period.delivered':
      return `Delivered: ${period}: ${event.data.fileName} (revision ${event.data.revision}, ${event.data.rowCount} rows)`;
    case 'period.failed':
      return `Failed: ${period}: ${event.data.errorType}: ${event.data.errorMessage}`;
    case 'period.late':
      return `Late: ${period}: due ${event.data.dueAt}, not delivered yet`;
    case 'period.missing':
      return `Missing: ${period}: no run has started (is its schedule paused or deleted?)`;
    case 'period.recovered':
      return `Recovered: ${period}: delivered after being ${event.data.previousState}`;
    case 'period.drifted':
      return `Drifted: ${period}: ${event.data.fileName} (revision ${event.data.revision}) would differ if built today (${event.data.deliveredRowCount} → ${event.data.rebuiltRowCount} rows)`;
    case 'period.restated':
      return `Restated: ${period}: ${event.data.fileName} (revision ${event.data.revision}, replaces revision ${event.data.replacesRevision}, ${describeRowChanges(event.data)})`;
  }
}

/** The request body in the configured format: the event as JSON, or a Slack-compatible `{ "text": … }`. */
export function webhookBody(event: NotificationEvent, format: WebhookSettings['format']): string {
  return format === 'slack' ? JSON.stringify({ text: escapeSlack(describeNotificationEvent(event)) }) : JSON.stringify(event);
}

function isRetryableStatus(status: number): boolean {
  const REQUEST_TIMEOUT = 408;
  const TOO_MANY_REQUESTS = 429;
  return status >= 500 || status === REQUEST_TIMEOUT || status === TOO_MANY_REQUESTS;
}

/** A network error's code (ECONNREFUSED, …), never its message: that could hold the URL. */
function networkFault(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const code = (cause as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z0-9_]+$/.test(code) ? code : error instanceof Error ? error.name : 'unknown';
}

export interface PostWebhookOptions {
  /** Signing time, milliseconds since the epoch; Date.now() when not given. */
  readonly now?: number;
  /** Stops the request (the activity's cancellation). */
  readonly signal?: AbortSignal;
}

/**
 * POSTs one event. Resolves with the status on a 2xx answer; throws WebhookRejectedError on an
 * answer that retrying cannot change and WebhookUnavailableError on one it may (5xx, 408, 429),
 * on a network fault and when no answer comes within `settings.timeoutMs`. Redirects are not
 * followed (a POST would turn into a GET): they count as a refusal.
 */
export async function postWebhook(settings: WebhookSettings, event: NotificationEvent, options: PostWebhookOptions = {}): Promise<{ readonly status: number }> {
  const body = webhookBody(event, settings.format);
  const endpoint = describeWebhookEndpoint(settings.url);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'twoway-report-webhook',
    [EVENT_ID_HEADER]: event.id,
    [EVENT_TYPE_HEADER]: event.type,
  };
  if (settings.secret) headers[SIGNATURE_HEADER] = signWebhookBody(body, settings.secret, Math.floor((options.now ?? Date.now()) / MS_PER_SECOND));
  const timeout = AbortSignal.timeout(settings.timeoutMs);
  const unavailable = (status: number | null, detail: string) => new WebhookUnavailableError(event.clientId, event.type, event.id, endpoint, status, detail);
  let response: Response;
  try {
    response = await fetch(settings.url, {
      method: 'POST',
      headers,
      body,
      redirect: 'manual',
      signal: options.signal ? AbortSignal.any([timeout, options.signal]) : timeout,
    });
    // The answer's body is not needed; dropping it frees the connection.
    await response.body?.cancel();
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    if (timeout.aborted) throw unavailable(null, `no answer within ${settings.timeoutMs} ms`);
    throw unavailable(null, `network error ${networkFault(error)}`);
  }
  if (response.status >= 200 && response.status < 300) return { status: response.status };
  if (isRetryableStatus(response.status)) throw unavailable(response.status, `HTTP ${response.status}`);
  throw new WebhookRejectedError(event.clientId, event.type, event.id, endpoint, response.status);
}
