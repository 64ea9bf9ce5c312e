/**
 * OpenPGP encryption of delivered files with GnuPG (`gpg`), as a stream: memory stays flat
 * whatever the file's size (BENCHMARKS.md: gpg measured against the `openpgp` npm package).
 *
 * Each delivery gets a keyring of its own: a temporary GNUPGHOME (0700) holding only the
 * client's recipient keys and our signing key, each read from its secret reference, checked
 * (kind, expiry, revocation, capability, passphrase) before anything is encrypted, and
 * removed with its gpg-agent afterwards. A key that cannot be used is an UnusablePgpKeyError
 * naming the client and the field: permanent, never retried.
 *
 * The output is not deterministic (every encryption draws a new session key): an unchanged
 * file is recognised by the sha256 of its CSV, never by its encrypted bytes.
 *
 * The same keyring signs a revision's manifest (`delivery.manifest`): a detached, binary
 * signature that `gpg --verify <manifest>.sig <manifest>` checks (createManifestSigner).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex, Writable } from 'node:stream';
import { UnusablePgpKeyError } from '../domain/errors.js';
import { ARMORED_PGP_SUFFIX, PGP_SUFFIX } from '../domain/file-name.js';
import { hasEnded, type WorkerProcess } from '../domain/leftovers.js';
import type { Logger } from '../observability/logger.js';
import type { PgpSettings, SecretReference, SftpDeliverySettings } from '../domain/types.js';
import { describeSecretReference } from '../domain/secret-references.js';
import { resolveSecret } from './secrets.js';

export const GPG_COMMAND = 'gpg';
const GPGCONF_COMMAND = 'gpgconf';
const HOME_PREFIX = 'twoway-gnupg-';
/**
 * This process as the owner of the keyrings it opens: `twoway-gnupg-<pid>-<token>-<random>`, so
 * that a sweep tells a keyring a crashed process left (it holds our signing key) from one in use.
 */
const KEYRING_OWNER: WorkerProcess = { hostname: hostname(), pid: process.pid, token: randomBytes(4).toString('hex') };
const KEYRING_NAME = /^twoway-gnupg-(\d+)-([0-9a-f]+)-[A-Za-z0-9]+$/;
/** gpg's error text kept for messages; the tail is where it says what went wrong. */
const MAX_STDERR_CHARS = 2_000;
/** libgpg-error codes (the low 16 bits of a FAILURE status) that mean a passphrase problem. */
const GPG_ERR_BAD_PASSPHRASE = 11;
const GPG_ERR_NO_PASSPHRASE = 177;
const GPG_ERR_CODE_MASK = 0xffff;
const RECIPIENT_ALLOWED = 'one OpenPGP public key (gpg --export) that can encrypt: not expired, not revoked, with an encryption subkey';
const SIGNING_ALLOWED = 'one OpenPGP secret key (gpg --export-secret-keys) that can sign: not expired, not revoked';

/** What `gpg --import-options show-only` tells of a key file. */
interface KeyFacts {
  readonly kind: 'public' | 'secret';
  readonly fingerprint: string;
  /** gpg's validity letter of the primary key: `e` expired, `r` revoked. */
  readonly validity: string;
  /** gpg's capabilities of the whole key; upper case are usable ones (`E` encrypt, `S` sign). */
  readonly capabilities: string;
  /** Expiry, seconds since the epoch; null when it never expires. */
  readonly expires: number | null;
}

export interface PgpKeyring {
  readonly armor: boolean;
  /** The temporary GNUPGHOME holding the keys; gone after dispose. */
  readonly home: string;
  /** A stream that takes plain bytes and gives the OpenPGP message (encrypted to every recipient, signed when a key is set). */
  encryptStream(): Duplex;
  /** A detached binary signature of `data` by the signing key; null when the client has no `signingKey`. */
  readonly signDetached: ((data: Buffer) => Promise<Buffer>) | null;
  /** Stops the keyring's gpg-agent and deletes the keyring. */
  dispose(): Promise<void>;
}

/** The suffix of an encrypted file's name for these settings. */
export function pgpSuffix(settings: { readonly armor: boolean }): string {
  return settings.armor ? ARMORED_PGP_SUFFIX : PGP_SUFFIX;
}

interface GpgResult {
  readonly code: number | null;
  readonly stdout: string;
  /** stdout as bytes (a binary signature). */
  readonly output: Buffer;
  readonly stderr: string;
}

/** gpg runs with only PATH and a fixed locale from our environment: none of the worker's secrets reach it. */
function gpgEnvironment(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' };
}

function keepTail(text: string): string {
  return text.length > MAX_STDERR_CHARS ? text.slice(text.length - MAX_STDERR_CHARS) : text;
}

function cannotStart(command: string, error: unknown): Error {
  const code = (error as NodeJS.ErrnoException).code ?? String(error);
  return new Error(`${command} cannot be started (${code}); PGP delivery needs GnuPG (Debian: apt-get install gnupg)`, { cause: error });
}

/** Runs gpg to its end with `input` on stdin and, when given, `passphrase` on descriptor 3. */
function runGpg(home: string, args: readonly string[], input: Buffer | string, passphrase?: string): Promise<GpgResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(GPG_COMMAND, ['--homedir', home, '--batch', '--no-tty', ...args], {
      env: gpgEnvironment(),
      stdio: ['pipe', 'pipe', 'pipe', ...(passphrase === undefined ? [] : ['pipe' as const])],
    });
    const stdout: Buffer[] = [];
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.setEncoding('utf8').on('data', (data: string) => (stderr = keepTail(stderr + data)));
    child.once('error', (error) => reject(cannotStart(GPG_COMMAND, error)));
    child.once('close', (code) => {
      const output = Buffer.concat(stdout);
      resolve({ code, stdout: output.toString('utf8'), output, stderr });
    });
    // gpg may stop reading early (bad data); the exit status says why, not EPIPE.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input);
    writePassphrase(child, passphrase);
  });
}

/** The passphrase goes through a pipe of its own (descriptor 3), never the command line, where `ps` would show it. */
function writePassphrase(child: ChildProcess, passphrase: string | undefined): void {
  const pipe = child.stdio[3];
  if (passphrase === undefined || !(pipe instanceof Writable)) return;
  pipe.on('error', () => undefined);
  pipe.end(`${passphrase}\n`);
}

/** The primary keys in a key file, as gpg reads them (without importing). */
async function inspectKeyFile(home: string, key: Buffer): Promise<KeyFacts[]> {
  const result = await runGpg(home, ['--with-colons', '--import-options', 'show-only', '--import'], key);
  const keys: KeyFacts[] = [];
  let awaitingFingerprint: Omit<KeyFacts, 'fingerprint'> | null = null;
  for (const line of result.stdout.split('\n')) {
    const fields = line.split(':');
    if (fields[0] === 'pub' || fields[0] === 'sec') {
      const expires = Number(fields[6]);
      awaitingFingerprint = {
        kind: fields[0] === 'pub' ? 'public' : 'secret',
        validity: fields[1] ?? '',
        capabilities: fields[11] ?? '',
        expires: fields[6] && Number.isFinite(expires) ? expires : null,
      };
    } else if (fields[0] === 'fpr' && awaitingFingerprint) {
      keys.push({ ...awaitingFingerprint, fingerprint: fields[9] ?? '' });
      awaitingFingerprint = null;
    }
  }
  return keys;
}

function secretBytes(secret: string | Buffer): Buffer {
  return typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
}

/** A passphrase as text; a file's one trailing line break is not part of it. */
function passphraseText(secret: string | Buffer): string {
  return typeof secret === 'string' ? secret : secret.toString('utf8').replace(/\r?\n$/, '');
}

function expiryDate(facts: KeyFacts): string {
  return facts.expires === null ? 'an unknown date' : new Date(facts.expires * 1000).toISOString().slice(0, 10);
}

/**
 * Reads one key reference, checks it holds exactly one key of the wanted kind that can do
 * what it is for, and imports it; returns its fingerprint.
 */
async function importKey(
  home: string,
  clientId: string,
  field: string,
  ref: SecretReference,
  purpose: 'encrypt' | 'sign',
  env: NodeJS.ProcessEnv,
): Promise<string> {
  const reference = describeSecretReference(ref);
  const allowed = purpose === 'encrypt' ? RECIPIENT_ALLOWED : SIGNING_ALLOWED;
  const refuse = (problem: string) => new UnusablePgpKeyError(clientId, field, reference, problem, allowed);
  const key = secretBytes(await resolveSecret(clientId, field, ref, env));
  const keys = await inspectKeyFile(home, key);
  const [facts] = keys;
  if (!facts) throw refuse('holds no OpenPGP key gpg can read');
  if (keys.length > 1) throw refuse(`holds ${keys.length} keys (one reference per key: list each recipient on its own)`);
  if (purpose === 'encrypt' && facts.kind === 'secret') throw refuse(`holds the secret key ${facts.fingerprint}, not a public key`);
  if (purpose === 'sign' && facts.kind === 'public') throw refuse(`holds only the public key ${facts.fingerprint}, which cannot sign`);
  if (facts.validity === 'r') throw refuse(`holds the key ${facts.fingerprint}, which is revoked`);
  if (facts.validity === 'e') throw refuse(`holds the key ${facts.fingerprint}, which expired on ${expiryDate(facts)}`);
  const capability = purpose === 'encrypt' ? 'E' : 'S';
  if (!facts.capabilities.includes(capability)) {
    throw refuse(
      `holds the key ${facts.fingerprint}, which has no usable ${purpose === 'encrypt' ? 'encryption' : 'signing'} (sub)key (expired, revoked or missing)`,
    );
  }
  const imported = await runGpg(home, ['--import'], key);
  if (imported.code !== 0) throw refuse(`holds a key gpg cannot import (${lastLine(imported.stderr)})`);
  return facts.fingerprint;
}

function lastLine(text: string): string {
  return (
    text
      .trim()
      .split('\n')
      .filter((line) => !line.startsWith('[GNUPG:]'))
      .at(-1)
      ?.replace(/^gpg: /, '') ?? 'no message'
  );
}

/** The libgpg-error code of a `[GNUPG:] FAILURE <where> <code>` status line, if any. */
function failureCode(status: string): number | null {
  const found = /^\[GNUPG:\] FAILURE \S+ (\d+)$/m.exec(status);
  return found?.[1] ? Number(found[1]) & GPG_ERR_CODE_MASK : null;
}

interface Signer {
  readonly fingerprint: string;
  readonly passphrase: string;
}

/** Signs a few bytes once, so that a wrong or missing passphrase is found before any file is encrypted. */
async function checkSigner(home: string, clientId: string, settings: PgpSettings, signer: Signer): Promise<void> {
  const signed = await runGpg(
    home,
    ['--status-fd', '2', ...signingArguments(signer), '--output', '-', '--sign'],
    'twoway-report signing check\n',
    signer.passphrase,
  );
  if (signed.code === 0) return;
  const code = failureCode(signed.stderr);
  const keyReference = describeSecretReference(settings.signingKey as SecretReference);
  if (code === GPG_ERR_BAD_PASSPHRASE || code === GPG_ERR_NO_PASSPHRASE) {
    if (settings.signingPassphrase === null) {
      throw new UnusablePgpKeyError(
        clientId,
        'delivery.pgp.signingKey',
        keyReference,
        'holds a passphrase-protected key, and delivery.pgp.signingPassphrase is not set',
        'a key without passphrase, or delivery.pgp.signingPassphrase set to its passphrase',
      );
    }
    throw new UnusablePgpKeyError(
      clientId,
      'delivery.pgp.signingPassphrase',
      describeSecretReference(settings.signingPassphrase),
      `does not unlock the signing key in ${keyReference}`,
      'the passphrase of that key',
    );
  }
  throw new UnusablePgpKeyError(clientId, 'delivery.pgp.signingKey', keyReference, `cannot sign (gpg: ${lastLine(signed.stderr)})`, SIGNING_ALLOWED);
}

function signingArguments(signer: Signer | null): string[] {
  return signer ? ['--pinentry-mode', 'loopback', '--passphrase-fd', '3', '--local-user', signer.fingerprint] : [];
}

async function signDetached(home: string, clientId: string, signer: Signer, data: Buffer): Promise<Buffer> {
  const signed = await runGpg(home, ['--quiet', ...signingArguments(signer), '--output', '-', '--detach-sign'], data, signer.passphrase);
  // checkSigner signed with this key and passphrase already: a failure here is gpg's or the machine's, worth a retry.
  if (signed.code !== 0 || signed.output.length === 0) {
    throw new Error(`client "${clientId}": gpg could not sign the manifest (exit status ${signed.code}): ${lastLine(signed.stderr)}`);
  }
  return signed.output;
}

/**
 * The manifest's signer of a client that wants a manifest and signs (`delivery.manifest` and
 * `delivery.pgp.signingKey`); undefined otherwise. Each signature opens the client's keyring
 * (every key read and checked as for its files), signs and removes the keyring.
 */
export function createManifestSigner(
  clientId: string,
  settings: Pick<SftpDeliverySettings, 'manifest' | 'pgp'>,
  env: NodeJS.ProcessEnv = process.env,
): ((manifest: Buffer) => Promise<Buffer>) | undefined {
  const pgp = settings.pgp;
  if (settings.manifest !== true || !pgp?.signingKey) return undefined;
  return async (manifest) => {
    const keyring = await openPgpKeyring(clientId, pgp, env);
    try {
      return await (keyring.signDetached as (data: Buffer) => Promise<Buffer>)(manifest);
    } finally {
      await keyring.dispose();
    }
  };
}

/** Stops the gpg-agent that gpg starts for a GNUPGHOME holding secret keys (nothing when none runs). */
export function stopGpgAgent(home: string): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(GPGCONF_COMMAND, ['--homedir', home, '--kill', 'all'], { env: gpgEnvironment(), stdio: 'ignore' });
    child.once('error', () => resolve());
    child.once('close', () => resolve());
  });
}

async function removeHome(home: string): Promise<void> {
  await stopGpgAgent(home);
  await rm(home, { recursive: true, force: true });
}

/**
 * Removes the keyrings that processes which have ended on this host left in the temporary
 * folder (a crash mid-delivery), with their gpg-agents; keyrings of running processes stay.
 * Returns the names removed.
 */
export async function sweepPgpKeyrings(options: { readonly isRunning: (pid: number) => boolean; readonly logger: Logger }): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(tmpdir()).catch(() => [])) {
    const match = KEYRING_NAME.exec(name);
    if (!match) continue;
    const owner = { hostname: KEYRING_OWNER.hostname, pid: Number(match[1]), token: match[2] as string };
    if (!hasEnded(owner, KEYRING_OWNER, options.isRunning)) continue;
    await removeHome(join(tmpdir(), name));
    removed.push(name);
  }
  if (removed.length > 0) options.logger.info({ keyrings: removed }, 'removed PGP keyrings that ended processes left');
  return removed;
}

/**
 * Reads and checks the client's keys into a keyring of their own; see the module comment.
 * The caller disposes of it when the delivery's files are encrypted.
 */
export async function openPgpKeyring(clientId: string, settings: PgpSettings, env: NodeJS.ProcessEnv = process.env): Promise<PgpKeyring> {
  // mkdtemp makes the folder 0700: the keys in it are readable by this user only.
  const home = await mkdtemp(join(tmpdir(), `${HOME_PREFIX}${KEYRING_OWNER.pid}-${KEYRING_OWNER.token}-`));
  try {
    const recipients: string[] = [];
    for (const [index, ref] of settings.recipients.entries()) {
      recipients.push(await importKey(home, clientId, `delivery.pgp.recipients[${index}]`, ref, 'encrypt', env));
    }
    let signer: Signer | null = null;
    if (settings.signingKey) {
      const fingerprint = await importKey(home, clientId, 'delivery.pgp.signingKey', settings.signingKey, 'sign', env);
      const passphrase = settings.signingPassphrase
        ? passphraseText(await resolveSecret(clientId, 'delivery.pgp.signingPassphrase', settings.signingPassphrase, env))
        : '';
      signer = { fingerprint, passphrase };
      await checkSigner(home, clientId, settings, signer);
    }
    const args = [
      '--quiet',
      // Trust is the client's setting, not a web of trust: the keyring holds nothing else.
      '--trust-model',
      'always',
      // Compressing is delivery.gzip's job; gpg's own would cost 8× the time on a CSV (BENCHMARKS.md).
      '--compress-algo',
      'none',
      ...recipients.flatMap((fingerprint) => ['--recipient', fingerprint]),
      ...signingArguments(signer),
      ...(settings.armor ? ['--armor'] : []),
      '--output',
      '-',
      ...(signer ? ['--sign'] : []),
      '--encrypt',
    ];
    return {
      armor: settings.armor,
      home,
      encryptStream: () => new GpgStream(home, args, signer?.passphrase),
      signDetached: signer ? (data) => signDetached(home, clientId, signer, data) : null,
      dispose: () => removeHome(home),
    };
  } catch (error) {
    await removeHome(home);
    throw error;
  }
}

/**
 * gpg as a Duplex: bytes written go to its stdin, its stdout is read; the stream ends only
 * when gpg exits with status 0, and fails with gpg's own message otherwise. Destroying it
 * (an abort, a failed pipeline) kills gpg.
 */
class GpgStream extends Duplex {
  private readonly child: ChildProcess;
  private readonly exited: Promise<Error | null>;
  private stderr = '';

  constructor(home: string, args: readonly string[], passphrase: string | undefined) {
    super();
    this.child = spawn(GPG_COMMAND, ['--homedir', home, '--batch', '--no-tty', ...args], {
      env: gpgEnvironment(),
      stdio: ['pipe', 'pipe', 'pipe', ...(passphrase === undefined ? [] : ['pipe' as const])],
    });
    const { stdin, stdout, stderr } = this.child;
    if (!stdin || !stdout || !stderr) throw new Error('gpg started without pipes');
    this.exited = new Promise((resolve) => {
      this.child.once('error', (error) => resolve(cannotStart(GPG_COMMAND, error)));
      this.child.once('close', (code, signal) =>
        resolve(code === 0 ? null : new Error(`gpg could not encrypt (exit ${signal ?? `status ${code}`}): ${lastLine(this.stderr)}`)),
      );
    });
    stderr.setEncoding('utf8').on('data', (data: string) => (this.stderr = keepTail(this.stderr + data)));
    stdin.on('error', () => undefined);
    stdout.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) stdout.pause();
    });
    void this.exited.then((error) => (error ? this.destroy(error) : this.push(null)));
    writePassphrase(this.child, passphrase);
  }

  override _read(): void {
    this.child.stdout?.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.child.stdin?.write(chunk, (error) => {
      // A write gpg refused: its exit status says why.
      if (error) void this.exited.then((failure) => callback(failure ?? error));
      else callback();
    });
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.child.stdin?.end(() => callback());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    callback(error);
  }
}
