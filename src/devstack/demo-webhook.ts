/**
 * Where the demo's notifications go: TWOWAY_WEBHOOK_URL when set, as for a worker; otherwise a
 * receiver of the demo's own on loopback that verifies each event's signature and prints it as
 * one `webhook …` line.
 */
import { randomBytes } from 'node:crypto';
import type { NotificationEvent } from '../notifications/events.js';
import { describeRowChanges } from '../notifications/webhook.js';
import { WEBHOOK_REQUEST_TIMEOUT_MS } from '../notifications/policy.js';
import { startWebhookReceiver, type WebhookReceiver } from '../notifications/receiver.js';
import { describeWebhookEndpoint, parseWebhookSettings, type WebhookSettings } from '../notifications/settings.js';

/** Random secret of the demo's receiver when TWOWAY_WEBHOOK_SECRET is not set: 32 hex characters. */
const RANDOM_SECRET_BYTES = 16;
/** An error message is cut to this in a `webhook` line: one terminal line, not the event's full text. */
const DETAIL_CHARACTERS = 120;

export interface DemoWebhook {
  /** What the worker sends with. */
  readonly settings: WebhookSettings;
  /** The demo's own receiver; null when TWOWAY_WEBHOOK_URL sends elsewhere. */
  readonly receiver: WebhookReceiver | null;
  /** For the demo's "where to look" lines: never an outside URL in full (it may hold a token). */
  readonly description: string;
}

function shorten(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > DETAIL_CHARACTERS ? `${line.slice(0, DETAIL_CHARACTERS - 1)}…` : line;
}

function detailOf(event: NotificationEvent): string {
  switch (event.type) {
    case 'period.delivered':
      return `${event.data.fileName} (revision ${event.data.revision}, ${event.data.rowCount} rows)`;
    case 'period.failed':
      return shorten(`${event.data.errorType}: ${event.data.errorMessage}`);
    case 'period.late':
      return `due ${event.data.dueAt}, not delivered yet`;
    case 'period.missing':
      return 'no run has started';
    case 'period.recovered':
      return `delivered after being ${event.data.previousState}`;
    case 'period.drifted':
      return `${event.data.fileName} (revision ${event.data.revision}) would differ today: ${event.data.deliveredRowCount} → ${event.data.rebuiltRowCount} rows`;
    case 'period.restated':
      return `${event.data.fileName} (revision ${event.data.revision}, replaces ${event.data.replacesRevision}, ${describeRowChanges(event.data)})`;
  }
}

/** One line per event received, e.g. `webhook  period.failed  hooli daily 2026-11-30  AuthenticationFailedError: …`. */
export function webhookLine(event: NotificationEvent): string {
  return `webhook  ${event.type}  ${event.clientId} ${event.frequency} ${event.periodStart}  ${detailOf(event)}`;
}

/**
 * The secret the demo's receiver checks: TWOWAY_WEBHOOK_SECRET when set (checked as a worker
 * checks it, so a test or another sender can sign for it), else a random one that never leaves
 * this process.
 */
function receiverSecret(env: NodeJS.ProcessEnv): string {
  const given = env.TWOWAY_WEBHOOK_SECRET?.trim();
  if (!given || given === 'none') return randomBytes(RANDOM_SECRET_BYTES).toString('hex');
  // The receiver's own address stands in for the URL: only the secret is being checked here.
  return parseWebhookSettings({ TWOWAY_WEBHOOK_URL: 'http://127.0.0.1/', TWOWAY_WEBHOOK_FORMAT: 'json', TWOWAY_WEBHOOK_SECRET: given })?.secret ?? given;
}

/** TWOWAY_WEBHOOK_URL's settings, or the demo's receiver started on loopback; `out` prints its lines. */
export async function startDemoWebhook(env: NodeJS.ProcessEnv, out: (line: string) => void): Promise<DemoWebhook> {
  const configured = parseWebhookSettings(env);
  if (configured) {
    return {
      settings: configured,
      receiver: null,
      description: `sent to ${describeWebhookEndpoint(configured.url)} (TWOWAY_WEBHOOK_URL, ${configured.format}); no receiver of the demo's`,
    };
  }
  const secret = receiverSecret(env);
  const receiver = await startWebhookReceiver({
    secret,
    onEvent: (event) => out(webhookLine(event)),
    onRejected: (status, reason) => out(`webhook  refused (HTTP ${status}): ${reason}`),
  });
  return {
    settings: { url: receiver.url, format: 'json', secret, timeoutMs: WEBHOOK_REQUEST_TIMEOUT_MS },
    receiver,
    description: `${receiver.url}  (checks signatures; prints each event as a "webhook …" line)`,
  };
}
