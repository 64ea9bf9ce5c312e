/**
 * Publishes a period's built file exactly once [SPEC §6, §7], following the protocol in
 * domain/publication.ts: reconcile what earlier attempts left `publishing`, decide, then
 * upload, record the intent, take the final name without ever replacing a file, record it
 * delivered. The caller holds the period's lock (db/period-lock.ts) for the whole call, and
 * the ledger it passes writes through that lock.
 *
 * PGP output differs at every encryption (a new session key): whether a period changed is
 * decided by the sha256 of its CSV, and an upload already made is recognised on the server
 * only by the delivered sha256 and size the ledger recorded for it.
 *
 * A client with a manifest or parts gets a revision of several files (revision-publisher.ts).
 */
import { RemoteFileConflictError } from '../domain/errors.js';
import { GZIP_SUFFIX, isPeriodFileName, revisionFileName } from '../domain/file-name.js';
import { decidePublication, judgeIntent, type PeriodFile, type PublicationLedger, type PublishingFile } from '../domain/publication.js';
import { remoteTemporaryMaxAgeMs } from '../domain/leftovers.js';
import type { SftpDeliverySettings } from '../domain/types.js';
import { DEFAULT_RUN_POLICY } from '../config/env.js';
import type { Logger } from '../observability/logger.js';
import { deliveredFileName } from './local-file.js';
import type { RemoteFolder } from './remote-folder.js';
import { finishRevision, prepareRevisionData, publishRevisionFiles, type RevisionRequest } from './revision-publisher.js';
import { checkFileName, dataPlacement, placeChecksumFile, prepareBuiltFile, withPgpKeyring, withRemoteFolder, type DeliveryOptions } from './sftp-delivery.js';

/** One request for both paths: a single file here, a revision of several in revision-publisher.ts. */
export type PeriodPublishRequest = RevisionRequest;

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
  if (file.parts.length > 0) await finishRevision(folder, ledger, file, { clientId, settings, logger }, 'completed by a later attempt');
  else await reconcileOne(folder, ledger, file, settings, clientId, logger);
}

async function reconcileOne(
  folder: RemoteFolder,
  ledger: PublicationLedger,
  file: PeriodFile,
  settings: SftpDeliverySettings,
  clientId: string,
  logger: Logger,
): Promise<void> {
  // Judged by what was recorded, not by today's settings: a gzip may also be recognised by its CSV, an encrypted file only by its own bytes.
  const expected = { bytes: file.bytes, sha256: file.deliveredSha256, contentSha256: file.fileName.endsWith(GZIP_SUFFIX) ? file.sha256 : null };
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
      await placeChecksumFile(folder, clientId, settings, file, logger);
      await ledger.markDelivered(file.revision, 'found in place by a later attempt');
      log.info('an earlier attempt had published this revision; recorded delivered');
      return;
    case 'finish-rename': {
      const how = await folder.publish(file.temporaryPath as string, file.remotePath);
      // Something took the name between the look and the rename: judge again with what is there now.
      if (how === 'exists') return reconcileOne(folder, ledger, file, settings, clientId, logger);
      await placeChecksumFile(folder, clientId, settings, file, logger);
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
    const unsettled = before.filter((candidate) => candidate.status === 'publishing');
    for (const file of unsettled) {
      await reconcile(folder, ledger, file, settings, clientId, logger);
    }
    // Only this attempt writes the period's rows while it holds the lock: with nothing to reconcile, they are as read.
    const reconciled = unsettled.length > 0 ? await ledger.files() : before;
    // What crashed attempts and runs that gave up left, of this period or of the client's others.
    await folder.removeLeftoverTemporaries({
      ofThisPeriod: (name) => isPeriodFileName(name, request.baseFileName),
      recorded: new Set(await ledger.recordedTemporaries()),
      nowMs: Date.now(),
      maxAgeMs: request.temporaryMaxAgeMs ?? remoteTemporaryMaxAgeMs(DEFAULT_RUN_POLICY),
    });
    const decided = decidePublication(reconciled, decision);
    if (decided.kind === 'delivered-by-this-run') return result('delivered', decided.file);
    if (decided.kind !== 'publish') return result(decided.kind, decided.file);

    if (settings.manifest === true || settings.maxRowsPerFile !== undefined) {
      const data = await withPgpKeyring(request, options, (pgp) => prepareRevisionData(request, pgp, options.signal, progress));
      try {
        const published = await publishRevisionFiles(folder, ledger, request, decided.revision, data, logger);
        return result('delivered', published.file, published.uploaded);
      } finally {
        await data.dispose();
      }
    }

    const local = await withPgpKeyring(request, options, (pgp) =>
      prepareBuiltFile(
        { clientId, localPath: request.localPath, fileName: request.baseFileName, gzip: settings.gzip, pgp, sha256: request.sha256 },
        options.signal,
        progress,
      ),
    );
    try {
      for (let revision = decided.revision; ; revision++) {
        const fileName = deliveredFileName(revisionFileName(request.baseFileName, revision), settings);
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
          await placeChecksumFile(folder, clientId, settings, record, logger);
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
        await placeChecksumFile(folder, clientId, settings, record, logger);
        const file = await ledger.markDelivered(revision, null);
        log.info({ bytes: file.bytes, sha256: file.deliveredSha256, publish: how }, 'delivered file');
        return result('delivered', file, true);
      }
    } finally {
      await local.dispose();
    }
  });
}
