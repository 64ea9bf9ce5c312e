/**
 * OpenPGP keys and decryption for the demo and the tests, with the real `gpg`: what a client
 * does on its side (make a key pair, decrypt and verify a delivered file), in a GNUPGHOME of
 * its own. Never used by a delivery (delivery/pgp.ts is).
 */
import { spawn } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { GPG_COMMAND } from '../delivery/pgp.js';

/** Key files hold secrets: readable by this user only, as delivery's secret references expect. */
const SECRET_FILE_MODE = 0o600;
const GNUPG_HOME_MODE = 0o700;

export interface GpgOutput {
  readonly code: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** Runs gpg in `home` to its end; stdin is `input` (or nothing), the status lines go to stderr. */
export function gpg(home: string, args: readonly string[], input: Buffer | string = ''): Promise<GpgOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(GPG_COMMAND, ['--homedir', home, '--batch', '--no-tty', '--status-fd', '2', ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.setEncoding('utf8').on('data', (data: string) => (stderr += data));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout: Buffer.concat(stdout), stderr }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

async function gpgOk(home: string, args: readonly string[], input?: Buffer | string): Promise<GpgOutput> {
  const result = await gpg(home, args, input);
  if (result.code !== 0) throw new Error(`gpg ${args[args.length - 2] ?? ''} ${args.at(-1) ?? ''} failed (status ${result.code}): ${result.stderr.trim()}`);
  return result;
}

/** A GNUPGHOME (0700), created when missing. */
export async function createGnupgHome(path: string): Promise<string> {
  await mkdir(path, { recursive: true, mode: GNUPG_HOME_MODE });
  await chmod(path, GNUPG_HOME_MODE);
  return path;
}

export interface KeySpec {
  /** `Name <email>`. */
  readonly userId: string;
  /** gpg's quick-gen-key algorithm: `future-default` (ed25519 and cv25519, fast), `rsa3072`, `ed25519`, ... */
  readonly algorithm?: string;
  /** `default` (sign and encrypt), `sign`, `cert`, ... */
  readonly usage?: string;
  /** `never`, or a period such as `1d`. */
  readonly expire?: string;
  readonly passphrase?: string;
  /** Makes the key as if it were this instant (gpg's --faked-system-time, e.g. `20200101T000000`): an expired key, say. */
  readonly madeAt?: string;
}

/** Makes a key pair in `home`; returns its fingerprint. */
export async function generateKey(home: string, spec: KeySpec): Promise<string> {
  const made = await gpgOk(home, [
    ...(spec.madeAt ? ['--faked-system-time', spec.madeAt] : []),
    '--pinentry-mode',
    'loopback',
    '--passphrase',
    spec.passphrase ?? '',
    '--quick-gen-key',
    spec.userId,
    spec.algorithm ?? 'future-default',
    spec.usage ?? 'default',
    spec.expire ?? 'never',
  ]);
  const fingerprint = /^\[GNUPG:\] KEY_CREATED \S+ ([0-9A-F]+)$/m.exec(made.stderr)?.[1];
  if (!fingerprint) throw new Error(`gpg made no key for ${spec.userId}: ${made.stderr.trim()}`);
  return fingerprint;
}

/** Writes a key to `path` (0600): the public key, or the secret one (which holds the public key too). */
export async function exportKey(home: string, fingerprint: string, path: string, options: { secret?: boolean; passphrase?: string } = {}): Promise<string> {
  const args = options.secret
    ? ['--pinentry-mode', 'loopback', '--passphrase', options.passphrase ?? '', '--armor', '--export-secret-keys', fingerprint]
    : ['--armor', '--export', fingerprint];
  await writeFile(path, (await gpgOk(home, args)).stdout, { mode: SECRET_FILE_MODE });
  await chmod(path, SECRET_FILE_MODE);
  return path;
}

export async function importKeyFile(home: string, keyText: Buffer | string): Promise<void> {
  await gpgOk(home, ['--import'], keyText);
}

export interface Decrypted {
  readonly plaintext: Buffer;
  /** Fingerprint of the primary key of a good signature (gpg's VALIDSIG), or null when unsigned or not verified. */
  readonly signedBy: string | null;
  /** gpg's status lines, for assertions and messages. */
  readonly status: string;
}

/** Decrypts (and verifies) an OpenPGP message with the keys in `home`, as a client does. */
export async function decryptMessage(home: string, message: Buffer, passphrase = ''): Promise<Decrypted> {
  const result = await gpg(home, ['--pinentry-mode', 'loopback', '--passphrase', passphrase, '--decrypt', '--output', '-'], message);
  if (result.code !== 0) throw new Error(`gpg --decrypt failed (status ${result.code}): ${result.stderr.trim()}`);
  const valid = /^\[GNUPG:\] VALIDSIG (?:\S+ ){9}([0-9A-F]+)$/m.exec(result.stderr);
  return { plaintext: result.stdout, signedBy: valid?.[1] ?? null, status: result.stderr };
}
