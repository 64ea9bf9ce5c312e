/**
 * Where notifications go, from the environment (TWOWAY_WEBHOOK_URL, TWOWAY_WEBHOOK_SECRET,
 * TWOWAY_WEBHOOK_FORMAT). A webhook URL can itself be a credential (Slack's carry their token
 * in the path), so messages and logs show only its scheme, host and port.
 */
import { InvalidEnvironmentError } from '../config/env.js';
import { describeValue } from '../domain/errors.js';
import { WEBHOOK_REQUEST_TIMEOUT_MS } from './policy.js';

export const WEBHOOK_FORMATS = ['json', 'slack'] as const;
/** json: the signed event itself; slack: `{ "text": … }` for a Slack incoming webhook. */
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

export interface WebhookSettings {
  readonly url: string;
  readonly format: WebhookFormat;
  /** HMAC-SHA256 key of the Twoway-Signature header; null only for a Slack body (Slack ignores the header). Named `secret` so the logger redacts it. */
  readonly secret: string | null;
  readonly timeoutMs: number;
}

/** Shortest secret accepted: a guessable key would let anyone forge events. */
export const MIN_WEBHOOK_SECRET_LENGTH = 16;

// The documented defaults, accepted when written out (as a compose file does) to mean "not set".
const URL_OFF = 'off';
const SECRET_NONE = 'none';

/** The URL as messages and logs show it: scheme, host and port; a path is shown as `/…`. */
export function describeWebhookEndpoint(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' && !parsed.search ? '' : '/…'}`;
  } catch {
    return 'an unparsable URL';
  }
}

function parseUrl(raw: string): string {
  const variable = 'TWOWAY_WEBHOOK_URL';
  const allowed = 'an absolute http:// or https:// URL without user or password, or off';
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new InvalidEnvironmentError(variable, `a value of ${raw.length} characters that is not a URL`, allowed);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new InvalidEnvironmentError(variable, `a URL of scheme ${describeValue(parsed.protocol.replace(/:$/, ''))}`, allowed);
  }
  // fetch refuses URLs with credentials; the signature is what authenticates a sender.
  if (parsed.username || parsed.password) {
    throw new InvalidEnvironmentError(variable, `a URL of ${describeWebhookEndpoint(raw)} with a user or password`, allowed);
  }
  return parsed.toString();
}

function parseSecret(env: NodeJS.ProcessEnv, format: WebhookFormat): string | null {
  const variable = 'TWOWAY_WEBHOOK_SECRET';
  const raw = env[variable]?.trim() ?? '';
  const allowed = `at least ${MIN_WEBHOOK_SECRET_LENGTH} characters (e.g. \`openssl rand -hex 32\`)${format === 'slack' ? ', or none' : ', required with TWOWAY_WEBHOOK_FORMAT=json'}`;
  if (!raw || raw === SECRET_NONE) {
    if (format === 'slack') return null;
    throw new InvalidEnvironmentError(variable, 'not set', allowed);
  }
  // The length only: the value is the secret.
  if (raw.length < MIN_WEBHOOK_SECRET_LENGTH) throw new InvalidEnvironmentError(variable, `${raw.length} characters long`, allowed);
  return raw;
}

/** The webhook settings, or null when TWOWAY_WEBHOOK_URL is unset or `off` (no notifications are sent). */
export function parseWebhookSettings(env: NodeJS.ProcessEnv): WebhookSettings | null {
  const rawUrl = env.TWOWAY_WEBHOOK_URL?.trim() ?? '';
  if (!rawUrl || rawUrl === URL_OFF) return null;
  const url = parseUrl(rawUrl);
  const rawFormat = env.TWOWAY_WEBHOOK_FORMAT?.trim() || 'json';
  const format = WEBHOOK_FORMATS.find((known) => known === rawFormat);
  if (!format) throw new InvalidEnvironmentError('TWOWAY_WEBHOOK_FORMAT', describeValue(rawFormat), WEBHOOK_FORMATS.join(' or '));
  return { url, format, secret: parseSecret(env, format), timeoutMs: WEBHOOK_REQUEST_TIMEOUT_MS };
}
