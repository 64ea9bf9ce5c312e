/**
 * After a revision is delivered, for clients whose late data keeps rows (restate, or
 * corrections): how it differs from the revision before it (rows added and removed, on the
 * run's ledger row), its corrections file when the client wants one, and its rows kept in place
 * of the previous revision's for the next time.
 *
 * Why kept rows: a delivered file's rows cannot be derived again once its source has changed
 * (a deleted event, a renamed agent), so the only way to say what a revision changed is to keep
 * the revision before it. Only the newest delivered revision of a period is kept, gzip, and only
 * while the period is inside its lookback (the drift check drops older ones).
 *
 * The corrections file goes up after the data file, like the `.sha256` companion, through the
 * same put-in-place step that never replaces a file. Every step can be run again: a retry finds
 * the new revision's rows kept (and the counts recorded with them in one transaction) and stops.
 */
import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { Writable } from 'node:stream';
import type { Knex } from 'knex';
import { revisionFileName } from '../domain/file-name.js';
import { keepsSnapshots } from '../domain/late-data.js';
import type { ClientConfig, SftpDeliverySettings } from '../domain/types.js';
import { loadSnapshot, previousDelivered, saveSnapshot } from '../db/late-data.js';
import type { PeriodKey, RunKey } from '../db/ledger.js';
import { placeFile, withRemoteFolder, type DeliveryOptions } from '../delivery/sftp-delivery.js';
import type { Logger } from '../observability/logger.js';
import { correctionsFileName, diffReportFiles, type RowChanges } from '../report/corrections.js';

export interface DeliveredRevision {
  readonly revision: number;
  /** sha256 and rows of the delivered CSV. */
  readonly sha256: string;
  readonly rowCount: number;
}

export interface RevisionRowsRequest {
  readonly client: ClientConfig;
  readonly settings: SftpDeliverySettings;
  readonly key: PeriodKey;
  readonly run: RunKey;
  /** The built CSV on this host, with its sha256. */
  readonly localPath: string;
  readonly localSha256: string;
  /** The period's planned file name (revision 1). */
  readonly baseFileName: string;
  readonly delivered: DeliveredRevision;
}

export type RevisionRowsOutcome =
  | { readonly kind: 'not-kept'; readonly reason: string }
  | { readonly kind: 'kept'; readonly changes: RowChanges | null; readonly correctionsPath: string | null };

async function gzipFile(path: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await pipeline(
    createReadStream(path),
    createGzip(),
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk);
        done();
      },
    }),
  );
  return Buffer.concat(chunks);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** See the module comment. `delivery` carries what reaching the client's server needs (secrets, timeouts, logger). */
export async function keepRevisionRows(
  knex: Knex,
  request: RevisionRowsRequest,
  delivery: DeliveryOptions & { readonly logger: Logger },
): Promise<RevisionRowsOutcome> {
  const { client, key, delivered } = request;
  if (!keepsSnapshots(client.lateData)) return { kind: 'not-kept', reason: 'late data keeps no rows for this client' };
  const kept = await loadSnapshot(knex, key);
  if (kept && kept.revision >= delivered.revision) return { kind: 'kept', changes: null, correctionsPath: null };
  // A rebuild on another host after a lost one may hold other bytes than the ones delivered.
  if (request.localSha256 !== delivered.sha256 || !(await exists(request.localPath)))
    return { kind: 'not-kept', reason: 'the delivered bytes are no longer on this host' };
  let changes: RowChanges | null = null;
  let correctionsPath: string | null = null;
  const previous = delivered.revision > 1 ? await previousDelivered(knex, key, delivered.revision) : null;
  if (previous && kept && kept.revision === previous.revision && kept.sha256 === previous.sha256) {
    const name = correctionsFileName(revisionFileName(request.baseFileName, delivered.revision));
    const localCorrections = client.lateData.corrections ? join(dirname(request.localPath), name) : undefined;
    changes = await diffReportFiles({ gzip: kept.csvGzip }, { path: request.localPath }, localCorrections);
    if (localCorrections) {
      try {
        const bytes = (await stat(localCorrections)).size;
        const placed = await withRemoteFolder({ clientId: client.id, settings: request.settings }, delivery, (folder, logger) =>
          placeFile(folder, client.id, { name, source: { path: localCorrections }, bytes, sha256: null, contentSha256: null }, logger),
        );
        correctionsPath = placed.remotePath;
      } finally {
        await rm(localCorrections, { force: true });
      }
    }
  }
  const csvGzip = await gzipFile(request.localPath);
  await saveSnapshot(knex, key, { revision: delivered.revision, sha256: delivered.sha256, rowCount: delivered.rowCount, csvGzip }, request.run, changes);
  return { kind: 'kept', changes, correctionsPath };
}
