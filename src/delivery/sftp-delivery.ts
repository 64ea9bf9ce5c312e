/**
 * Delivers one built file to a client's SFTP server [SPEC §6] so that a receiver that picks
 * up every file it sees never picks up a partial, corrupt or duplicate one:
 *
 * - the file is uploaded under a hidden temporary name in the target folder, its size is
 *   checked, and only then is it renamed to the final name;
 * - a file already standing under the final name is never replaced: when it holds the same
 *   bytes the delivery is done (`alreadyPresent`), otherwise RemoteFileConflictError;
 * - every failure is a typed error: permanent ones (host key, login, settings) are not
 *   retried, network faults and timeouts are SftpTransientError for the workflow to retry;
 *   each attempt uses a fresh connection and cleans up the temporary files of earlier ones.
 *
 * Secrets are resolved here, in the delivering process, and go nowhere but into ssh2.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  InvalidClientSettingError,
  RemoteDirectoryMissingError,
  RemoteFileConflictError,
  UploadVerificationError,
} from '../domain/errors.js';
import type { SftpDeliverySettings } from '../domain/types.js';
import { createSilentLogger, type Logger } from '../observability/logger.js';
import { hashLocalFile, prepareLocalFile, type LocalFile } from './local-file.js';
import { resolveCredentials } from './secrets.js';
import { abortReason, describeForLog, remotePathIn, SftpSession } from './sftp-session.js';
import { hashRemoteFile, upload, type UploadSource } from './sftp-transfer.js';

export interface DeliveryRequest {
  readonly clientId: string;
  readonly settings: SftpDeliverySettings;
  /** The built CSV on this host. */
  readonly localPath: string;
  /** Final remote name chosen by the caller (with `settings.gzip`, `${fileName}.gz` is delivered). */
  readonly fileName: string;
  /** The built file's sha256 (BuiltFile.sha256), when known: bytes that hash differently are never published. */
  readonly sha256?: string;
}

export interface DeliveryResult {
  /** Final path of the data file. */
  readonly remotePath: string;
  /** Bytes of the delivered data file. */
  readonly bytes: number;
  /** Hex sha256 of the delivered data file's bytes. */
  readonly sha256: string;
  /** An identical file already stood under the final name; nothing was uploaded. */
  readonly alreadyPresent: boolean;
  readonly checksumPath: string | null;
}

export interface DeliveryOptions {
  /** Where environment-variable secret references are read. */
  readonly env?: NodeJS.ProcessEnv;
  /** TCP connect, SSH handshake, login and opening the SFTP channel, each. */
  readonly connectTimeoutMs?: number;
  /** Every SFTP request, and any stall of a transfer (no acknowledged bytes for this long). */
  readonly operationTimeoutMs?: number;
  /**
   * Called during long steps (compressing, uploading, reading back an existing file) with the
   * bytes that step has moved so far, at most twice a second: the activity heartbeats from it.
   */
  readonly onProgress?: (bytesSent: number) => void;
  /** Aborting closes the connection at once and rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  readonly logger?: Logger;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 20_000;
export const DEFAULT_OPERATION_TIMEOUT_MS = 60_000;
/** At most two progress calls a second. */
export const PROGRESS_INTERVAL_MS = 500;
/** Suffix of temporary names: hidden (leading dot) and neither `.csv` nor `.gz`, so a receiver ignores them. */
const TEMPORARY_SUFFIX = '.part';
const TEMPORARY_ID_BYTES = 4;
const CHECKSUM_SUFFIX = '.sha256';

/** One file to put in place: the data file or its checksum companion. */
interface Placement {
  readonly name: string;
  readonly source: UploadSource;
  readonly bytes: number;
  /** Known before the upload for gzip, the companion and a CSV whose built sha256 is given; otherwise hashed as it is sent. */
  readonly sha256: string | null;
  /** For gzip: sha256 of the uncompressed content, so an existing file another gzip made of the same CSV still counts as the same. */
  readonly contentSha256: string | null;
}

interface Placed {
  readonly remotePath: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly alreadyPresent: boolean;
}

/** Throttles progress calls to PROGRESS_INTERVAL_MS. */
function throttle(onProgress: ((bytes: number) => void) | undefined): (bytes: number) => void {
  if (!onProgress) return () => undefined;
  let last = 0;
  return (bytes) => {
    const now = Date.now();
    if (now - last < PROGRESS_INTERVAL_MS) return;
    last = now;
    onProgress(bytes);
  };
}

/** `.<name>.<8 hex>.part`: hidden, unique per attempt, and recognisable afterwards. */
function temporaryName(name: string): string {
  return `.${name}.${randomBytes(TEMPORARY_ID_BYTES).toString('hex')}${TEMPORARY_SUFFIX}`;
}

function isTemporaryOf(entry: string, name: string): boolean {
  const id = entry.slice(name.length + 2, entry.length - TEMPORARY_SUFFIX.length);
  return entry.startsWith(`.${name}.`) && entry.endsWith(TEMPORARY_SUFFIX) && new RegExp(`^[0-9a-f]{${TEMPORARY_ID_BYTES * 2}}$`).test(id);
}

function checkFileName(request: DeliveryRequest): void {
  const { fileName } = request;
  if (fileName === '' || fileName.startsWith('.') || /[/\\\0]/.test(fileName)) {
    throw new InvalidClientSettingError(request.clientId, 'file name', JSON.stringify(fileName), 'a plain file name, without folders, that does not start with a dot');
  }
}

function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

class Delivery {
  private readonly progress: (bytes: number) => void;

  constructor(
    private readonly session: SftpSession,
    private readonly request: DeliveryRequest,
    private readonly options: DeliveryOptions,
    private readonly logger: Logger,
    progress: (bytes: number) => void,
  ) {
    this.progress = progress;
  }

  private get settings(): SftpDeliverySettings {
    return this.request.settings;
  }

  async checkRemoteDir(): Promise<void> {
    const { remoteDir, host } = this.settings;
    const stats = await this.session.stat(remoteDir);
    if (!stats) throw new RemoteDirectoryMissingError(this.request.clientId, host, remoteDir);
    if (!stats.isDirectory()) {
      throw new InvalidClientSettingError(this.request.clientId, 'delivery.remoteDir', `"${remoteDir}" (a file, not a folder, on ${host})`, 'an existing folder the user may write to');
    }
  }

  /** Puts one file in place under its final name, or finds it already there. */
  async place(item: Placement): Promise<Placed> {
    const remotePath = remotePathIn(this.settings.remoteDir, item.name);
    await this.removeStaleTemporaries(item.name);
    const existing = await this.session.stat(remotePath);
    if (existing) return this.compareExisting(item, remotePath, existing.size);
    const temporary = remotePathIn(this.settings.remoteDir, temporaryName(item.name));
    const sha256 = await this.uploadAndVerify(item, temporary);
    const sent = { ...item, sha256 };
    // Another attempt may have finished meanwhile, and posix-rename would replace its file.
    if (await this.session.stat(remotePath)) {
      await this.removeQuietly(temporary);
      return this.compareExisting(sent, remotePath, null);
    }
    const how = await this.renameIntoPlace(temporary, remotePath);
    if (how === 'already-there') return this.compareExisting(sent, remotePath, null);
    this.logger.info({ remotePath, bytes: item.bytes, sha256, rename: how }, 'delivered file');
    return { remotePath, bytes: item.bytes, sha256, alreadyPresent: false };
  }

  /** Uploads under the temporary name; the server must hold every byte, and the bytes sent must be the ones meant. */
  private async uploadAndVerify(item: Placement, temporary: string): Promise<string> {
    this.logger.debug({ temporary, bytes: item.bytes }, 'uploading under a temporary name');
    const started = Date.now();
    const sent = await upload(this.session, item.source, temporary, this.progress);
    const remoteBytes = (await this.session.stat(temporary))?.size ?? null;
    const problem =
      remoteBytes !== item.bytes || sent.bytes !== item.bytes
        ? `the server holds ${remoteBytes ?? 'no file of'} bytes; ${sent.bytes} were sent of ${item.bytes}`
        : item.sha256 !== null && sent.sha256 !== item.sha256
          ? `the bytes sent have sha256 ${sent.sha256}, not ${item.sha256} (${this.request.localPath} is not the built file, or changed while it was sent)`
          : null;
    if (problem !== null) {
      await this.removeQuietly(temporary);
      throw new UploadVerificationError(this.request.clientId, temporary, problem);
    }
    this.logger.debug({ temporary, bytes: item.bytes, ms: Date.now() - started }, 'uploaded; size verified');
    return sent.sha256;
  }

  private async renameIntoPlace(temporary: string, remotePath: string): Promise<'posix-rename' | 'rename' | 'already-there'> {
    try {
      return await this.session.rename(temporary, remotePath);
    } catch (error) {
      // Plain rename refuses an existing target; a file that appeared there meanwhile is judged like any other.
      if (!(await this.existsQuietly(remotePath))) throw error;
      await this.removeQuietly(temporary);
      this.logger.debug({ remotePath }, 'rename found the final name taken');
      return 'already-there';
    }
  }

  private async existsQuietly(remotePath: string): Promise<boolean> {
    try {
      return (await this.session.stat(remotePath)) !== null;
    } catch {
      return false;
    }
  }

  /** A file under the final name is ours only when its bytes (or, for gzip, its content) are the same. */
  private async compareExisting(item: Placement, remotePath: string, knownSize: number | null): Promise<Placed> {
    const conflict = (detail: string) => new RemoteFileConflictError(this.request.clientId, remotePath, detail);
    const gzip = item.contentSha256 !== null;
    if (!gzip && knownSize !== null && knownSize !== item.bytes) throw conflict(`${knownSize} bytes there, ${item.bytes} bytes in this file`);
    const local = item.sha256 ?? (await this.hashSource(item));
    const remote = await hashRemoteFile(this.session, remotePath, { gunzip: gzip, onBytes: this.progress });
    const sameBytes = remote.bytes === item.bytes && remote.sha256 === local;
    const sameContent = gzip && remote.contentSha256 === item.contentSha256;
    if (!sameBytes && !sameContent) throw conflict(`sha256 ${remote.sha256} there, ${local} in this file`);
    this.logger.info({ remotePath, bytes: remote.bytes, sha256: remote.sha256 }, 'an identical file is already delivered; nothing uploaded');
    return { remotePath, bytes: remote.bytes, sha256: remote.sha256, alreadyPresent: true };
  }

  private async hashSource(item: Placement): Promise<string> {
    if ('bytes' in item.source) return sha256Hex(item.source.bytes);
    return (await hashLocalFile(item.source.path, { signal: this.options.signal, onBytes: this.progress })).sha256;
  }

  /** Temporary files of earlier attempts (crashed, cut off, or still running elsewhere and doomed). */
  private async removeStaleTemporaries(name: string): Promise<void> {
    const stale = (await this.session.list(this.settings.remoteDir)).filter((entry) => isTemporaryOf(entry, name));
    for (const entry of stale) {
      this.logger.info({ stale: entry }, 'removing a temporary file left by an earlier attempt');
      await this.session.remove(remotePathIn(this.settings.remoteDir, entry));
    }
  }

  private async removeQuietly(path: string): Promise<void> {
    try {
      await this.session.remove(path);
    } catch (error) {
      this.logger.debug({ path, err: describeForLog(error) }, 'could not remove a temporary file; the next attempt will');
    }
  }
}

function checksumPlacement(data: Placed, dataName: string): Placement {
  const bytes = Buffer.from(`${data.sha256}  ${dataName}\n`, 'utf8');
  return { name: `${dataName}${CHECKSUM_SUFFIX}`, source: { bytes }, bytes: bytes.length, sha256: sha256Hex(bytes), contentSha256: null };
}

/** For a plain CSV the built file's sha256 (when the caller knows it) is what the upload must match. */
function dataPlacement(file: LocalFile, request: DeliveryRequest): Placement {
  return { name: file.name, source: { path: file.path }, bytes: file.bytes, sha256: file.sha256 ?? request.sha256 ?? null, contentSha256: file.contentSha256 };
}

async function prepare(request: DeliveryRequest, options: DeliveryOptions, progress: (bytes: number) => void): Promise<LocalFile> {
  let file: LocalFile;
  try {
    file = await prepareLocalFile(request.localPath, request.fileName, { gzip: request.settings.gzip, signal: options.signal, onBytes: progress });
  } catch (error) {
    if (options.signal?.aborted) throw abortReason(options.signal);
    const code = (error as NodeJS.ErrnoException).code ?? describeForLog(error).message;
    throw new Error(`client "${request.clientId}": the built file ${request.localPath} cannot be read for delivery (${code})`, { cause: error });
  }
  if (file.contentSha256 !== null && request.sha256 !== undefined && file.contentSha256 !== request.sha256) {
    await file.dispose();
    throw new UploadVerificationError(request.clientId, request.localPath, `the local file has sha256 ${file.contentSha256}, not the built file's ${request.sha256}`);
  }
  return file;
}

/** Delivers one file (and its checksum companion when the client wants one); see the module comment. */
export async function deliverFile(request: DeliveryRequest, options: DeliveryOptions = {}): Promise<DeliveryResult> {
  const { clientId, settings } = request;
  options.signal?.throwIfAborted();
  checkFileName(request);
  const logger = (options.logger ?? createSilentLogger()).child({ client: clientId, host: settings.host, port: settings.port, remoteDir: settings.remoteDir });
  const credentials = await resolveCredentials(clientId, settings.auth, options.env ?? process.env);
  const progress = throttle(options.onProgress);
  const file = await prepare(request, options, progress);
  try {
    const session = await SftpSession.open({ clientId, settings }, credentials, {
      connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      operationTimeoutMs: options.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS,
      signal: options.signal,
      logger,
    });
    try {
      const delivery = new Delivery(session, request, options, logger, progress);
      await delivery.checkRemoteDir();
      const data = await delivery.place(dataPlacement(file, request));
      const checksum = settings.checksumFile ? await delivery.place(checksumPlacement(data, file.name)) : null;
      return { ...data, checksumPath: checksum?.remotePath ?? null };
    } finally {
      await session.close();
    }
  } finally {
    await file.dispose();
  }
}
