/**
 * Delivers one built file to a client's SFTP server [SPEC §6] so that a receiver that picks
 * up every file it sees never picks up a partial, corrupt or duplicate one:
 *
 * - the file is uploaded under a hidden temporary name in the target folder, its size is
 *   checked, and only then is it renamed to the final name;
 * - a file already standing under the final name is never replaced: when it holds the same
 *   bytes the delivery is done (`alreadyPresent`), otherwise RemoteFileConflictError;
 * - the final name is taken with an operation that cannot replace a file (remote-folder.ts);
 * - every failure is a typed error: permanent ones (host key, login, settings) are not
 *   retried, network faults and timeouts are SftpTransientError for the workflow to retry;
 *   each attempt uses a fresh connection and cleans up the temporary files of earlier ones.
 *
 * This is one file on its own; period-publisher.ts adds the ledger (revisions, intents).
 *
 * Secrets are resolved here, in the delivering process, and go nowhere but into ssh2.
 */
import { DEFAULT_SFTP_TIMEOUTS } from '../config/env.js';
import { BuiltFileMissingError, InvalidClientSettingError, RemoteFileConflictError, UploadVerificationError } from '../domain/errors.js';
import { CHECKSUM_SUFFIX, checksumFileText } from '../domain/file-name.js';
import type { SftpDeliverySettings } from '../domain/types.js';
import { createSilentLogger, type Logger } from '../observability/logger.js';
import { abortReason } from './bounded-wait.js';
import { prepareLocalFile, type FileTransforms, type LocalFile } from './local-file.js';
import { openPgpKeyring, type PgpKeyring } from './pgp.js';
import { RemoteFolder, sha256Hex, type Placement } from './remote-folder.js';
import { resolveCredentials } from './secrets.js';
import { describeForLog } from './sftp-log.js';
import { SftpSession } from './sftp-session.js';

export interface DeliveryRequest {
  readonly clientId: string;
  readonly settings: SftpDeliverySettings;
  /** The built CSV on this host. */
  readonly localPath: string;
  /** Final remote name chosen by the caller (with gzip or PGP, the name local-file.ts deliveredFileName gives is delivered). */
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

/** At most two progress calls a second. */
export const PROGRESS_INTERVAL_MS = 500;

export interface Placed {
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

export function checkFileName(clientId: string, fileName: string): void {
  if (fileName === '' || fileName.startsWith('.') || /[/\\\0]/.test(fileName)) {
    throw new InvalidClientSettingError(clientId, 'file name', JSON.stringify(fileName), 'a plain file name, without folders, that does not start with a dot');
  }
}

/**
 * Puts one file in place under its final name, or finds the same bytes already there; other
 * bytes under the name are a RemoteFileConflictError and are never replaced.
 */
export async function placeFile(folder: RemoteFolder, clientId: string, item: Placement, logger: Logger): Promise<Placed> {
  const remotePath = folder.pathOf(item.name);
  await folder.removeStaleTemporaries(item.name);
  const found = async (expected: { bytes: number; sha256: string; contentSha256: string | null }): Promise<Placed> => {
    const there = await folder.compare(remotePath, expected);
    if (there.verdict !== 'same') {
      throw new RemoteFileConflictError(
        clientId,
        remotePath,
        `${there.bytes} bytes${there.sha256 ? ` with sha256 ${there.sha256}` : ''} there, ${expected.bytes} bytes with sha256 ${expected.sha256} in this file`,
      );
    }
    logger.info({ remotePath, bytes: there.bytes, sha256: there.sha256 }, 'an identical file is already delivered; nothing uploaded');
    return { remotePath, bytes: there.bytes, sha256: there.sha256 ?? expected.sha256, alreadyPresent: true };
  };
  if ((await folder.sizeOf(remotePath)) !== null) return found(await folder.expectedOf(item));
  const { temporaryPath, sha256 } = await folder.uploadVerified(item);
  const how = await folder.publish(temporaryPath, remotePath);
  if (how === 'exists') {
    await folder.removeQuietly(temporaryPath);
    return found({ bytes: item.bytes, sha256, contentSha256: item.contentSha256 });
  }
  logger.info({ remotePath, bytes: item.bytes, sha256, publish: how }, 'delivered file');
  return { remotePath, bytes: item.bytes, sha256, alreadyPresent: false };
}

export function checksumPlacement(data: { readonly sha256: string }, dataName: string): Placement {
  const bytes = Buffer.from(checksumFileText(data.sha256, dataName), 'utf8');
  return { name: `${dataName}${CHECKSUM_SUFFIX}`, source: { bytes }, bytes: bytes.length, sha256: sha256Hex(bytes), contentSha256: null };
}

/** The `.sha256` companion of a data file, when the client wants one; put in place right after the data file. */
export async function placeChecksumFile(
  folder: RemoteFolder,
  clientId: string,
  settings: SftpDeliverySettings,
  file: { readonly deliveredSha256: string; readonly fileName: string },
  logger: Logger,
): Promise<void> {
  if (settings.checksumFile) await placeFile(folder, clientId, checksumPlacement({ sha256: file.deliveredSha256 }, file.fileName), logger);
}

/** For a plain CSV the built file's sha256 (when the caller knows it) is what the upload must match. */
export function dataPlacement(file: LocalFile, name: string, builtSha256: string | undefined): Placement {
  return { name, source: { path: file.path }, bytes: file.bytes, sha256: file.sha256 ?? builtSha256 ?? null, contentSha256: file.contentSha256 };
}

/** The built file as it is sent (gzipped, encrypted when the client wants it), checked against the built sha256. */
export async function prepareBuiltFile(
  built: { readonly clientId: string; readonly localPath: string; readonly fileName: string; readonly sha256?: string | undefined } & FileTransforms,
  signal: AbortSignal | undefined,
  progress: (bytes: number) => void,
): Promise<LocalFile> {
  let file: LocalFile;
  try {
    file = await prepareLocalFile(built.localPath, built.fileName, { gzip: built.gzip, pgp: built.pgp, signal, onBytes: progress });
  } catch (error) {
    if (signal?.aborted) throw abortReason(signal);
    const code = (error as NodeJS.ErrnoException).code ?? describeForLog(error).message;
    if (code === 'ENOENT') throw new BuiltFileMissingError(built.clientId, built.localPath);
    throw new Error(`client "${built.clientId}": the built file ${built.localPath} cannot be read for delivery (${code})`, { cause: error });
  }
  if (file.csvSha256 !== null && built.sha256 !== undefined && file.csvSha256 !== built.sha256) {
    await file.dispose();
    throw new UploadVerificationError(built.clientId, built.localPath, `the local file has sha256 ${file.csvSha256}, not the built file's ${built.sha256}`);
  }
  return file;
}

/** Runs `work` with the client's PGP keys read and checked (pgp.ts), or with null when the client has no `delivery.pgp`; the keyring is always removed. */
export async function withPgpKeyring<T>(
  target: { readonly clientId: string; readonly settings: SftpDeliverySettings },
  options: Pick<DeliveryOptions, 'env'>,
  work: (pgp: PgpKeyring | null) => Promise<T>,
): Promise<T> {
  if (!target.settings.pgp) return work(null);
  const keyring = await openPgpKeyring(target.clientId, target.settings.pgp, options.env ?? process.env);
  try {
    return await work(keyring);
  } finally {
    await keyring.dispose();
  }
}

/**
 * Resolves the client's credentials, opens one SFTP session, checks the folder and runs
 * `work` on it; the session is always closed.
 */
export async function withRemoteFolder<T>(
  target: { readonly clientId: string; readonly settings: SftpDeliverySettings },
  options: DeliveryOptions,
  work: (folder: RemoteFolder, logger: Logger, progress: (bytes: number) => void) => Promise<T>,
): Promise<T> {
  const { clientId, settings } = target;
  options.signal?.throwIfAborted();
  const logger = (options.logger ?? createSilentLogger()).child({ client: clientId, host: settings.host, port: settings.port, remoteDir: settings.remoteDir });
  const credentials = await resolveCredentials(clientId, settings.auth, options.env ?? process.env);
  const progress = throttle(options.onProgress);
  const session = await SftpSession.open({ clientId, settings }, credentials, {
    connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_SFTP_TIMEOUTS.connectTimeoutMs,
    operationTimeoutMs: options.operationTimeoutMs ?? DEFAULT_SFTP_TIMEOUTS.operationTimeoutMs,
    signal: options.signal,
    logger,
  });
  try {
    const folder = new RemoteFolder(session, clientId, settings, logger, progress, options.signal);
    await folder.checkExists();
    return await work(folder, logger, progress);
  } finally {
    await session.close();
  }
}

/** Delivers one file (and its checksum companion when the client wants one); see the module comment. */
export async function deliverFile(request: DeliveryRequest, options: DeliveryOptions = {}): Promise<DeliveryResult> {
  options.signal?.throwIfAborted();
  checkFileName(request.clientId, request.fileName);
  return withRemoteFolder(request, options, (folder, logger, progress) =>
    withPgpKeyring(request, options, async (pgp) => {
      const file = await prepareBuiltFile({ ...request, gzip: request.settings.gzip, pgp }, options.signal, progress);
      try {
        const data = await placeFile(folder, request.clientId, dataPlacement(file, file.name, request.sha256), logger);
        const checksum = request.settings.checksumFile ? await placeFile(folder, request.clientId, checksumPlacement(data, file.name), logger) : null;
        return { ...data, checksumPath: checksum?.remotePath ?? null };
      } finally {
        await file.dispose();
      }
    }),
  );
}
