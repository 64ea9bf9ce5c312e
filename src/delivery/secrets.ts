/**
 * Resolves secret references [SPEC §6] inside the delivering process, which is where the
 * rules on them are authoritative (domain/secret-references.ts, from this process's
 * TWOWAY_SECRET_ENV_PREFIX and TWOWAY_SECRETS_DIR): a file is followed through its symbolic
 * links and must still lie inside the secrets folder, be a regular file and be readable by
 * its owner only. Errors name the reference (environment variable or file path), never a value.
 */
import { constants } from 'node:fs';
import { open, realpath, type FileHandle } from 'node:fs/promises';
import { parseSecretRules } from '../config/env.js';
import { SecretReferenceRefusedError, SecretUnavailableError } from '../domain/errors.js';
import {
  allowedFileReferences,
  assertSecretReferenceAllowed,
  describeSecretReference,
  isInsideFolder,
  LOGIN_SECRET_FIELDS,
  type SecretRules,
} from '../domain/secret-references.js';
import type { SecretReference, SftpAuthentication } from '../domain/types.js';

/** Permission bits of group and others: a secret file with any of them set is refused. */
const GROUP_OTHER_BITS = 0o077;
const PERMISSION_BITS = 0o777;

/**
 * An environment variable's value (string) or a file's bytes (Buffer); empty counts as missing.
 * The rules come from `env`, the same environment the variables are read from.
 */
export async function resolveSecret(clientId: string, field: string, ref: SecretReference, env: NodeJS.ProcessEnv = process.env): Promise<string | Buffer> {
  const rules = parseSecretRules(env);
  assertSecretReferenceAllowed(clientId, field, ref, rules);
  const reference = describeSecretReference(ref);
  if ('env' in ref) {
    const value = env[ref.env];
    if (value === undefined) throw new SecretUnavailableError(clientId, field, reference, 'is not set in the delivering process');
    if (value === '') throw new SecretUnavailableError(clientId, field, reference, 'is empty');
    return value;
  }
  const bytes = await readSecretFile(clientId, field, ref.file, rules);
  if (bytes.length === 0) throw new SecretUnavailableError(clientId, field, reference, 'is empty');
  return bytes;
}

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'unknown error';
}

/** The real path of `path`, or null when it does not resolve. */
async function realPathOrNull(path: string): Promise<string | null> {
  try {
    return await realpath(path);
  } catch {
    return null;
  }
}

/**
 * Reads a secret file the reference rules allowed as written, once its real path (symbolic
 * links and all) is inside the real secrets folder and is none of the worker's own files.
 * The file is opened without following a last link and without blocking on a FIFO, then
 * checked through its handle: a regular file that group and others cannot touch.
 */
async function readSecretFile(clientId: string, field: string, path: string, rules: SecretRules): Promise<Buffer> {
  const reference = describeSecretReference({ file: path });
  const unavailable = (problem: string) => new SecretUnavailableError(clientId, field, reference, problem);
  const refuse = (problem: string) => new SecretReferenceRefusedError(clientId, field, reference, problem, allowedFileReferences(rules));
  let real: string;
  try {
    real = await realpath(path);
  } catch (error) {
    throw unavailable(`cannot be read by the delivering process (${errorCode(error)})`);
  }
  const folder = await realPathOrNull(rules.secretsDir);
  if (folder === null || !isInsideFolder(real, folder)) throw refuse(`leads outside the secrets folder ${rules.secretsDir} through a symbolic link`);
  for (const own of rules.ownFiles) {
    if ((await realPathOrNull(own.path)) === real) throw refuse(`is the worker's own ${own.variable}`);
  }
  let handle: FileHandle;
  try {
    handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    throw unavailable(`cannot be read by the delivering process (${errorCode(error)})`);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw refuse('is not a regular file');
    if ((stats.mode & GROUP_OTHER_BITS) !== 0) {
      throw refuse(`can be read or written by group or others (mode ${(stats.mode & PERMISSION_BITS).toString(8).padStart(3, '0')})`);
    }
    return await handle.readFile();
  } catch (error) {
    if (error instanceof SecretReferenceRefusedError) throw error;
    throw unavailable(`cannot be read by the delivering process (${errorCode(error)})`);
  } finally {
    await handle.close();
  }
}

/** A password or passphrase as text; a file's one trailing line break (as `echo` writes it) is not part of it. */
function asText(secret: string | Buffer): string {
  return typeof secret === 'string' ? secret : secret.toString('utf8').replace(/\r?\n$/, '');
}

export type SftpCredentials =
  | { readonly method: 'password'; readonly password: string }
  | { readonly method: 'privateKey'; readonly privateKey: Buffer; readonly passphrase: string | undefined };

const { password: PASSWORD_FIELD, privateKey: PRIVATE_KEY_FIELD, passphrase: PASSPHRASE_FIELD } = LOGIN_SECRET_FIELDS;

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
    return new SecretUnavailableError(clientId, PRIVATE_KEY_FIELD, reference, `holds an encrypted private key, and ${PASSPHRASE_FIELD} is not set`);
  return new SecretUnavailableError(clientId, PRIVATE_KEY_FIELD, reference, 'holds no private key ssh2 can use (allowed: an OpenSSH, PEM or PPK private key)');
}
