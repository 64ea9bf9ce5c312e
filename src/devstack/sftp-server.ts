/**
 * A real OpenSSH sshd on loopback, serving SFTP only, for the tests and the demo.
 *
 * Password login needs a real system user, so each harness (as root) creates a user of its
 * own with a random name and password (system-accounts.ts) and deletes it again in
 * `dispose()`: several test files and the demo run harnesses in parallel and must never share a user.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { delimiter, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { hostKeyFingerprint } from '../delivery/host-key.js';
import { createSilentLogger, type Logger } from '../observability/logger.js';
import { freePort } from './ports.js';
import { descendantPids, endDescendants, killQuietly, runCommand } from './processes.js';
import { createSystemUser, deleteSystemUser, deleteSystemUserNow, openParentsToOthers } from './system-accounts.js';

export interface SftpServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly username: string;
  readonly password: string;
  /** Unencrypted private key (OpenSSH format, chmod 600) authorized for the user, inside `secretsDir`. */
  readonly userKeyPath: string;
  /** A folder of the client side's secrets only (the user key): a delivering process's TWOWAY_SECRETS_DIR. */
  readonly secretsDir: string;
  /** The host key's fingerprint, OpenSSH form `SHA256:<base64 without padding>`. */
  readonly hostKeySha256: string;
  /** Absolute folder the user can write (the user's home). */
  readonly rootDir: string;
  /** Stops sshd and every session it started. */
  stop(): Promise<void>;
  /** Starts sshd again: same port, keys and user ("down and comes back"). */
  start(): Promise<void>;
  /** Stops sshd, deletes the user and the harness's files. */
  dispose(): Promise<void>;
}

export interface StartSftpServerOptions {
  /** Folder for the configuration, keys and (without `homeDir`) the user's home; created when missing, deleted by `dispose()`. */
  readonly baseDir: string;
  readonly port?: number;
  /** Receives sshd's own log lines at debug level. */
  readonly logger?: Logger;
  /** Extra arguments for internal-sftp, e.g. `['-P', 'posix-rename']` to deny a request type. */
  readonly sftpServerArguments?: readonly string[];
  /**
   * The user's home (what is uploaded), outside `baseDir`, kept by `dispose()`: the demo keeps
   * its delivered files between starts. What it holds is handed to the new user, whose uid may
   * differ from the last one's. Default: `<baseDir>/home`, deleted with the rest.
   */
  readonly homeDir?: string;
}

const SSHD_CANDIDATES = ['/usr/sbin/sshd', '/usr/local/sbin/sshd'];
const PRIVILEGE_SEPARATION_DIR = '/run/sshd';
const USER_NAME_PREFIX = 'twsftp';
const USER_NAME_RANDOM_BYTES = 3;
const PASSWORD_RANDOM_BYTES = 18;
const READY_TIMEOUT_MS = 15_000;
const READY_PROBE_INTERVAL_MS = 50;
const BANNER_PROBE_TIMEOUT_MS = 1_000;
const STOP_GRACE_MS = 3_000;
const KEPT_LOG_LINES = 30;

function findSshd(): string | null {
  const onPath = (process.env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, 'sshd'));
  return [...SSHD_CANDIDATES, ...onPath].find((candidate) => existsSync(candidate)) ?? null;
}

/** OpenSSH's fingerprint of a `*.pub` line (`type base64-blob comment`). */
/** OpenSSH `sftp` client options that log in to this server with its user key, without prompts and without touching known_hosts. */
export function openSshLoginOptions(server: Pick<SftpServer, 'userKeyPath' | 'port'>): string[] {
  return ['-i', server.userKeyPath, '-P', String(server.port), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes'];
}

export function fingerprintOfPublicKeyLine(line: string): string {
  const blob = line.trim().split(/\s+/)[1];
  if (!blob) throw new Error(`not an OpenSSH public key line: ${line.slice(0, 40)}`);
  return hostKeyFingerprint(Buffer.from(blob, 'base64'));
}

async function generateKey(path: string, comment: string): Promise<void> {
  await rm(path, { force: true });
  await rm(`${path}.pub`, { force: true });
  const result = runCommand('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path]);
  if (result.status !== 0) throw new Error(`ssh-keygen could not create ${path}: ${result.stderr}`);
}

function sshdConfig(options: {
  port: number;
  hostKeyPath: string;
  pidFile: string;
  authorizedKeysPath: string;
  username: string;
  sftpServerArguments: readonly string[];
}): string {
  const internalSftp = ['internal-sftp', ...options.sftpServerArguments].join(' ');
  return [
    `Port ${options.port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${options.hostKeyPath}`,
    `PidFile ${options.pidFile}`,
    `AuthorizedKeysFile ${options.authorizedKeysPath}`,
    `AllowUsers ${options.username}`,
    'PermitRootLogin no',
    'StrictModes no',
    'UsePAM no',
    'PasswordAuthentication yes',
    'PubkeyAuthentication yes',
    'KbdInteractiveAuthentication no',
    'PermitEmptyPasswords no',
    'UseDNS no',
    'AllowTcpForwarding no',
    'AllowAgentForwarding no',
    'X11Forwarding no',
    'PermitTTY no',
    // Tests open many short connections at once; the default 10:30:100 would drop some.
    'MaxStartups 100',
    'MaxSessions 20',
    'LoginGraceTime 30',
    'LogLevel INFO',
    `Subsystem sftp ${internalSftp}`,
    `ForceCommand ${internalSftp}`,
    '',
  ].join('\n');
}

/** Waits until the port answers with an SSH banner. */
function probeSshBanner(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let received = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolvePromise(ok);
    };
    socket.setTimeout(BANNER_PROBE_TIMEOUT_MS, () => done(false));
    socket.on('data', (data: Buffer) => {
      received += data.toString('latin1');
      if (received.includes('\n')) done(received.startsWith('SSH-2.0-'));
    });
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}

class OpenSshSftpServer implements SftpServer {
  readonly host = '127.0.0.1' as const;
  private child: ChildProcess | null = null;
  private recentLog: string[] = [];
  private disposed = false;
  private readonly cleanUpOnExit = () => this.cleanUpNow();

  constructor(
    private readonly sshdPath: string,
    private readonly baseDir: string,
    private readonly configPath: string,
    readonly port: number,
    readonly username: string,
    readonly password: string,
    readonly userKeyPath: string,
    readonly secretsDir: string,
    readonly hostKeySha256: string,
    readonly rootDir: string,
    private readonly logger: Logger,
  ) {
    // A test run that ends without dispose() must not leave sshd running or the user behind.
    process.once('exit', this.cleanUpOnExit);
  }

  async start(): Promise<void> {
    if (this.disposed) throw new Error('this SFTP server harness was disposed');
    if (this.child) return;
    await mkdir(PRIVILEGE_SEPARATION_DIR, { recursive: true, mode: 0o755 });
    const child = spawn(this.sshdPath, ['-D', '-e', '-f', this.configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    this.recentLog = [];
    let pending = '';
    child.stderr?.setEncoding('utf8').on('data', (data: string) => {
      const lines = (pending + data).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) this.onLogLine(line);
    });
    child.once('exit', () => {
      if (this.child === child) this.child = null;
    });
    await this.waitUntilReady(child);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.pid === undefined) return;
    // sshd's per-connection children run in sessions of their own.
    await endDescendants(child.pid, STOP_GRACE_MS);
    const exited = new Promise<void>((resolvePromise) => {
      if (child.exitCode !== null || child.signalCode !== null) resolvePromise();
      else child.once('exit', () => resolvePromise());
    });
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
    this.child = null;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    await this.stop();
    this.disposed = true;
    process.removeListener('exit', this.cleanUpOnExit);
    await deleteSystemUser(this.username, this.logger);
    await rm(this.baseDir, { recursive: true, force: true });
  }

  private onLogLine(raw: string): void {
    const line = raw.replace(/\r$/, '');
    if (!line) return;
    this.recentLog.push(line);
    if (this.recentLog.length > KEPT_LOG_LINES) this.recentLog.shift();
    this.logger.debug({ sshd: line, port: this.port }, 'sshd');
  }

  private async waitUntilReady(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        this.child = null;
        throw new Error(`sshd on 127.0.0.1:${this.port} exited during start-up:\n${this.recentLog.join('\n')}`);
      }
      if (await probeSshBanner(this.port)) return;
      await sleep(READY_PROBE_INTERVAL_MS);
    }
    await this.stop();
    throw new Error(`sshd on 127.0.0.1:${this.port} did not accept SSH within ${READY_TIMEOUT_MS} ms:\n${this.recentLog.join('\n')}`);
  }

  /** dispose(), synchronously: the last resort when the process exits. */
  private cleanUpNow(): void {
    const pid = this.child?.pid;
    if (pid !== undefined) {
      const sessions = descendantPids(pid);
      killQuietly(pid, 'SIGKILL');
      for (const session of sessions) killQuietly(session, 'SIGKILL');
    }
    deleteSystemUserNow(this.username);
    rmSync(this.baseDir, { recursive: true, force: true });
  }
}

export async function startSftpServer(options: StartSftpServerOptions): Promise<SftpServer> {
  const sshdPath = findSshd();
  if (!sshdPath)
    throw new Error("OpenSSH's sshd was not found (looked in /usr/sbin, /usr/local/sbin and PATH); run `npm run setup` to install Debian's openssh-server");
  if (process.getuid?.() !== 0) {
    throw new Error('the SFTP test server needs root: password login needs a system user of its own, which only root can create');
  }
  const logger = options.logger ?? createSilentLogger();
  const baseDir = resolve(options.baseDir);
  const port = options.port ?? (await freePort());
  const username = `${USER_NAME_PREFIX}${randomBytes(USER_NAME_RANDOM_BYTES).toString('hex')}`;
  const password = randomBytes(PASSWORD_RANDOM_BYTES).toString('base64url');
  const rootDir = options.homeDir ? resolve(options.homeDir) : join(baseDir, 'home');
  const hostKeyPath = join(baseDir, 'ssh_host_ed25519_key');
  // Apart from the host key: a delivery's secrets folder must hold the client's secrets only.
  const secretsDir = join(baseDir, 'client-secrets');
  const userKeyPath = join(secretsDir, 'user_ed25519_key');
  const authorizedKeysPath = join(baseDir, 'authorized_keys');
  const configPath = join(baseDir, 'sshd_config');

  await mkdir(baseDir, { recursive: true });
  await chmod(baseDir, 0o711);
  await openParentsToOthers(baseDir);
  await mkdir(secretsDir, { recursive: true, mode: 0o700 });
  await generateKey(hostKeyPath, 'twoway-test-host');
  await generateKey(userKeyPath, username);
  const hostKeySha256 = fingerprintOfPublicKeyLine(await readFile(`${hostKeyPath}.pub`, 'utf8'));
  await writeFile(authorizedKeysPath, await readFile(`${userKeyPath}.pub`, 'utf8'), { mode: 0o644 });
  await writeFile(
    configPath,
    sshdConfig({ port, hostKeyPath, pidFile: join(baseDir, 'sshd.pid'), authorizedKeysPath, username, sftpServerArguments: options.sftpServerArguments ?? [] }),
    { mode: 0o644 },
  );

  await createSystemUser({ username, password, homeDir: rootDir, homeKept: Boolean(options.homeDir) });

  const server = new OpenSshSftpServer(sshdPath, baseDir, configPath, port, username, password, userKeyPath, secretsDir, hostKeySha256, rootDir, logger);
  try {
    await server.start();
  } catch (error) {
    await server.dispose();
    throw error;
  }
  return server;
}
