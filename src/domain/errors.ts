/**
 * Typed errors. Temporal reports an activity's error by its `name`, so every class sets a
 * stable one; the permanent ones are listed once, in NON_RETRYABLE_ERROR_TYPES, which the
 * workflows hand to their retry policies.
 *
 * Messages name the client, the field, the value given and what is allowed. They never hold
 * a secret: callers pass descriptions of secret references, not secret values.
 */

export abstract class TwowayError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Shows a value in a message: strings quoted, other JSON as JSON, long values shortened. */
export function describeValue(value: unknown): string {
  const MAX_SHOWN_CHARACTERS = 80;
  let shown: string;
  if (value === undefined) shown = 'nothing';
  else if (typeof value === 'string') shown = JSON.stringify(value);
  else {
    try {
      shown = JSON.stringify(value) ?? String(value);
    } catch {
      shown = String(value);
    }
  }
  return shown.length > MAX_SHOWN_CHARACTERS ? `${shown.slice(0, MAX_SHOWN_CHARACTERS)}…` : shown;
}

/** An error for a message line: our own errors already say what is wrong; others (Temporal's, gRPC's, the driver's) also need their type. */
export function describeError(error: unknown): string {
  if (error instanceof TwowayError) return error.message;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** A client setting that can never work as given; retrying cannot help. */
export class InvalidClientSettingError extends TwowayError {
  constructor(
    readonly clientId: string,
    readonly field: string,
    /** Already rendered for display; secrets must be replaced by a placeholder before this point. */
    readonly given: string,
    readonly allowed: string,
  ) {
    super(`client "${clientId}": ${field} is ${given}; allowed: ${allowed}`);
  }
}

export class ClientNotFoundError extends TwowayError {
  constructor(readonly clientId: string) {
    super(`client "${clientId}" does not exist in the clients table`);
  }
}

export class ClientAlreadyExistsError extends TwowayError {
  constructor(readonly clientId: string) {
    super(`client "${clientId}" already exists in the clients table; allowed: a new id (change an existing client with \`clients set\`)`);
  }
}

/** The report exists only for enabled production clients [§1]. */
export class ClientNotEligibleError extends TwowayError {
  constructor(
    readonly clientId: string,
    readonly reason: 'sandbox' | 'disabled',
  ) {
    super(
      reason === 'sandbox'
        ? `client "${clientId}": environment is "sandbox"; allowed: "production" (the report exists only for production clients)`
        : `client "${clientId}": enabled is false; allowed: true (a disabled client receives no report)`,
    );
  }
}

/** A secret reference that cannot be resolved in the delivering process. Names the reference, never a value. */
export class SecretUnavailableError extends TwowayError {
  constructor(
    readonly clientId: string,
    readonly field: string,
    readonly reference: string,
    readonly problem: string,
  ) {
    super(`client "${clientId}": ${field} refers to ${reference}, which ${problem}`);
  }
}

/** A client's reference that names what it refers to, the problem and what is allowed; never a value. */
abstract class UnusableReferenceError extends TwowayError {
  constructor(
    readonly clientId: string,
    readonly field: string,
    readonly reference: string,
    readonly problem: string,
    readonly allowed: string,
  ) {
    super(`client "${clientId}": ${field} refers to ${reference}, which ${problem}; allowed: ${allowed}`);
  }
}

/**
 * A secret reference the delivering process refuses to resolve: outside TWOWAY_SECRET_ENV_PREFIX or
 * TWOWAY_SECRETS_DIR, one of the worker's own settings, or a file others can read. Names the
 * reference and the rule, never a value.
 */
export class SecretReferenceRefusedError extends UnusableReferenceError {}

/**
 * A PGP key a client's delivery refers to that cannot be used as given: not an OpenPGP key,
 * the wrong kind (a secret key as recipient, a public key as signing key, no encryption or
 * signing capability), expired or revoked, or a passphrase that does not unlock it. Names the
 * reference, never key material.
 */
export class UnusablePgpKeyError extends UnusableReferenceError {}

export class HostKeyMismatchError extends TwowayError {
  constructor(
    readonly clientId: string,
    readonly host: string,
    readonly port: number,
    /** Every pinned fingerprint (two or more during a host key rotation). */
    readonly expected: readonly string[],
    readonly presented: string,
  ) {
    super(
      `client "${clientId}": SFTP server ${host}:${port} presented host key ${presented}; allowed: ${expected.length === 1 ? 'the pinned' : 'one of the pinned'} delivery.hostKeySha256 ${expected.join(', ')}`,
    );
  }
}

export class AuthenticationFailedError extends TwowayError {
  constructor(
    readonly clientId: string,
    readonly host: string,
    readonly port: number,
    readonly username: string,
    readonly method: string,
  ) {
    super(`client "${clientId}": SFTP server ${host}:${port} refused ${method} login for user "${username}"`);
  }
}

export class RemoteDirectoryMissingError extends TwowayError {
  constructor(
    readonly clientId: string,
    readonly host: string,
    readonly remoteDir: string,
  ) {
    super(`client "${clientId}": delivery.remoteDir "${remoteDir}" does not exist on ${host}; allowed: an existing folder the user may write to`);
  }
}

/** A different file already stands under the final name; it is never written over [§6]. */
export class RemoteFileConflictError extends TwowayError {
  constructor(
    readonly clientId: string,
    readonly remotePath: string,
    readonly detail: string,
  ) {
    super(
      `client "${clientId}": ${remotePath} already exists with different content (${detail}); a delivered file is never replaced, a forced rerun delivers a revision`,
    );
  }
}

/** Only finished periods are delivered: a file of a period still running would be partial [§3, §6]. */
export class PeriodNotEndedError extends TwowayError {
  constructor(
    readonly clientId: string,
    readonly frequency: string,
    readonly periodStart: string,
    readonly periodEndsAt: string,
  ) {
    super(
      `client "${clientId}": ${frequency} period ${periodStart} ends at ${periodEndsAt}; allowed: periods that have ended (render shows a running period locally)`,
    );
  }
}

/** A transfer whose result did not check out (size after upload, say). Retryable: the next attempt uploads afresh. */
export class UploadVerificationError extends TwowayError {
  constructor(
    readonly clientId: string,
    readonly remotePath: string,
    readonly detail: string,
  ) {
    super(`client "${clientId}": upload of ${remotePath} did not verify: ${detail}`);
  }
}

/** A network fault, refusal or timeout talking to the SFTP server. Retryable. */
export class SftpTransientError extends TwowayError {
  constructor(
    readonly clientId: string,
    readonly host: string,
    readonly port: number,
    readonly operation: string,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`client "${clientId}": SFTP ${operation} on ${host}:${port} failed: ${detail}`, options);
  }
}

/** Another delivery attempt of the period holds its lock (a slow upload, or a zombie attempt). Retryable. */
export class PeriodBusyError extends TwowayError {
  constructor(
    readonly clientId: string,
    readonly frequency: string,
    readonly periodStart: string,
    readonly waitedMs: number,
  ) {
    super(
      `client "${clientId}": another delivery attempt of the ${frequency} period ${periodStart} still held its lock after ${waitedMs} ms; this attempt is retried`,
    );
  }
}

/** The database connection a delivery attempt depends on was lost; the attempt stops before publishing and is retried. */
export class DatabaseConnectionLostError extends TwowayError {
  constructor(
    readonly purpose: string,
    detail: string,
  ) {
    super(`the database connection of ${purpose} was lost (${detail}); the step stops and is retried`);
  }
}

/**
 * The built file is gone from this host (a retry that landed after the file was removed, or
 * a worker restarted with an empty work folder). The workflow rebuilds it.
 */
export class BuiltFileMissingError extends TwowayError {
  constructor(
    readonly clientId: string,
    readonly path: string,
  ) {
    super(`client "${clientId}": the built file ${path} is no longer on this host; it is rebuilt`);
  }
}

/** A notification a caller asked for that can never be sent as given (an unknown type, a date that is not one). */
export class InvalidNotificationError extends TwowayError {
  constructor(
    readonly clientId: string,
    readonly field: string,
    readonly given: string,
    readonly allowed: string,
  ) {
    super(`client "${clientId}": notification ${field} is ${given}; allowed: ${allowed}`);
  }
}

/**
 * The webhook receiver refused an event for good: a 4xx other than 408 and 429, or a
 * redirect. Retrying cannot help. `endpoint` is the URL without path, query or credentials.
 */
export class WebhookRejectedError extends TwowayError {
  constructor(
    readonly clientId: string,
    readonly eventType: string,
    readonly eventId: string,
    readonly endpoint: string,
    readonly status: number,
  ) {
    super(
      `client "${clientId}": webhook ${endpoint} refused the ${eventType} event ${eventId} with HTTP ${status}; allowed: a 2xx answer (check TWOWAY_WEBHOOK_URL and TWOWAY_WEBHOOK_SECRET; other 4xx answers than 408 and 429 are not retried)`,
    );
  }
}

/** The webhook receiver could not take an event now: 5xx, 408, 429, a network fault or no answer in time. Retryable. */
export class WebhookUnavailableError extends TwowayError {
  constructor(
    readonly clientId: string,
    readonly eventType: string,
    readonly eventId: string,
    readonly endpoint: string,
    /** The HTTP status answered, or null when there was no answer. */
    readonly status: number | null,
    readonly detail: string,
  ) {
    super(`client "${clientId}": webhook ${endpoint} did not take the ${eventType} event ${eventId}: ${detail}; it is retried`);
  }
}

/** `schedules sync` could not bring some clients' schedules in line; the others were synced. */
export class ScheduleSyncFailedError extends TwowayError {
  constructor(readonly clientIds: readonly string[]) {
    super(`schedules sync failed for ${clientIds.map((id) => `"${id}"`).join(', ')} (reasons above); every other client was synced`);
  }
}

/** Bad command-line usage: exit status 2. */
export class UsageError extends TwowayError {}

/** Errors that no retry can fix. Listed once; retry policies use this list. */
export const NON_RETRYABLE_ERROR_TYPES: readonly string[] = [
  InvalidClientSettingError.name,
  ClientNotFoundError.name,
  ClientNotEligibleError.name,
  SecretUnavailableError.name,
  SecretReferenceRefusedError.name,
  UnusablePgpKeyError.name,
  HostKeyMismatchError.name,
  AuthenticationFailedError.name,
  RemoteDirectoryMissingError.name,
  RemoteFileConflictError.name,
  PeriodNotEndedError.name,
  UsageError.name,
  InvalidNotificationError.name,
  WebhookRejectedError.name,
  // Not a failure of the period: the workflow rebuilds the file on a host (like a lost host).
  BuiltFileMissingError.name,
];
