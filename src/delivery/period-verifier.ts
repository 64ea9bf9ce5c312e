/**
 * What a client's SFTP server holds of one period, judged against the ledger (the `verify`
 * command): lists the delivery folder, hashes every file the ledger accounts for and every
 * name that belongs to the period, and leaves the verdicts to domain/verification.ts. It only
 * reads: nothing on the server or in the ledger changes.
 */
import type { PeriodFile } from '../domain/publication.js';
import type { SftpDeliverySettings } from '../domain/types.js';
import { expectedRemoteFiles, periodFileMatcher, verifyPeriodFiles, type FileDigest, type VerificationLine } from '../domain/verification.js';
import { sha256Hex, temporaryTargetOf } from './remote-folder.js';
import { withRemoteFolder, type DeliveryOptions } from './sftp-delivery.js';

export interface PeriodVerifyRequest {
  readonly clientId: string;
  readonly settings: SftpDeliverySettings;
  /** Name of revision 1 under the client's template; later revisions and companions derive theirs. */
  readonly baseFileName: string;
  /** The ledger's rows for the period (report_files), every status. */
  readonly files: readonly PeriodFile[];
}

/** One line per file of the period; see verifyPeriodFiles. */
export async function verifyPeriodDelivery(request: PeriodVerifyRequest, options: DeliveryOptions): Promise<VerificationLine[]> {
  const expected = expectedRemoteFiles(request.files, request.settings, (text) => sha256Hex(Buffer.from(text, 'utf8')));
  return withRemoteFolder(request, options, async (folder) => {
    const belongs = periodFileMatcher(request.baseFileName, request.files);
    const listed = (await folder.list()).flatMap((entry) => {
      const temporaryOf = temporaryTargetOf(entry);
      return belongs(temporaryOf ?? entry) ? [{ path: folder.pathOf(entry), temporaryOf }] : [];
    });
    const observed = new Map<string, FileDigest | null>();
    const look = async (path: string, gunzip: boolean) => {
      if (!observed.has(path)) observed.set(path, await folder.digest(path, { gunzip }));
    };
    for (const file of expected) await look(file.path, file.digest.contentSha256 !== null);
    for (const entry of listed) await look(entry.path, false);
    return verifyPeriodFiles({ files: request.files, expected, listed, observed });
  });
}
