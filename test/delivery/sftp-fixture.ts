/** Shared set-up for the delivery tests: a real sshd, folders on it, settings, a captured log, a secret scan. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { startSftpServer, type SftpServer, type StartSftpServerOptions } from '../../src/devstack/sftp-server.js';
import type { SecretReference, SftpAuthentication, SftpDeliverySettings } from '../../src/domain/types.js';
import { createLogger, type Logger } from '../../src/observability/logger.js';

export interface Fixture {
  readonly server: SftpServer;
  /** Local scratch folder for built files and secrets. */
  readonly localDir: string;
  /** Environment handed to deliverFile: the password is only here. */
  readonly env: NodeJS.ProcessEnv;
  readonly passwordRef: SecretReference;
  readonly keyRef: SecretReference;
  readonly log: CapturedLog;
  /** Every error a test caught, to be scanned for secrets at the end. */
  readonly errors: unknown[];
  dispose(): Promise<void>;
}

export const PASSWORD_ENV = 'TWOWAY_SECRET_TEST_SFTP_PASSWORD';

/** A pino logger writing JSON lines into memory. */
export interface CapturedLog {
  readonly logger: Logger;
  text(): string;
}

export function captureLog(): CapturedLog {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString('utf8'));
      callback();
    },
  });
  return { logger: createLogger({ level: 'trace', destination }), text: () => lines.join('') };
}

export async function startFixture(name: string, serverOptions: Pick<StartSftpServerOptions, 'sftpServerArguments'> = {}): Promise<Fixture> {
  const root = await mkdtemp(join(tmpdir(), `twoway-${name}-`));
  const log = captureLog();
  const server = await startSftpServer({ ...serverOptions, baseDir: join(root, 'sshd'), logger: log.logger.child({ component: 'sshd' }) });
  const localDir = join(root, 'local');
  await mkdir(localDir);
  return {
    server,
    localDir,
    env: { TWOWAY_SECRETS_DIR: server.secretsDir, [PASSWORD_ENV]: server.password },
    passwordRef: { env: PASSWORD_ENV },
    keyRef: { file: server.userKeyPath },
    log,
    errors: [],
    dispose: async () => {
      await server.dispose();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** A folder in the server user's home that the user owns; returns its absolute path. */
export async function makeRemoteDir(server: SftpServer, name: string): Promise<string> {
  const path = join(server.rootDir, name);
  await mkdir(path, { recursive: true });
  execFileSync('chown', [`${server.username}:`, path]);
  return path;
}

export function settingsFor(server: SftpServer, remoteDir: string, auth: SftpAuthentication, extra: Partial<SftpDeliverySettings> = {}): SftpDeliverySettings {
  return {
    protocol: 'sftp',
    host: server.host,
    port: server.port,
    username: server.username,
    remoteDir,
    hostKeySha256: server.hostKeySha256,
    auth,
    checksumFile: false,
    gzip: false,
    ...extra,
  };
}

export async function writeLocalFile(fixture: Fixture, name: string, content: string | Buffer): Promise<string> {
  const path = join(fixture.localDir, name);
  await writeFile(path, content);
  return path;
}

export function sha256OfBytes(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(
    createReadStream(path, { highWaterMark: 1024 * 1024 }),
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        callback();
      },
    }),
  );
  return hash.digest('hex');
}

/** Awaits a rejection of the given class, records the error for the secret scan and returns it. */
export async function expectError<T extends Error>(fixture: Fixture, promise: Promise<unknown>, type: abstract new (...args: never[]) => T): Promise<T> {
  const error = await promise.then(
    () => assert.fail(`expected ${type.name}, but it resolved`),
    (caught: unknown) => caught,
  );
  fixture.errors.push(error);
  assert.ok(error instanceof type, `expected ${type.name}, got ${String(error instanceof Error ? `${error.name}: ${error.message}` : error)}`);
  return error;
}

/** Everything an error shows: name, message, stack, own fields, and its causes. */
function renderError(error: unknown, depth = 0): string {
  if (!(error instanceof Error) || depth > 5) return String(error);
  const fields = Object.fromEntries(Object.entries(error));
  let fieldText: string;
  try {
    fieldText = JSON.stringify(fields);
  } catch {
    fieldText = String(fields);
  }
  return [error.name, error.message, error.stack ?? '', fieldText, renderError(error.cause, depth + 1)].join('\n');
}

/** Asserts that no secret appears in the captured log or in any error the tests caught. */
export function assertNoSecrets(fixture: Fixture, secrets: readonly string[]): void {
  const texts = [fixture.log.text(), ...fixture.errors.map((error) => renderError(error))];
  for (const secret of secrets.filter((value) => value.length >= 6)) {
    for (const text of texts) assert.ok(!text.includes(secret), `a secret (${secret.length} characters) appears in:\n${text.slice(0, 2000)}`);
  }
}

/** The private key's text and the base64 lines of its body: none of it may leak. */
export function privateKeySecrets(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  const body = text.split('\n').filter((line) => line && !line.startsWith('-----'));
  return [text.trim(), ...body];
}
