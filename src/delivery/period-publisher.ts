/**
 * Publishes a period's built file exactly once [SPEC §6, §7], following the protocol in
 * domain/publication.ts: reconcile what earlier attempts left `publishing`, decide, then
 * upload, record the intent, take the final name without ever replacing a file, record it
 * delivered. The caller holds the period's lock (db/period-lock.ts) for the whole call, and
 * the ledger it passes writes through that lock.
 */
import { RemoteFileConflictError } from '../domain/errors.js';
import { revisionFileName } from '../domain/file-name.js';
import { decidePublication, judgeIntent, type PeriodFile, type PublicationLedger, type PublishingFile } from '../domain/publication.js';
import { remoteTemporaryMaxAgeMs } from '../domain/leftovers.js';
import type { SftpDeliverySettings } from '../domain/types.js';
import { DEFAULT_RUN_POLICY } from '../config/env.js';
import type { Logger } from '../observability/logger.js';
import type { RemoteFolder } from './remote-folder.js';
import {
  checkFileName,
  checksumName,
  checksumPlacement,
  dataPlacement,
  placeFile,
  prepareBuiltFile,
  withRemoteFolder,
  type DeliveryOptions,
} from './sftp-delivery.js';

export interface PeriodPublishRequest {
  readonly clientId: string;
  readonly settings: SftpDeliverySettings;
  /** The built CSV on this host. */
  readonly localPath: string;
  /** Name of revision 1 (the period's planned file name); later revisions derive theirs. */
  readonly baseFileName: string;
  /** sha256 and rows of the built CSV. */
  readonly sha256: string;
  readonly rowCount: number;
  readonly run: { readonly workflowId: string; readonly runId: string };
  readonly force: boolean;
  /**
   * Age after which a temporary file of another of the client's periods, recorded by no ledger
   * row, is removed (remoteTemporaryMaxAgeMs); the default delivery deadline's when absent.
   */
  readonly temporaryMaxAgeMs?: number;
}

export interface PeriodPublishResult {
  /** delivered: this run's file is on the server (now, or by an earlier attempt of this run). */
  readonly status: 'delivered' | 'already-delivered' | 'unchanged';
  readonly file: PeriodFile;
  /** Whether the file went up in this call (false: found in place, or nothing to do). */
  readonly uploaded: boolean;
}

/** Judges one revision left `publishing` and records the verdict; nothing recorded is uploaded again. */
async function reconcile(
  folder: RemoteFolder,
  ledger: PublicationLedger,
  file: PeriodFile,
  settings: SftpDeliverySettings,
  clientId: string,
  logger: Logger,
): Promise<void> {
  const expected = { bytes: file.bytes, sha256: file.deliveredSha256, contentSha256: settings.gzip ? file.sha256 : null };
  const final = (await folder.compare(file.remotePath, expected)).verdict;
  const temporarySize = file.temporaryPath === null ? null : await folder.sizeOf(file.temporaryPath);
  const temporary = temporarySize === null ? 'absent' : temporarySize === file.bytes ? 'complete' : 'incomplete';
  const verdict = judgeIntent({ final: final === 'absent' ? 'absent' : final === 'same' ? 'recorded-bytes' : 'other-bytes', temporary });
  const log = logger.child({ revision: file.revision, remotePath: file.remotePath, verdict });
  const removeTemporary = async () => {
    if (file.temporaryPath !== null && temporary !== 'absent') await folder.removeQuietly(file.temporaryPath);
  };
  switch (verdict) {
    case 'delivered':
      await removeTemporary();
      await placeCompanion(folder, clientId, settings, file, logger);
      await ledger.markDelivered(file.revision, 'found in place by a later attempt');
      log.info('an earlier attempt had published this revision; recorded delivered');
      return;
    case 'finish-rename': {
      const how = await folder.publish(file.temporaryPath as string, file.remotePath);
      // Something took the name between the look and the rename: judge again with what is there now.
      if (how === 'exists') return reconcile(folder, ledger, file, settings, clientId, logger);
      await placeCompanion(folder, clientId, settings, file, logger);
      await ledger.markDelivered(file.revision, 'renamed into place by a later attempt');
      log.info('an earlier attempt had uploaded and verified this revision; renamed it into place');
      return;
    }
    case 'picked-up':
      await ledger.markDelivered(file.revision, 'published by an earlier attempt and since taken away by the receiver');
      log.info('an earlier attempt published this revision and the receiver has taken it; recorded delivered, not sent again');
      return;
    case 'abandon':
      await removeTemporary();
      await ledger.markAbandoned(
        file.revision,
        final === 'other' ? 'another file stands under this name' : 'the verified upload is no longer complete on the server',
      );
      log.warn('revision abandoned; its number is not used again');
      return;
  }
}

async function placeCompanion(
  folder: RemoteFolder,
  clientId: string,
  settings: SftpDeliverySettings,
  file: Pick<PeriodFile, 'deliveredSha256' | 'fileName'>,
  logger: Logger,
): Promise<void> {
  if (settings.checksumFile) await placeFile(folder, clientId, checksumPlacement({ sha256: file.deliveredSha256 }, file.fileName), logger);
}

/**
 * Every name a file of the period can have on the server: each revision up to the next one to
 * publish, gzipped or not (the setting may have changed), and their checksum companions.
 */
function periodNames(baseFileName: string, files: readonly PeriodFile[]): ReadonlySet<string> {
  const names = new Set<string>();
  const nextRevision = Math.max(0, ...files.map((file) => file.revision)) + 1;
  for (let revision = 1; revision <= nextRevision; revision++) {
    for (const data of [revisionFileName(baseFileName, revision), `${revisionFileName(baseFileName, revision)}.gz`]) {
      names.add(data);
      names.add(checksumName(data));
    }
  }
  return names;
}

function result(status: PeriodPublishResult['status'], file: PeriodFile, uploaded = false): PeriodPublishResult {
  return { status, file, uploaded };
}

/** Publishes the period's built file; see the module comment. */
export async function publishPeriodFile(request: PeriodPublishRequest, ledger: PublicationLedger, options: DeliveryOptions): Promise<PeriodPublishResult> {
  const { clientId, settings } = request;
  const decision = { runId: request.run.runId, force: request.force, sha256: request.sha256 };
  const before = await ledger.files();
  // Settled without the server: a retry of a run that already delivered, or nothing to do.
  if (!before.some((file) => file.status === 'publishing')) {
    const early = decidePublication(before, decision);
    if (early.kind === 'delivered-by-this-run') return result('delivered', early.file);
    if (early.kind !== 'publish') return result(early.kind, early.file);
  }
  return withRemoteFolder(request, options, async (folder, logger, progress) => {
    for (const file of before.filter((candidate) => candidate.status === 'publishing')) {
      await reconcile(folder, ledger, file, settings, clientId, logger);
    }
    const reconciled = await ledger.files();
    // What crashed attempts and runs that gave up left, of this period or of the client's others.
    const names = periodNames(request.baseFileName, reconciled);
    await folder.removeLeftoverTemporaries({
      ofThisPeriod: (name) => names.has(name),
      recorded: new Set(await ledger.recordedTemporaries()),
      nowMs: Date.now(),
      maxAgeMs: request.temporaryMaxAgeMs ?? remoteTemporaryMaxAgeMs(DEFAULT_RUN_POLICY),
    });
    const decided = decidePublication(reconciled, decision);
    if (decided.kind === 'delivered-by-this-run') return result('delivered', decided.file);
    if (decided.kind !== 'publish') return result(decided.kind, decided.file);

    const local = await prepareBuiltFile(
      { clientId, localPath: request.localPath, fileName: request.baseFileName, gzip: settings.gzip, sha256: request.sha256 },
      options.signal,
      progress,
    );
    try {
      for (let revision = decided.revision; ; revision++) {
        const fileName = `${revisionFileName(request.baseFileName, revision)}${settings.gzip ? '.gz' : ''}`;
        checkFileName(clientId, fileName);
        const item = dataPlacement(local, fileName, request.sha256);
        const record: PublishingFile = {
          revision,
          fileName,
          remotePath: folder.pathOf(fileName),
          temporaryPath: null,
          sha256: request.sha256,
          deliveredSha256: local.sha256 ?? request.sha256,
          bytes: local.bytes,
          rowCount: request.rowCount,
          workflowId: request.run.workflowId,
          runId: request.run.runId,
        };
        const log = logger.child({ revision, remotePath: record.remotePath });
        // Every recorded intent is resolved by now, so any temporary file of this name is stale.
        await folder.removeStaleTemporaries(fileName);
        const expected = { bytes: record.bytes, sha256: record.deliveredSha256, contentSha256: local.contentSha256 };
        const conflict = () =>
          new RemoteFileConflictError(clientId, record.remotePath, 'the ledger has no record of that file; a forced rerun delivers the next revision');
        const delivered = async (note: string) => {
          await placeCompanion(folder, clientId, settings, record, logger);
          log.info('this file already stands under its name; recorded delivered, nothing uploaded');
          return result('delivered', await ledger.markDelivered(revision, note));
        };
        const there = (await folder.compare(record.remotePath, expected)).verdict;
        if (there === 'same') {
          await ledger.recordPublishing(record);
          return delivered('found in place with these bytes');
        }
        if (there === 'other') {
          if (!request.force) throw conflict();
          await ledger.recordSkippedName(record, 'a file the ledger does not know stands under this name');
          log.warn('a file the ledger does not know stands under this name; delivering the next revision');
          continue;
        }
        const { temporaryPath } = await folder.uploadVerified(item);
        await ledger.recordPublishing({ ...record, temporaryPath });
        const how = await folder.publish(temporaryPath, record.remotePath);
        if (how === 'exists') {
          // Only an attempt that lost its lock, or someone else, can have put a file there meanwhile.
          await folder.removeQuietly(temporaryPath);
          if ((await folder.compare(record.remotePath, expected)).verdict === 'same') return delivered('found in place with these bytes at the rename');
          await ledger.markAbandoned(revision, 'another file took this name before the rename');
          if (!request.force) throw conflict();
          continue;
        }
        await placeCompanion(folder, clientId, settings, record, logger);
        const file = await ledger.markDelivered(revision, null);
        log.info({ bytes: file.bytes, sha256: file.deliveredSha256, publish: how }, 'delivered file');
        return result('delivered', file, true);
      }
    } finally {
      await local.dispose();
    }
  });
}
