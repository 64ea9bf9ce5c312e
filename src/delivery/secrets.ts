/**
 * Resolves secret references [SPEC §6] inside the delivering process. Errors name the
 * reference (environment variable or file path), never a value.
 */
import { readFile } from 'node:fs/promises';
import { SecretUnavailableError } from '../domain/errors.js';
import type { SecretReference, SftpAuthentication } from '../domain/types.js';

/** How a reference reads in messages: `environment variable NAME` or `file PATH`. */
export function describeSecretReference(ref: SecretReference): string {
  return 'env' in ref ? `environment variable ${ref.env}` : `file ${ref.file}`;
}

/** An environment variable's value (string) or a file's bytes (Buffer); empty counts as missing. */
export async function resolveSecret(clientId: string, field: string, ref: SecretReference, env: NodeJS.ProcessEnv = process.env): Promise<string | Buffer> {
  const reference = describeSecretReference(ref);
  if ('env' in ref) {
    const value = env[ref.env];
    if (value === undefined) throw new SecretUnavailableError(clientId, field, reference, 'is not set in the delivering process');
    if (value === '') throw new SecretUnavailableError(clientId, field, reference, 'is empty');
    return value;
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(ref.file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new SecretUnavailableError(clientId, field, reference, `cannot be read by the delivering process (${code})`);
  }
  if (bytes.length === 0) throw new SecretUnavailableError(clientId, field, reference, 'is empty');
  return bytes;
}

/** A password or passphrase as text; a file's one trailing line break (as `echo` writes it) is not part of it. */
function asText(secret: string | Buffer): string {
  return typeof secret === 'string' ? secret : secret.toString('utf8').replace(/\r?\n$/, '');
}

export type SftpCredentials =
  | { readonly method: 'password'; readonly password: string }
  | { readonly method: 'privateKey'; readonly privateKey: Buffer; readonly passphrase: string | undefined };

const PASSWORD_FIELD = 'delivery.auth.password';
const PRIVATE_KEY_FIELD = 'delivery.auth.privateKey';
const PASSPHRASE_FIELD = 'delivery.auth.passphrase';

/** Reads the credentials a client's delivery needs (without parsing a key: ssh2 does that when it connects). */
export async function resolveCredentials(clientId: string, auth: SftpAuthentication, env: NodeJS.ProcessEnv = process.env): Promise<SftpCredentials> {
  if (auth.method === 'password') {
    const password = asText(await resolveSecret(clientId, PASSWORD_FIELD, auth.password, env));
    if (password === '') throw new SecretUnavailableError(clientId, PASSWORD_FIELD, describeSecretReference(auth.password), 'is empty');
    return { method: 'password', password };
  }
  const key = await resolveSecret(clientId, PRIVATE_KEY_FIELD, auth.privateKey, env);
  const privateKey = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  const passphrase = auth.passphrase ? asText(await resolveSecret(clientId, PASSPHRASE_FIELD, auth.passphrase, env)) : undefined;
  return { method: 'privateKey', privateKey, passphrase };
}

/**
 * The error for a private key ssh2 could not use, from ssh2's parse message (which names the
 * problem, never key material; it is still not passed on).
 */
export function unusablePrivateKeyError(clientId: string, auth: SftpAuthentication, parseMessage: string): SecretUnavailableError {
  if (auth.method !== 'privateKey') throw new Error('unusablePrivateKeyError needs private-key authentication');
  const reference = describeSecretReference(auth.privateKey);
  const encrypted = /passphrase|decrypt|integrity|encrypted/i.test(parseMessage);
  if (encrypted && auth.passphrase) {
    return new SecretUnavailableError(clientId, PASSPHRASE_FIELD, describeSecretReference(auth.passphrase), `does not decrypt the private key in ${reference}`);
  }
  if (encrypted)
    return new SecretUnavailableError(clientId, PRIVATE_KEY_FIELD, reference, 'holds an encrypted private key, and delivery.auth.passphrase is not set');
  return new SecretUnavailableError(clientId, PRIVATE_KEY_FIELD, reference, 'holds no private key ssh2 can use (allowed: an OpenSSH, PEM or PPK private key)');
}
