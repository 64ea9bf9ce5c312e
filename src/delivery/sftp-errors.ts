/**
 * Turns what ssh2, ssh2-sftp-client and the network throw into the project's typed errors:
 * permanent problems (host key, login, settings) are not retried, everything the network
 * or a busy server can cause is an SftpTransientError that the workflow retries.
 */
import { AuthenticationFailedError, HostKeyMismatchError, InvalidClientSettingError, SftpTransientError, TwowayError } from '../domain/errors.js';
import type { SftpDeliverySettings } from '../domain/types.js';
import { hostKeyPins } from './host-key.js';
import { unusablePrivateKeyError } from './secrets.js';

/** SFTP v3 status codes (draft-ietf-secsh-filexfer-02 §7). */
export const SFTP_STATUS = {
  EOF: 1,
  NO_SUCH_FILE: 2,
  PERMISSION_DENIED: 3,
  FAILURE: 4,
  BAD_MESSAGE: 5,
  NO_CONNECTION: 6,
  CONNECTION_LOST: 7,
  OP_UNSUPPORTED: 8,
} as const;

/** Who is being talked to; every error message names the client and the server. */
export interface DeliveryTarget {
  readonly clientId: string;
  readonly settings: SftpDeliverySettings;
}

/** No answer (or no progress) within the allowed time. */
export class OperationTimeoutError extends Error {
  constructor(
    readonly operation: string,
    readonly timeoutMs: number,
  ) {
    super(`no answer within ${timeoutMs} ms`);
    this.name = 'OperationTimeoutError';
  }
}

/** The connection closed while an operation waited for it. */
export class ConnectionLostError extends Error {
  constructor(socketError: string | null) {
    super(`the connection closed unexpectedly${socketError ? ` (${socketError})` : ''}`);
    this.name = 'ConnectionLostError';
  }
}

const TRANSIENT_SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENETRESET',
  'EAI_AGAIN',
  'ENOTCONN',
  'ESHUTDOWN',
]);

// Messages ssh2 and ssh2-sftp-client use when the connection or channel went away.
const CONNECTION_GONE =
  /no response from server|unexpected (close|end)|connection lost|not connected|channel is not open|no sftp connection|keepalive timeout|timed out|socket|too many|busy/i;

const AUTH_DISCONNECT_REASONS = new Set([13, 14]); // AUTH_CANCELLED_BY_USER, NO_MORE_AUTH_METHODS_AVAILABLE
// ssh2-sftp-client re-creates ssh2's errors with the message and code only, so ssh2's `level` is lost.
const AUTH_FAILED = /all configured authentication methods failed/i;

interface ErrorFields {
  readonly code?: unknown;
  readonly level?: unknown;
  readonly message?: unknown;
}

function fields(error: unknown): ErrorFields {
  return typeof error === 'object' && error !== null ? (error as ErrorFields) : {};
}

function messageOf(error: unknown): string {
  const message = fields(error).message;
  return typeof message === 'string' ? message : String(error);
}

/** The SFTP status code of a failed request, when it is one. */
export function sftpStatusOf(error: unknown): number | undefined {
  const code = fields(error).code;
  return typeof code === 'number' ? code : undefined;
}

export function isNoSuchFile(error: unknown): boolean {
  return sftpStatusOf(error) === SFTP_STATUS.NO_SUCH_FILE;
}

export function transientError(target: DeliveryTarget, operation: string, detail: string, cause?: unknown): SftpTransientError {
  const { host, port } = target.settings;
  return new SftpTransientError(target.clientId, host, port, operation, detail, cause === undefined ? undefined : { cause });
}

function isTransient(error: unknown): boolean {
  const { code, level } = fields(error);
  if (error instanceof OperationTimeoutError || error instanceof ConnectionLostError) return true;
  if (typeof code === 'string' && TRANSIENT_SOCKET_CODES.has(code)) return true;
  if (level === 'client-socket' || level === 'client-timeout' || level === 'protocol') return true;
  if (code === SFTP_STATUS.NO_CONNECTION || code === SFTP_STATUS.CONNECTION_LOST) return true;
  return CONNECTION_GONE.test(messageOf(error));
}

function authenticationMethod(settings: SftpDeliverySettings): string {
  return settings.auth.method === 'password' ? 'password' : 'private-key';
}

/** Maps a failure to connect, shake hands or log in. */
export function connectError(target: DeliveryTarget, error: unknown, refusedHostKey: string | null): Error {
  const { clientId, settings } = target;
  if (error instanceof TwowayError) return error;
  if (refusedHostKey !== null) return new HostKeyMismatchError(clientId, settings.host, settings.port, hostKeyPins(settings.hostKeySha256), refusedHostKey);
  const { code, level } = fields(error);
  const message = messageOf(error);
  if (level === 'client-authentication' || AUTH_FAILED.test(message) || (typeof code === 'number' && AUTH_DISCONNECT_REASONS.has(code))) {
    return new AuthenticationFailedError(clientId, settings.host, settings.port, settings.username, authenticationMethod(settings));
  }
  if (/cannot parse privateKey|does not contain a \(valid\) private key/i.test(message)) {
    return unusablePrivateKeyError(clientId, settings.auth, message);
  }
  return transientError(target, 'connect', describeSftpFailure(error), error);
}

/** Maps a failed SFTP request; `path` is the remote path it was about. */
export function operationError(target: DeliveryTarget, operation: string, path: string, error: unknown): Error {
  const { clientId, settings } = target;
  if (error instanceof TwowayError) return error;
  if (sftpStatusOf(error) === SFTP_STATUS.PERMISSION_DENIED) {
    return new InvalidClientSettingError(
      clientId,
      'delivery.remoteDir',
      `"${settings.remoteDir}" (${settings.host} denied ${operation} of ${path} to user "${settings.username}")`,
      'a folder the user may list, write, rename and delete files in',
    );
  }
  // A network fault is retried; so is anything else the server reports (a full disk, say), which
  // may clear up: the retry deadline bounds both. Only the latter names the path, the former is
  // about the connection.
  return transientError(target, operation, isTransient(error) ? describeSftpFailure(error) : `${describeSftpFailure(error)} (on ${path})`, error);
}

// ssh2-sftp-client prefixes the method that saw an error, and says "end event" for a hang-up.
const WRAPPER_PREFIX = /^(getConnection|connect|end): /;
const WRAPPER_HANG_UP = /^unexpected (end|close) event$/i;

/** A short description of an SFTP or network failure: its message and code, nothing else it may carry (workflows/failures.ts describes a workflow's failures). */
export function describeSftpFailure(error: unknown): string {
  const { code } = fields(error);
  const message = messageOf(error).replace(WRAPPER_PREFIX, '');
  if (WRAPPER_HANG_UP.test(message)) return 'the server closed the connection';
  const status =
    typeof code === 'number' ? ` (SFTP status ${code})` : typeof code === 'string' && !code.startsWith('ERR_') && !message.includes(code) ? ` (${code})` : '';
  return `${message}${status}`;
}
