/**
 * One SFTP connection for one delivery attempt: a fresh `ssh2-sftp-client` over a TCP socket
 * this module owns, so that every wait is bounded (connect, each request, stalls of a
 * transfer) and closing can never hang: when the polite `end()` does not finish in time, the
 * socket is destroyed.
 */
import { connect as connectTcp, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import SftpClient from 'ssh2-sftp-client';
import type { Client, SFTPWrapper, Stats } from 'ssh2';
import type { Logger } from '../observability/logger.js';
import { abortReason, bounded, type Kick, type LostSignal } from './bounded-wait.js';
import { pinHostKey } from './host-key.js';
import type { SftpCredentials } from './secrets.js';
import { ConnectionLostError, connectError, isNoSuchFile, operationError, SFTP_STATUS, sftpStatusOf, type DeliveryTarget } from './sftp-errors.js';
import { describeForLog, quietCallbacks } from './sftp-log.js';
import { batchWritesPerTick } from './ssh2-socket-patch.js';

/** Ciphers in order of preference. AES-GCM runs in OpenSSL; without ssh2's optional native binding (not built here) chacha20-poly1305 runs in JavaScript and is slowest. */
export const PREFERRED_CIPHERS = [
  'aes128-gcm@openssh.com',
  'aes256-gcm@openssh.com',
  'aes128-ctr',
  'aes192-ctr',
  'aes256-ctr',
  'chacha20-poly1305@openssh.com',
] as const;
/** How long a polite SSH disconnect may take before the socket is destroyed. */
export const END_TIMEOUT_MS = 2_000;
const TCP_KEEPALIVE_INITIAL_DELAY_MS = 15_000;

export interface SessionOptions {
  readonly connectTimeoutMs: number;
  readonly operationTimeoutMs: number;
  readonly signal: AbortSignal | undefined;
  readonly logger: Logger;
}

export class SftpSession {
  private lost: ConnectionLostError | null = null;
  private readonly lostListeners = new Set<(error: ConnectionLostError) => void>();
  private closed = false;
  private quickestMs = Number.POSITIVE_INFINITY;

  private constructor(
    private readonly target: DeliveryTarget,
    private readonly client: SftpClient,
    private readonly sftp: SFTPWrapper,
    private readonly socket: Socket,
    private readonly options: SessionOptions,
  ) {
    let socketError: string | null = null;
    socket.on('error', (error: NodeJS.ErrnoException) => {
      socketError = error.code ?? error.message;
    });
    socket.once('close', () => {
      this.lost = new ConnectionLostError(socketError);
      for (const listener of this.lostListeners) listener(this.lost);
    });
  }

  /** Connects, checks the host key against the pin and logs in. */
  static async open(target: DeliveryTarget, credentials: SftpCredentials, options: SessionOptions): Promise<SftpSession> {
    const { settings, clientId } = target;
    const socket = await openSocket(target, options);
    const client = new SftpClient(`twoway-${clientId}`, quietCallbacks(options.logger));
    const pin = pinHostKey(settings.hostKeySha256);
    try {
      const sftp = await bounded(
        () =>
          client.connect({
            sock: socket,
            host: settings.host,
            port: settings.port,
            username: settings.username,
            ...(credentials.method === 'password'
              ? { password: credentials.password }
              : { privateKey: credentials.privateKey, ...(credentials.passphrase !== undefined ? { passphrase: credentials.passphrase } : {}) }),
            hostVerifier: (key: Buffer) => pin.verify(key),
            // Straight to the one method configured: by default ssh2 first tries "none" to learn the server's methods, a round trip that changes nothing.
            authHandler: [credentials.method === 'password' ? 'password' : 'publickey'],
            readyTimeout: options.connectTimeoutMs,
            tryKeyboard: false,
            keepaliveInterval: 0,
            algorithms: { cipher: [...PREFERRED_CIPHERS] },
            // ssh2's debug output (which may show protocol details) stays off.
            debug: undefined,
          }),
        { operation: 'connect', timeoutMs: options.connectTimeoutMs, signal: options.signal, onGiveUp: () => socket.destroy() },
      );
      return new SftpSession(target, client, sftp, socket, options);
    } catch (error) {
      socket.destroy();
      if (options.signal?.aborted) throw abortReason(options.signal);
      throw connectError(target, error, pin.refusedFingerprint());
    }
  }

  /**
   * Runs one request (or a transfer) with the operation timeout, which `kick()` restarts;
   * the connection closing or the signal aborting end it early. A timeout or abort destroys
   * the connection: an answer that arrives later must not be mistaken for another one.
   */
  async run<T>(operation: string, path: string, work: (sftp: SFTPWrapper, kick: Kick) => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const result = await bounded((kick) => work(this.sftp, kick), {
        operation,
        timeoutMs: this.options.operationTimeoutMs,
        signal: this.options.signal,
        onGiveUp: () => this.socket.destroy(),
        lost: this.lostSignal(),
      });
      this.quickestMs = Math.min(this.quickestMs, performance.now() - started);
      return result;
    } catch (error) {
      if (this.options.signal?.aborted) throw abortReason(this.options.signal);
      throw operationError(this.target, operation, path, error);
    }
  }

  /** The quickest operation so far, in ms (Infinity before the first): every one takes at least a round trip, a stat about one. */
  get roundTripMs(): number {
    return this.quickestMs;
  }

  /**
   * Another SFTP channel on this connection, for a parallel stream (each channel has a window of
   * its own); null when the server refuses it (sshd's MaxSessions, say) or does not open it within
   * the operation timeout. The caller ends it; closing the session ends it too.
   */
  async openChannel(): Promise<SFTPWrapper | null> {
    // ssh2-sftp-client's ssh2 Client, missing from its typings (ssh2-sftp-client 12.1.1).
    const ssh = (this.client as unknown as { client: Client }).client;
    let gaveUp = false;
    const opening = new Promise<SFTPWrapper>((resolve, reject) =>
      ssh.sftp((error, sftp) => {
        if (error) reject(error);
        // A channel that opens after the wait was given up is nobody's: end it rather than leave it open until the session closes.
        else if (gaveUp) sftp.end();
        else resolve(sftp);
      }),
    );
    try {
      return await bounded(() => opening, {
        operation: 'open channel',
        timeoutMs: this.options.operationTimeoutMs,
        signal: this.options.signal,
        onGiveUp: () => (gaveUp = true),
        lost: this.lostSignal(),
      });
    } catch {
      return null;
    }
  }

  /** Attributes of a remote path, or null when nothing is there. */
  async stat(path: string): Promise<Stats | null> {
    return this.run(
      'stat',
      path,
      (sftp) =>
        new Promise<Stats | null>((resolve, reject) => {
          sftp.stat(path, (error, stats) => (error ? (isNoSuchFile(error) ? resolve(null) : reject(error)) : resolve(stats)));
        }),
    );
  }

  /**
   * Names in a folder. Unlike ssh2's `readdir(path)`, which waits for the folder's handle to
   * close before it answers, the handle is closed without waiting: its answer changes nothing,
   * and over a WAN the wait is a round trip.
   */
  async list(dir: string): Promise<string[]> {
    return this.run('list', dir, async (sftp) => {
      const handle = await new Promise<Buffer>((resolve, reject) => sftp.opendir(dir, (error, opened) => (error ? reject(error) : resolve(opened))));
      try {
        const names: string[] = [];
        for (;;) {
          const batch = await new Promise<string[] | null>((resolve, reject) => {
            sftp.readdir(handle, (error, entries) => {
              if (!error) resolve(entries.map((entry) => entry.filename));
              else if (sftpStatusOf(error) === SFTP_STATUS.EOF) resolve(null);
              else reject(error);
            });
          });
          if (batch === null) return names;
          names.push(...batch);
        }
      } finally {
        sftp.close(handle, () => undefined);
      }
    });
  }

  /** Names in a folder with the time each was last written (the server's clock). */
  async listDated(dir: string): Promise<{ readonly name: string; readonly modifiedMs: number }[]> {
    const MS_PER_SECOND = 1000;
    return this.run(
      'list',
      dir,
      (sftp) =>
        new Promise<{ name: string; modifiedMs: number }[]>((resolve, reject) => {
          sftp.readdir(dir, (error, entries) =>
            error ? reject(error) : resolve(entries.map((entry) => ({ name: entry.filename, modifiedMs: entry.attrs.mtime * MS_PER_SECOND }))),
          );
        }),
    );
  }

  /** Removes a file; one that is already gone is fine. */
  async remove(path: string): Promise<void> {
    await this.run(
      'remove',
      path,
      (sftp) =>
        new Promise<void>((resolve, reject) => {
          sftp.unlink(path, (error) => (error && !isNoSuchFile(error) ? reject(error) : resolve()));
        }),
    );
  }

  /**
   * Puts `from` under the name `to` only if nothing stands there, atomically: never with
   * `posix-rename@openssh.com`, which replaces an existing file. First OpenSSH's
   * `hardlink@openssh.com` (link(2) refuses an existing target), then the temporary name is
   * removed; where the server lacks or denies it, plain SFTP rename, which the protocol
   * defines as failing when the target exists (OpenSSH implements it with link(2) as well).
   * Resolves 'exists' when the target is taken; the temporary file is then left as it is.
   */
  async publish(from: string, to: string): Promise<'hardlink' | 'rename' | 'exists'> {
    const linked = await this.run(
      'link',
      to,
      (sftp) =>
        new Promise<number | 'ok' | 'unsupported'>((resolve, reject) => {
          try {
            sftp.ext_openssh_hardlink(from, to, (error) => {
              if (!error) resolve('ok');
              else if (sftpStatusOf(error) !== undefined) resolve(sftpStatusOf(error) as number);
              else reject(error);
            });
          } catch {
            // ssh2 refuses the call when the server does not offer the extension.
            resolve('unsupported');
          }
        }),
    );
    if (linked === 'ok') {
      await this.remove(from);
      return 'hardlink';
    }
    if (linked === SFTP_STATUS.FAILURE && (await this.stat(to)) !== null) return 'exists';
    // Denied, unsupported, or a file system without hard links: plain rename.
    const renamed = await this.run(
      'rename',
      to,
      (sftp) =>
        new Promise<number | 'ok'>((resolve, reject) => {
          sftp.rename(from, to, (error) =>
            !error ? resolve('ok') : sftpStatusOf(error) !== undefined ? resolve(sftpStatusOf(error) as number) : reject(error),
          );
        }),
    );
    if (renamed === 'ok') return 'rename';
    if ((await this.stat(to)) !== null) return 'exists';
    throw operationError(this.target, 'rename', to, Object.assign(new Error(`the server refused to rename ${from}`), { code: renamed }));
  }

  /** Ends the connection; never waits longer than END_TIMEOUT_MS. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.client.end(),
        new Promise((resolve) => {
          timer = setTimeout(resolve, END_TIMEOUT_MS);
        }),
      ]);
    } catch (error) {
      this.options.logger.debug({ err: describeForLog(error) }, 'SFTP end() failed; destroying the socket');
    } finally {
      clearTimeout(timer);
      this.socket.destroy();
    }
  }

  private lostSignal(): LostSignal {
    return {
      current: () => this.lost,
      subscribe: (listener) => {
        this.lostListeners.add(listener);
        return () => this.lostListeners.delete(listener);
      },
    };
  }
}

/** Opens the TCP connection within the connect timeout. */
function openSocket(target: DeliveryTarget, options: SessionOptions): Promise<Socket> {
  const { host, port } = target.settings;
  const socket = connectTcp({ host, port, noDelay: true, keepAlive: true, keepAliveInitialDelay: TCP_KEEPALIVE_INITIAL_DELAY_MS });
  // ssh2 reports socket errors itself once it owns the socket; this keeps a late one from crashing the process.
  socket.on('error', () => undefined);
  batchWritesPerTick(socket);
  const connected = new Promise<Socket>((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
  return bounded(() => connected, {
    operation: 'connect',
    timeoutMs: options.connectTimeoutMs,
    signal: options.signal,
    onGiveUp: () => socket.destroy(),
  }).catch((error: unknown) => {
    socket.destroy();
    if (options.signal?.aborted) throw abortReason(options.signal);
    throw connectError(target, error, null);
  });
}
