/**
 * The files of each period (`report_files`, one row per revision): what has been published,
 * what is being published, and which revision numbers were given up [SPEC §6, §7].
 */
import type { Knex } from 'knex';
import type { PeriodFile, PeriodFileStatus, PublicationLedger, PublishingFile } from '../domain/publication.js';
import type { Frequency, LocalDate } from '../domain/types.js';
import type { PeriodKey } from './ledger.js';
import type { PeriodLock } from './period-lock.js';

const FILES = 'report_files';
const RUNS = 'report_runs';

interface FileRow {
  readonly revision: number;
  readonly status: PeriodFileStatus;
  readonly file_name: string;
  readonly remote_path: string;
  readonly temporary_path: string | null;
  readonly sha256: string;
  readonly delivered_sha256: string;
  readonly bytes: number;
  readonly row_count: number;
  readonly workflow_id: string;
  readonly run_id: string;
  readonly note: string | null;
}

function toPeriodFile(row: FileRow): PeriodFile {
  return {
    revision: row.revision,
    status: row.status,
    fileName: row.file_name,
    remotePath: row.remote_path,
    temporaryPath: row.temporary_path,
    sha256: row.sha256,
    deliveredSha256: row.delivered_sha256,
    bytes: Number(row.bytes),
    rowCount: Number(row.row_count),
    workflowId: row.workflow_id,
    runId: row.run_id,
    note: row.note,
  };
}

function periodWhere(key: PeriodKey) {
  return { client_id: key.clientId, frequency: key.frequency, period_start: key.periodStart };
}

/** Every revision of the period, ascending. */
export async function listPeriodFiles(db: Knex | Knex.Transaction, key: PeriodKey): Promise<PeriodFile[]> {
  const rows = (await db(FILES).where(periodWhere(key)).orderBy('revision')) as FileRow[];
  return rows.map(toPeriodFile);
}

/** The newest delivered revision of a period, if any. */
export async function latestDeliveredFile(knex: Knex, key: PeriodKey): Promise<PeriodFile | null> {
  const row = (await knex(FILES)
    .where({ ...periodWhere(key), status: 'delivered' })
    .orderBy('revision', 'desc')
    .first()) as FileRow | undefined;
  return row ? toPeriodFile(row) : null;
}

/** Period starts (local dates) of the client's delivered periods in [from, to]. */
export async function deliveredPeriodStarts(knex: Knex, clientId: string, frequency: Frequency, from: LocalDate, to: LocalDate): Promise<LocalDate[]> {
  const rows = (await knex(FILES)
    .distinct('period_start')
    .where({ client_id: clientId, frequency, status: 'delivered' })
    .whereBetween('period_start', [from, to])
    .orderBy('period_start')) as { period_start: string }[];
  return rows.map((row) => row.period_start);
}

function insertRow(key: PeriodKey, file: PublishingFile, status: PeriodFileStatus, note: string | null) {
  return {
    ...periodWhere(key),
    revision: file.revision,
    status,
    file_name: file.fileName,
    remote_path: file.remotePath,
    temporary_path: status === 'publishing' ? file.temporaryPath : null,
    sha256: file.sha256,
    delivered_sha256: file.deliveredSha256,
    bytes: file.bytes,
    row_count: file.rowCount,
    workflow_id: file.workflowId,
    run_id: file.runId,
    note,
  };
}

/**
 * The period's ledger as the publisher sees it, every write through the lock's connection:
 * a write that commits was made while this attempt held the period.
 */
export function createPublicationLedger(lock: PeriodLock, key: PeriodKey): PublicationLedger {
  return {
    files: () => lock.transaction((trx) => listPeriodFiles(trx, key)),

    recordPublishing: (file) =>
      lock.transaction(async (trx) => {
        await trx(FILES).insert(insertRow(key, file, 'publishing', null));
      }),

    recordedTemporaries: () =>
      lock.transaction(
        async (trx) =>
          (await trx(FILES).where({ client_id: key.clientId, status: 'publishing' }).whereNotNull('temporary_path').pluck('temporary_path')) as string[],
      ),

    recordSkippedName: (file, note) =>
      lock.transaction(async (trx) => {
        await trx(FILES).insert(insertRow(key, file, 'abandoned', note));
      }),

    markAbandoned: (revision, note) =>
      lock.transaction(async (trx) => {
        await trx(FILES)
          .where({ ...periodWhere(key), revision, status: 'publishing' })
          .update({ status: 'abandoned', temporary_path: null, note, updated_at: trx.fn.now() });
      }),

    // The file and the run that published it become delivered together, whichever attempt or
    // later run finds out; a run already marked failed or cancelled keeps its last error.
    markDelivered: (revision, note) =>
      lock.transaction(async (trx) => {
        const [row] = (await trx(FILES)
          .where({ ...periodWhere(key), revision })
          .whereIn('status', ['publishing', 'delivered'])
          .update({ status: 'delivered', temporary_path: null, note, delivered_at: trx.raw('coalesce(delivered_at, now())'), updated_at: trx.fn.now() })
          .returning('*')) as FileRow[];
        if (!row) throw new Error(`${key.clientId}/${key.frequency}/${key.periodStart}: revision ${revision} is not publishing or delivered`);
        const file = toPeriodFile(row);
        await trx(RUNS)
          .where({ workflow_id: file.workflowId, run_id: file.runId })
          .whereNot({ status: 'delivered' })
          .update({
            status: 'delivered',
            revision: file.revision,
            row_count: file.rowCount,
            bytes: file.bytes,
            sha256: file.sha256,
            file_name: file.fileName,
            remote_path: file.remotePath,
            finished_at: trx.raw('coalesce(finished_at, now())'),
            updated_at: trx.fn.now(),
          });
        return file;
      }),
  };
}
