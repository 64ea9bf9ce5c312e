/** Validation of a `clients` row into a ClientConfig [SPEC §2, §5, §6]. */
import { parseAfterHours } from './after-hours-settings.js';
import { ClientNotEligibleError, InvalidClientSettingError, describeValue } from './errors.js';
import { parseDueSetting } from './deadlines.js';
import { parseFileNameTemplate } from './file-name.js';
import { parsePgpSettings } from './pgp-settings.js';
import { isLocalDate } from './local-date.js';
import { isPlainAbsolutePath } from './secret-references.js';
import { parseTimeZoneSetting } from './time-zone.js';
import {
  ENVIRONMENTS,
  FREQUENCIES,
  type ClientConfig,
  type Environment,
  type Frequency,
  type LocalDate,
  type SecretReference,
  type SftpAuthentication,
  type SftpDeliverySettings,
} from './types.js';

/** A `clients` row as the database hands it over. */
export interface ClientRow {
  readonly id: string;
  readonly name: string;
  readonly environment: string;
  readonly timezone: string;
  readonly frequency: string;
  readonly enabled: boolean;
  readonly after_hours: unknown;
  readonly delivery: unknown;
  readonly file_name_template: string | null;
  /** From `client_watch`, beside the contract's columns; absent or null when the client has no row there. */
  readonly due?: unknown;
  readonly active_since?: unknown;
}

/** Client ids become parts of file names, workflow ids and schedule ids. */
const CLIENT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const DEFAULT_SFTP_PORT = 22;
const MAX_NAME_LENGTH = 200;
const MAX_PORT = 65_535;
const HOST_PATTERN = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$|^\[?[0-9A-Fa-f:.]+\]?$/;
const USERNAME_PATTERN = /^[A-Za-z0-9._@-]{1,64}$/;
const HOST_KEY_PATTERN = /^SHA256:[A-Za-z0-9+/]{43}$/;
/** Pins at once: the old and the new key during a rotation, with room for a server that offers several. */
const MAX_HOST_KEY_PINS = 4;
const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DELIVERY_KEYS = [
  'protocol',
  'host',
  'port',
  'username',
  'remoteDir',
  'hostKeySha256',
  'password',
  'privateKey',
  'passphrase',
  'checksumFile',
  'gzip',
  'pgp',
  'manifest',
  'maxRowsPerFile',
];
const SECRET_ALLOWED =
  '{"env": "TWOWAY_SECRET_NAME"} (a variable under TWOWAY_SECRET_ENV_PREFIX) or {"file": "/run/secrets/twoway/name"} (a plain absolute path inside TWOWAY_SECRETS_DIR): a reference, never the secret itself';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function oneOf<T extends string>(clientId: string, field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new InvalidClientSettingError(clientId, field, describeValue(value), allowed.map((item) => `"${item}"`).join(', '));
}

/** Checks every setting of a client row; the first problem found is thrown, naming its field. */
export function parseClientConfig(row: ClientRow): ClientConfig {
  const id = row.id;
  if (typeof id !== 'string' || !CLIENT_ID_PATTERN.test(id)) {
    throw new InvalidClientSettingError(
      String(id),
      'id',
      describeValue(id),
      'letters, digits, ".", "_" and "-", starting with a letter or digit, at most 64 characters',
    );
  }
  const environment: Environment = oneOf(id, 'environment', row.environment, ENVIRONMENTS);
  const timeZone = parseTimeZoneSetting(id, 'timezone', row.timezone);
  const frequency: Frequency = oneOf(id, 'frequency', row.frequency, FREQUENCIES);
  if (typeof row.name !== 'string' || row.name.trim() === '' || row.name.length > MAX_NAME_LENGTH) {
    throw new InvalidClientSettingError(id, 'name', describeValue(row.name), `a non-empty text of at most ${MAX_NAME_LENGTH} characters`);
  }
  // Checked here rather than left to PostgreSQL so that `enabled=maybe` is refused with its field, not a driver error.
  if (typeof row.enabled !== 'boolean') throw new InvalidClientSettingError(id, 'enabled', describeValue(row.enabled), 'true or false');
  return {
    id,
    name: row.name,
    environment,
    timeZone,
    frequency,
    enabled: row.enabled,
    afterHours: parseAfterHours(id, row.after_hours, timeZone),
    delivery: parseDeliverySettings(id, row.delivery),
    fileNameTemplate: parseFileNameTemplate(id, row.file_name_template),
    due: parseDueSetting(id, row.due),
    activeSince: parseActiveSince(id, row.active_since),
  };
}

function parseActiveSince(clientId: string, value: unknown): LocalDate | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' && isLocalDate(value)) return value;
  throw new InvalidClientSettingError(
    clientId,
    'active_since',
    describeValue(value),
    'a date YYYY-MM-DD: the first local date whose period the client expects a file for',
  );
}

/** The report exists only for production clients [§1]; delivering also needs the client enabled. */
export function assertReportable(client: ClientConfig, purpose: 'render' | 'deliver'): void {
  if (client.environment !== 'production') throw new ClientNotEligibleError(client.id, 'sandbox');
  if (purpose === 'deliver' && !client.enabled) throw new ClientNotEligibleError(client.id, 'disabled');
}

/**
 * What a saved row must also satisfy: a client that is scheduled (enabled, production) needs
 * delivery settings. `clients` commands, schedules sync and the worker all check this, so a
 * setting the CLI saves is never one sync or the worker refuses.
 */
export function assertClientUsable(client: ClientConfig): void {
  if (client.enabled && client.environment === 'production') requireDelivery(client);
}

/** The client's delivery settings, or an error naming the field when there are none. */
export function requireDelivery(client: ClientConfig): SftpDeliverySettings {
  if (client.delivery) return client.delivery;
  throw new InvalidClientSettingError(client.id, 'delivery', 'null', 'SFTP settings as SPEC section 6 describes them');
}

function parseSecretReference(clientId: string, field: string, value: unknown): SecretReference {
  // A secret given in place of a reference must not be echoed back: describe its shape only.
  const refuse = (given: string) => new InvalidClientSettingError(clientId, field, given, SECRET_ALLOWED);
  if (!isPlainObject(value)) {
    throw refuse(typeof value === 'string' ? 'a literal string (not shown)' : `a ${value === null ? 'null' : typeof value}`);
  }
  const keys = Object.keys(value);
  if (keys.length === 1 && typeof value.env === 'string' && ENV_NAME_PATTERN.test(value.env)) return { env: value.env };
  if (keys.length === 1 && typeof value.file === 'string' && isPlainAbsolutePath(value.file)) return { file: value.file };
  throw refuse(`an object with keys ${keys.map((key) => `"${key}"`).join(', ') || '(none)'}`);
}

function parseAuthentication(clientId: string, raw: Record<string, unknown>): SftpAuthentication {
  const hasPassword = raw.password !== undefined;
  const hasKey = raw.privateKey !== undefined;
  if (hasPassword === hasKey) {
    throw new InvalidClientSettingError(clientId, 'delivery.password / delivery.privateKey', hasPassword ? 'both' : 'neither', 'exactly one of them');
  }
  if (hasPassword) {
    if (raw.passphrase !== undefined) {
      throw new InvalidClientSettingError(clientId, 'delivery.passphrase', 'a reference', 'a passphrase only together with delivery.privateKey');
    }
    return { method: 'password', password: parseSecretReference(clientId, 'delivery.password', raw.password) };
  }
  const privateKey = parseSecretReference(clientId, 'delivery.privateKey', raw.privateKey);
  if (raw.passphrase === undefined) return { method: 'privateKey', privateKey };
  return { method: 'privateKey', privateKey, passphrase: parseSecretReference(clientId, 'delivery.passphrase', raw.passphrase) };
}

function optionalBoolean(clientId: string, field: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value === 'boolean') return value;
  throw new InvalidClientSettingError(clientId, field, describeValue(value), 'true or false');
}

/** One pinned fingerprint, or a list of 1 to MAX_HOST_KEY_PINS distinct ones while the server's key is rotated. */
function parseHostKeyPins(clientId: string, value: unknown): string | readonly string[] {
  const isPin = (pin: unknown) => typeof pin === 'string' && HOST_KEY_PATTERN.test(pin);
  if (isPin(value)) return value as string;
  if (Array.isArray(value) && value.length >= 1 && value.length <= MAX_HOST_KEY_PINS && value.every(isPin) && new Set(value).size === value.length) {
    return [...(value as string[])];
  }
  throw new InvalidClientSettingError(
    clientId,
    'delivery.hostKeySha256',
    describeValue(value),
    `the pinned host key fingerprint as ssh-keygen -lf prints it, "SHA256:" and 43 base64 characters, or during a host key rotation a list of 1 to ${MAX_HOST_KEY_PINS} different ones`,
  );
}

/**
 * `manifest` and `maxRowsPerFile`, present only when set, so that a client without them keeps
 * the settings it had. Parts need the manifest: it is how a receiver knows that every part of
 * the revision has arrived, and which.
 */
function parseFileOptions(clientId: string, raw: Record<string, unknown>): Pick<SftpDeliverySettings, 'manifest' | 'maxRowsPerFile'> {
  const manifest = optionalBoolean(clientId, 'delivery.manifest', raw.manifest);
  const maxRows = raw.maxRowsPerFile;
  if (maxRows === undefined) return manifest ? { manifest } : {};
  if (typeof maxRows !== 'number' || !Number.isSafeInteger(maxRows) || maxRows < 1) {
    throw new InvalidClientSettingError(clientId, 'delivery.maxRowsPerFile', describeValue(maxRows), 'a whole number of data rows per file, from 1');
  }
  if (!manifest) {
    throw new InvalidClientSettingError(
      clientId,
      'delivery.maxRowsPerFile',
      `${describeValue(maxRows)} without delivery.manifest`,
      'parts only together with "manifest": true (the manifest tells the receiver every part has arrived)',
    );
  }
  return { manifest, maxRowsPerFile: maxRows };
}

/** Checks `clients.delivery` [§6]; null when the client has none. */
export function parseDeliverySettings(clientId: string, raw: unknown): SftpDeliverySettings | null {
  if (raw === null || raw === undefined) return null;
  if (!isPlainObject(raw)) throw new InvalidClientSettingError(clientId, 'delivery', describeValue(raw), 'an object with SFTP settings');
  const unknownKey = Object.keys(raw).find((key) => !DELIVERY_KEYS.includes(key));
  if (unknownKey !== undefined) {
    throw new InvalidClientSettingError(clientId, `delivery.${unknownKey}`, 'present', `only ${DELIVERY_KEYS.join(', ')}`);
  }
  oneOf(clientId, 'delivery.protocol', raw.protocol, ['sftp'] as const);
  const host = raw.host;
  if (typeof host !== 'string' || !HOST_PATTERN.test(host)) {
    throw new InvalidClientSettingError(clientId, 'delivery.host', describeValue(host), 'a host name or IP address');
  }
  const port = raw.port ?? DEFAULT_SFTP_PORT;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > MAX_PORT) {
    throw new InvalidClientSettingError(clientId, 'delivery.port', describeValue(port), `a whole number from 1 to ${MAX_PORT}`);
  }
  const username = raw.username;
  if (typeof username !== 'string' || !USERNAME_PATTERN.test(username)) {
    throw new InvalidClientSettingError(clientId, 'delivery.username', describeValue(username), 'letters, digits, ".", "_", "@" and "-", 1 to 64 characters');
  }
  const remoteDir = raw.remoteDir;
  if (typeof remoteDir !== 'string' || !remoteDir.startsWith('/') || remoteDir.split('/').includes('..') || /[\0\r\n]/.test(remoteDir)) {
    throw new InvalidClientSettingError(
      clientId,
      'delivery.remoteDir',
      describeValue(remoteDir),
      'an absolute folder path such as "/inbound/twoway", without ".." parts',
    );
  }
  const hostKeySha256 = parseHostKeyPins(clientId, raw.hostKeySha256);
  const pgp = parsePgpSettings(clientId, raw.pgp, (field, value) => parseSecretReference(clientId, field, value));
  return {
    protocol: 'sftp',
    host,
    port,
    username,
    remoteDir: remoteDir.length > 1 ? remoteDir.replace(/\/+$/, '') : remoteDir,
    hostKeySha256,
    auth: parseAuthentication(clientId, raw),
    checksumFile: optionalBoolean(clientId, 'delivery.checksumFile', raw.checksumFile),
    gzip: optionalBoolean(clientId, 'delivery.gzip', raw.gzip),
    ...(pgp ? { pgp } : {}),
    ...parseFileOptions(clientId, raw),
  };
}
