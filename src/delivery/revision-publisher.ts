/**
 * Publishes a revision of several files (issue 12): its data file, or the parts of a split
 * file (`delivery.maxRowsPerFile`), then the manifest's signature when the client signs, and
 * the manifest last (`delivery.manifest`), by the protocol in domain/publication.ts:
 *
 * 1. every name is looked at: unknown bytes under any of them is a conflict (unforced) or
 *    skips the revision number (forced), as for a single file;
 * 2. every file not already there is uploaded and verified under a temporary name, and every
 *    intent is recorded in one transaction: nothing has its final name yet;
 * 3. the files take their names in order, each recorded delivered as it does, the manifest
 *    last: a receiver that sees the manifest finds every data file complete under its name.
 *
 * Step 3 is finishRevision, which is also how a later attempt reconciles a revision left
 * `publishing`: it judges each part not yet delivered from the server and finishes the
 * renames, never uploading a recorded part again. The caller holds the period's lock.
 */
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BuiltFileMissingError, InvalidClientSettingError, RemoteFileConflictError, UploadVerificationError } from '../domain/errors.js';
import { MAX_PARTS_PER_REVISION, partCount, partFileName, revisionFileNames } from '../domain/file-name.js';
import { renderManifest } from '../domain/manifest.js';
import { judgeIntent, type PartKind, type PeriodFile, type PeriodFilePart, type PublicationLedger, type PublishingPart } from '../domain/publication.js';
import type { Period, SftpDeliverySettings } from '../domain/types.js';
import type { Logger } from '../observability/logger.js';
import { preparedTemporaryName, type LocalFile } from './local-file.js';
import { sha256Hex, type ExpectedBytes, type Placement, type RemoteFolder } from './remote-folder.js';
import { checkFileName, dataPlacement, placeChecksumFile, prepareBuiltFile } from './sftp-delivery.js';
import { splitCsvFile, type SplitResult } from './split-file.js';
import type { PgpKeyring } from './pgp.js';

/**
 * Makes a detached signature of the manifest's bytes. The PGP module provides it when the
 * client has `delivery.pgp.signingKey`; the signature goes up as `{manifest}.sig` before the manifest.
 */
export type ManifestSigner = (manifest: Buffer) => Promise<Buffer>;

/** One data file on this host, prepared for sending (gzipped when the client wants gzip). */
interface PreparedDataFile {
  readonly local: LocalFile;
  /** sha256 of its CSV. */
  readonly csvSha256: string;
  readonly rowCount: number;
}

/** The data files of the revision to publish, whatever number it gets. */
export interface PreparedData {
  readonly files: readonly PreparedDataFile[];
  /** Cut into parts (`…_part001…`), or the built file whole. */
  readonly split: boolean;
  /** What preparing appended to a CSV's name (`.gz`, or nothing). */
  readonly suffix: string;
  dispose(): Promise<void>;
}

/** What a period's publication is asked to deliver: the built CSV, whose it is and the run asking. */
export interface RevisionRequest {
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
  /** The period the file covers, for the manifest. */
  readonly period: Period;
  /** Signs the manifest, when the client has a signing key. */
  readonly signManifest?: ManifestSigner | undefined;
  /**
   * Age after which a temporary file of another of the client's periods, recorded by no ledger
   * row, is removed (remoteTemporaryMaxAgeMs); the default delivery deadline's when absent.
   */
  readonly temporaryMaxAgeMs?: number;
}

/** Splits the built file when the client wants parts, and prepares each data file as a single file is prepared. */
export async function prepareRevisionData(
  request: RevisionRequest,
  pgp: PgpKeyring | null,
  signal: AbortSignal | undefined,
  progress: (bytes: number) => void,
): Promise<PreparedData> {
  const { clientId, settings } = request;
  const maxRows = settings.maxRowsPerFile;
  if (maxRows === undefined) {
    const local = await prepareBuiltFile(
      { clientId, localPath: request.localPath, fileName: request.baseFileName, gzip: settings.gzip, pgp, sha256: request.sha256 },
      signal,
      progress,
    );
    return {
      files: [{ local, csvSha256: request.sha256, rowCount: request.rowCount }],
      split: false,
      suffix: local.name.slice(request.baseFileName.length),
      dispose: () => local.dispose(),
    };
  }
  const parts = partCount(request.rowCount, maxRows);
  if (parts > MAX_PARTS_PER_REVISION) {
    throw new InvalidClientSettingError(
      clientId,
      'delivery.maxRowsPerFile',
      `${maxRows} (${request.rowCount} rows would make ${parts} parts)`,
      `at most ${MAX_PARTS_PER_REVISION} parts: for this period at least ${Math.ceil(request.rowCount / MAX_PARTS_PER_REVISION)} rows per file`,
    );
  }
  const split = await splitBuiltFile(request, maxRows, signal, progress);
  const prepared: PreparedDataFile[] = [];
  const dispose = async () => {
    await Promise.all(prepared.map((file) => file.local.dispose()));
    await split.dispose();
  };
  try {
    for (const [index, part] of split.parts.entries()) {
      const local = await prepareBuiltFile(
        { clientId, localPath: part.path, fileName: partFileName(request.baseFileName, index + 1), gzip: settings.gzip, pgp, sha256: part.sha256 },
        signal,
        progress,
      );
      prepared.push({ local, csvSha256: part.sha256, rowCount: part.rowCount });
      // A compressed copy is what is sent: the part's CSV is not needed any more.
      if (local.path !== part.path) await rm(part.path, { force: true });
    }
  } catch (error) {
    await dispose();
    throw error;
  }
  const first = prepared[0] as PreparedDataFile;
  return { files: prepared, split: true, suffix: first.local.name.slice(partFileName(request.baseFileName, 1).length), dispose };
}

/** The built file cut into parts next to it (hidden, unique names), checked to be the built file. */
async function splitBuiltFile(request: RevisionRequest, maxRowsPerFile: number, signal: AbortSignal | undefined, progress: (bytes: number) => void) {
  const folder = dirname(request.localPath);
  let split: SplitResult;
  try {
    split = await splitCsvFile(request.localPath, {
      maxRowsPerFile,
      partPath: (part) => join(folder, preparedTemporaryName(partFileName(request.baseFileName, part))),
      signal,
      onBytes: progress,
    });
  } catch (error) {
    if (signal?.aborted) throw error;
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new BuiltFileMissingError(request.clientId, request.localPath);
    throw error;
  }
  const problem =
    split.sha256 !== request.sha256
      ? `the local file has sha256 ${split.sha256}, not the built file's ${request.sha256}`
      : split.rowCount !== request.rowCount
        ? `the local file has ${split.rowCount} data rows, not the built file's ${request.rowCount}`
        : null;
  if (problem !== null) {
    await split.dispose();
    throw new UploadVerificationError(request.clientId, request.localPath, problem);
  }
  return split;
}

/** One file of the revision: what the ledger records, and what is sent. */
interface RevisionItem {
  readonly part: PublishingPart;
  readonly placement: Placement;
  readonly expected: ExpectedBytes;
}

function bytesItem(part: number, kind: PartKind, name: string, remotePath: string, bytes: Buffer): RevisionItem {
  const sha256 = sha256Hex(bytes);
  return {
    part: { part, kind, fileName: name, remotePath, temporaryPath: null, sha256, deliveredSha256: sha256, bytes: bytes.length, rowCount: null },
    placement: { name, source: { bytes }, bytes: bytes.length, sha256, contentSha256: null },
    expected: { bytes: bytes.length, sha256, contentSha256: null },
  };
}

/** Every file of revision `revision`: the data files, the signature when signing, the manifest last. */
async function revisionItems(
  folder: RemoteFolder,
  request: RevisionRequest,
  data: PreparedData,
  revision: number,
  replaces: PeriodFile | null,
): Promise<{ items: RevisionItem[]; manifestName: string }> {
  const names = revisionFileNames(request.baseFileName, revision, data.suffix, data.split ? data.files.length : null);
  const items = data.files.map((file, index): RevisionItem => {
    const name = names.data[index] as string;
    const deliveredSha256 = file.local.sha256 ?? file.csvSha256;
    return {
      part: {
        part: index + 1,
        kind: 'data',
        fileName: name,
        remotePath: folder.pathOf(name),
        temporaryPath: null,
        sha256: file.csvSha256,
        deliveredSha256,
        bytes: file.local.bytes,
        rowCount: file.rowCount,
      },
      placement: dataPlacement(file.local, name, file.csvSha256),
      expected: { bytes: file.local.bytes, sha256: deliveredSha256, contentSha256: file.local.contentSha256 },
    };
  });
  const manifest = Buffer.from(
    renderManifest({
      clientId: request.clientId,
      period: request.period,
      revision,
      replaces: replaces === null ? null : { revision: replaces.revision, name: replaces.fileName },
      files: items.map(({ part }) => ({
        name: part.fileName,
        rowCount: part.rowCount ?? 0,
        bytes: part.bytes,
        sha256: part.deliveredSha256,
        csvSha256: part.sha256,
      })),
    }),
    'utf8',
  );
  if (request.signManifest) {
    items.push(bytesItem(items.length + 1, 'signature', names.signature, folder.pathOf(names.signature), await request.signManifest(manifest)));
  }
  items.push(bytesItem(items.length + 1, 'manifest', names.manifest, folder.pathOf(names.manifest), manifest));
  for (const item of items) checkFileName(request.clientId, item.part.fileName);
  return { items, manifestName: names.manifest };
}

export type RevisionOutcome =
  | { readonly kind: 'delivered'; readonly file: PeriodFile }
  /** A part's name is taken by other bytes (or its upload is gone): the revision is abandoned before its manifest. */
  | { readonly kind: 'abandoned'; readonly remotePath: string };

interface FinishContext {
  readonly clientId: string;
  readonly settings: SftpDeliverySettings;
  readonly logger: Logger;
}

/** Judges one part from the server and puts it in place; 'abandon' when it cannot be. */
async function settlePart(folder: RemoteFolder, ledger: PublicationLedger, revision: number, part: PeriodFilePart, context: FinishContext) {
  const expected = { bytes: part.bytes, sha256: part.deliveredSha256, contentSha256: part.kind === 'data' && context.settings.gzip ? part.sha256 : null };
  const log = context.logger.child({ revision, part: part.part, remotePath: part.remotePath });
  const placed = async (note: string | null) => {
    if (part.kind === 'data') await placeChecksumFile(folder, context.clientId, context.settings, part, context.logger);
    await ledger.markPartDelivered(revision, part.part, note);
  };
  for (;;) {
    const final = (await folder.compare(part.remotePath, expected)).verdict;
    const temporarySize = part.temporaryPath === null ? null : await folder.sizeOf(part.temporaryPath);
    const temporary = temporarySize === null ? 'absent' : temporarySize === part.bytes ? 'complete' : 'incomplete';
    const verdict = judgeIntent({ final: final === 'absent' ? 'absent' : final === 'same' ? 'recorded-bytes' : 'other-bytes', temporary });
    switch (verdict) {
      case 'delivered':
        if (part.temporaryPath !== null && temporary !== 'absent') await folder.removeQuietly(part.temporaryPath);
        await placed('found in place');
        log.info('part already in place; recorded delivered');
        return 'placed';
      case 'finish-rename': {
        // Something took the name between the look and the rename: judge again with what is there now.
        if ((await folder.publish(part.temporaryPath as string, part.remotePath)) === 'exists') continue;
        await placed(null);
        log.debug({ bytes: part.bytes, sha256: part.deliveredSha256 }, 'part in place');
        return 'placed';
      }
      case 'picked-up':
        await placed('published and since taken away by the receiver');
        log.info('part published earlier and since taken by the receiver; recorded delivered, not sent again');
        return 'placed';
      case 'abandon':
        log.warn({ final, temporary }, 'part cannot be put in place; the revision is abandoned');
        return final === 'other' ? `another file stands under ${part.fileName}` : `the verified upload of ${part.fileName} is no longer complete on the server`;
    }
  }
}

/**
 * Puts every part of a recorded revision in place in order, the manifest last, and records the
 * revision delivered; or abandons it at the first part that cannot be, before its manifest.
 */
export async function finishRevision(
  folder: RemoteFolder,
  ledger: PublicationLedger,
  file: PeriodFile,
  context: FinishContext,
  note: string | null,
): Promise<RevisionOutcome> {
  for (const [index, part] of file.parts.entries()) {
    if (part.status === 'delivered') continue;
    const settled = part.status === 'publishing' ? await settlePart(folder, ledger, file.revision, part, context) : `part ${part.part} was abandoned`;
    if (settled === 'placed') continue;
    for (const rest of file.parts.slice(index)) {
      if (rest.status === 'publishing' && rest.temporaryPath !== null) await folder.removeQuietly(rest.temporaryPath);
    }
    await ledger.markAbandoned(file.revision, settled);
    context.logger.warn({ revision: file.revision, reason: settled }, 'revision abandoned before its manifest; its number is not used again');
    return { kind: 'abandoned', remotePath: part.remotePath };
  }
  const delivered = await ledger.markDelivered(file.revision, note);
  context.logger.info({ revision: delivered.revision, files: file.parts.length, bytes: delivered.bytes }, 'delivered revision, manifest last');
  return { kind: 'delivered', file: delivered };
}

/** Publishes the data as revision `firstRevision` (or the next free one, when forced past unknown files); see the module comment. */
export async function publishRevisionFiles(
  folder: RemoteFolder,
  ledger: PublicationLedger,
  request: RevisionRequest,
  firstRevision: number,
  data: PreparedData,
  logger: Logger,
): Promise<{ readonly file: PeriodFile; readonly uploaded: boolean }> {
  const context = { clientId: request.clientId, settings: request.settings, logger };
  const replaces = (await ledger.files()).filter((file) => file.status === 'delivered').at(-1) ?? null;
  const conflict = (remotePath: string) =>
    new RemoteFileConflictError(request.clientId, remotePath, 'the ledger has no record of that file; a forced rerun delivers the next revision');
  for (let revision = firstRevision; ; revision++) {
    const { items, manifestName } = await revisionItems(folder, request, data, revision, replaces);
    const dataParts = items.filter((item) => item.part.kind === 'data');
    const single = dataParts.length === 1 && !data.split ? dataParts[0] : undefined;
    // The row stands for the revision: its data file when there is one, else its manifest (which pins every part's sha256).
    const stands = single?.part ?? (items.at(-1) as RevisionItem).part;
    const record = {
      revision,
      fileName: single ? single.part.fileName : manifestName,
      remotePath: stands.remotePath,
      temporaryPath: null,
      sha256: request.sha256,
      deliveredSha256: stands.deliveredSha256,
      bytes: dataParts.reduce((sum, item) => sum + item.part.bytes, 0),
      rowCount: request.rowCount,
      workflowId: request.run.workflowId,
      runId: request.run.runId,
    };
    const log = logger.child({ revision, files: items.length });

    // Every recorded intent is resolved by now, so any temporary file of these names is stale.
    await folder.removeStaleTemporariesOf(items.map((item) => item.part.fileName));
    const there: string[] = [];
    for (const item of items) there.push((await folder.compare(item.part.remotePath, item.expected)).verdict);
    const taken = items.find((_, index) => there[index] === 'other');
    if (taken) {
      if (!request.force) throw conflict(taken.part.remotePath);
      await ledger.recordSkippedName(record, `a file the ledger does not know stands under ${taken.part.fileName}`);
      log.warn({ remotePath: taken.part.remotePath }, 'a file the ledger does not know stands under a name of this revision; delivering the next revision');
      continue;
    }

    const parts: PublishingPart[] = [];
    let uploaded = false;
    for (const [index, item] of items.entries()) {
      if (there[index] === 'same') {
        parts.push(item.part);
        continue;
      }
      const { temporaryPath } = await folder.uploadVerified(item.placement);
      parts.push({ ...item.part, temporaryPath });
      uploaded = true;
    }
    await ledger.recordPublishing({ ...record, parts });
    const recorded = (await ledger.files()).find((file) => file.revision === revision) as PeriodFile;
    const outcome = await finishRevision(folder, ledger, recorded, context, null);
    if (outcome.kind === 'delivered') return { file: outcome.file, uploaded };
    if (!request.force) throw conflict(outcome.remotePath);
  }
}
