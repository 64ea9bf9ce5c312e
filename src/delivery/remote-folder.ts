/**
 * The delivery folder on a client's SFTP server, as the publishing steps see it: files are
 * uploaded under hidden temporary names, verified (size on the server, sha256 of the bytes
 * sent), and put under their final names with an operation that cannot replace a file.
 * A file already under a final name is compared by its bytes, never overwritten.
 */
import { createHash, randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { InvalidClientSettingError, RemoteDirectoryMissingError, UploadVerificationError } from '../domain/errors.js';
import { isRemovableTemporary } from '../domain/leftovers.js';
import type { SftpDeliverySettings } from '../domain/types.js';
import type { Logger } from '../observability/logger.js';
import { hashLocalFile } from './local-file.js';
import { describeForLog } from './sftp-log.js';
import type { SftpSession } from './sftp-session.js';
import { hashRemoteFile, upload, type RemoteDigest, type UploadSource } from './sftp-transfer.js';

/** Suffix of temporary names: hidden (leading dot) and neither `.csv` nor `.gz`, so a receiver ignores them. */
export const TEMPORARY_SUFFIX = '.part';
const TEMPORARY_ID_BYTES = 4;
const TEMPORARY_NAME = new RegExp(`^\\.(.+)\\.[0-9a-f]{${TEMPORARY_ID_BYTES * 2}}\\${TEMPORARY_SUFFIX}$`);

/** One file to put in place: a data file or a companion. */
export interface Placement {
  readonly name: string;
  readonly source: UploadSource;
  readonly bytes: number;
  /** sha256 of the bytes to send, when known before sending; otherwise hashed on the way. */
  readonly sha256: string | null;
  /** For gzip: sha256 of the uncompressed content, so another gzip of the same CSV still counts as the same file. */
  readonly contentSha256: string | null;
}

/** What a file on the server is compared with. */
export interface ExpectedBytes {
  readonly bytes: number;
  readonly sha256: string;
  readonly contentSha256: string | null;
}

export interface RemoteComparison {
  readonly verdict: 'absent' | 'same' | 'other';
  /** What the server holds (0 and null when absent; sha256 null when the size already differed). */
  readonly bytes: number;
  readonly sha256: string | null;
}

/** `.<name>.<8 hex>.part`: hidden, unique per attempt, and recognisable afterwards. */
function temporaryName(name: string): string {
  return `.${name}.${randomBytes(TEMPORARY_ID_BYTES).toString('hex')}${TEMPORARY_SUFFIX}`;
}

export function isTemporaryOf(entry: string, name: string): boolean {
  return temporaryTargetOf(entry) === name;
}

/** The final name a temporary file of ours was uploaded for, or null when `entry` is not one. */
export function temporaryTargetOf(entry: string): string | null {
  return TEMPORARY_NAME.exec(entry)?.[1] ?? null;
}

export function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export class RemoteFolder {
  constructor(
    private readonly session: SftpSession,
    private readonly clientId: string,
    private readonly settings: SftpDeliverySettings,
    private readonly logger: Logger,
    private readonly progress: (bytes: number) => void,
    private readonly signal: AbortSignal | undefined,
  ) {}

  pathOf(name: string): string {
    return posix.join(this.settings.remoteDir, name);
  }

  async checkExists(): Promise<void> {
    const { remoteDir, host } = this.settings;
    const stats = await this.session.stat(remoteDir);
    if (!stats) throw new RemoteDirectoryMissingError(this.clientId, host, remoteDir);
    if (!stats.isDirectory()) {
      throw new InvalidClientSettingError(
        this.clientId,
        'delivery.remoteDir',
        `"${remoteDir}" (a file, not a folder, on ${host})`,
        'an existing folder the user may write to',
      );
    }
  }

  async sizeOf(path: string): Promise<number | null> {
    return (await this.session.stat(path))?.size ?? null;
  }

  /** Whether `remotePath` holds nothing, the expected bytes (or, for gzip, content), or other bytes; and what it holds. */
  async compare(remotePath: string, expected: ExpectedBytes): Promise<RemoteComparison> {
    const size = await this.sizeOf(remotePath);
    if (size === null) return { verdict: 'absent', bytes: 0, sha256: null };
    const gzip = expected.contentSha256 !== null;
    if (!gzip && size !== expected.bytes) return { verdict: 'other', bytes: size, sha256: null };
    const remote = await hashRemoteFile(this.session, remotePath, { gunzip: gzip, onBytes: this.progress });
    const same = (remote.bytes === expected.bytes && remote.sha256 === expected.sha256) || (gzip && remote.contentSha256 === expected.contentSha256);
    return { verdict: same ? 'same' : 'other', bytes: remote.bytes, sha256: remote.sha256 };
  }

  /** Names in the delivery folder. */
  list(): Promise<string[]> {
    return this.session.list(this.settings.remoteDir);
  }

  /** What a remote file holds, streamed through sha256 (and gunzip when asked); null when no file is there. */
  async digest(remotePath: string, options: { readonly gunzip: boolean }): Promise<RemoteDigest | null> {
    const stats = await this.session.stat(remotePath);
    if (!stats?.isFile()) return null;
    try {
      return await hashRemoteFile(this.session, remotePath, { gunzip: options.gunzip, onBytes: this.progress });
    } catch (error) {
      // Taken away between the look and the read (a receiver picking it up): nothing there.
      if ((await this.session.stat(remotePath)) === null) return null;
      throw error;
    }
  }

  /** The bytes a placement stands for (hashing a local file when its sha256 is not known yet). */
  async expectedOf(item: Placement): Promise<ExpectedBytes> {
    const sha256 =
      item.sha256 ??
      ('bytes' in item.source ? sha256Hex(item.source.bytes) : (await hashLocalFile(item.source.path, { signal: this.signal, onBytes: this.progress })).sha256);
    return { bytes: item.bytes, sha256, contentSha256: item.contentSha256 };
  }

  /** Uploads under a new temporary name; the server must hold every byte, and the bytes sent must be the ones meant. */
  async uploadVerified(item: Placement): Promise<{ readonly temporaryPath: string; readonly sha256: string }> {
    const temporaryPath = this.pathOf(temporaryName(item.name));
    this.logger.debug({ temporary: temporaryPath, bytes: item.bytes }, 'uploading under a temporary name');
    const started = Date.now();
    const sent = await upload(this.session, item.source, temporaryPath, this.progress);
    const remoteBytes = sent.remoteBytes;
    const problem =
      remoteBytes !== item.bytes || sent.bytes !== item.bytes
        ? `the server holds ${remoteBytes ?? 'no file of'} bytes; ${sent.bytes} were sent of ${item.bytes}`
        : item.sha256 !== null && sent.sha256 !== item.sha256
          ? `the bytes sent have sha256 ${sent.sha256}, not ${item.sha256} (the local file is not the built file, or changed while it was sent)`
          : null;
    if (problem !== null) {
      await this.removeQuietly(temporaryPath);
      throw new UploadVerificationError(this.clientId, temporaryPath, problem);
    }
    this.logger.debug(
      { temporary: temporaryPath, bytes: item.bytes, ms: Date.now() - started, streams: sent.streams, acknowledgedOutOfOrder: sent.acknowledgedOutOfOrder },
      'uploaded; size verified',
    );
    return { temporaryPath, sha256: sent.sha256 };
  }

  /** Puts a verified upload under its final name unless something stands there ('exists'). */
  publish(temporaryPath: string, finalPath: string): Promise<'hardlink' | 'rename' | 'exists'> {
    return this.session.publish(temporaryPath, finalPath);
  }

  /** Temporary files of `name` left by earlier attempts (crashed, cut off, or doomed), except those in `keep`. */
  async removeStaleTemporaries(name: string, keep: ReadonlySet<string> = new Set()): Promise<void> {
    const stale = (await this.session.list(this.settings.remoteDir)).filter((entry) => isTemporaryOf(entry, name) && !keep.has(this.pathOf(entry)));
    for (const entry of stale) {
      this.logger.info({ stale: entry }, 'removing a temporary file left by an earlier attempt');
      await this.session.remove(this.pathOf(entry));
    }
  }

  /** removeStaleTemporaries for several names, with one listing of the folder. */
  async removeStaleTemporariesOf(names: readonly string[]): Promise<void> {
    const wanted = new Set(names);
    // `.<name>.<hex>.part`: the name is what is left without the dot, the id and the suffix.
    const nameIn = (entry: string) => entry.slice(1, entry.length - (TEMPORARY_ID_BYTES * 2 + 1 + TEMPORARY_SUFFIX.length));
    const stale = (await this.session.list(this.settings.remoteDir)).filter((entry) => wanted.has(nameIn(entry)) && isTemporaryOf(entry, nameIn(entry)));
    for (const entry of stale) {
      this.logger.info({ stale: entry }, 'removing a temporary file left by an earlier attempt');
      await this.session.remove(this.pathOf(entry));
    }
  }

  /**
   * Every temporary file of ours in the folder that no attempt can own any more, whichever file
   * it was for (domain/leftovers.ts isRemovableTemporary): what a crashed attempt, or a run that
   * gave up, left behind. The caller holds the lock of the period whose names `ofThisPeriod` tells.
   */
  async removeLeftoverTemporaries(rules: {
    readonly ofThisPeriod: (name: string) => boolean;
    /** Temporary paths that ledger rows still `publishing` record. */
    readonly recorded: ReadonlySet<string>;
    readonly nowMs: number;
    readonly maxAgeMs: number;
  }): Promise<void> {
    for (const entry of await this.session.listDated(this.settings.remoteDir)) {
      const target = temporaryTargetOf(entry.name);
      if (target === null) continue;
      const temporary = { path: this.pathOf(entry.name), ofThisPeriod: rules.ofThisPeriod(target), modifiedMs: entry.modifiedMs };
      if (!isRemovableTemporary(temporary, rules)) continue;
      this.logger.info({ leftover: entry.name }, 'removing a temporary file that no attempt owns');
      await this.removeQuietly(temporary.path);
    }
  }

  async removeQuietly(path: string): Promise<void> {
    try {
      await this.session.remove(path);
    } catch (error) {
      this.logger.debug({ path, err: describeForLog(error) }, 'could not remove a temporary file; the next attempt will');
    }
  }
}
