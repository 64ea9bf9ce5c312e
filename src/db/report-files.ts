/**
 * The files of each period (`report_files`, one row per revision): what has been published,
 * what is being published, and which revision numbers were given up [SPEC §6, §7]. A revision
 * of several files (split parts, manifest, signature) has one `report_file_parts` row per file.
 */
import type { Knex } from 'knex';
import type { PartKind, PeriodFile, PeriodFilePart, PeriodFileStatus, PublicationLedger, PublishingFile, PublishingPart } from '../domain/publication.js';
import type { Frequency, LocalDate } from '../domain/types.js';
import type { PeriodKey } from './ledger.js';
import type { PeriodLock } from './period-lock.js';

const FILES = 'report_files';
const PARTS = 'report_file_parts';
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

interface PartRow {
  readonly revision: number;
  readonly part: number;
  readonly kind: PartKind;
  readonly status: PeriodFileStatus;
  readonly file_name: string;
  readonly remote_path: string;
  readonly temporary_path: string | null;
  readonly sha256: string;
  readonly delivered_sha256: string;
  readonly bytes: number;
  readonly row_count: number | null;
  readonly note: string | null;
}

function toPart(row: PartRow): PeriodFilePart {
  return {
    part: row.part,
    kind: row.kind,
    status: row.status,
    fileName: row.file_name,
    remotePath: row.remote_path,
    temporaryPath: row.temporary_path,
    sha256: row.sha256,
    deliveredSha256: row.delivered_sha256,
    bytes: Number(row.bytes),
    rowCount: row.row_count === null ? null : Number(row.row_count),
    note: row.note,
  };
}

function toPeriodFile(row: FileRow, parts: readonly PartRow[] = []): PeriodFile {
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
    parts: parts.filter((part) => part.revision === row.revision).map(toPart),
  };
}

function periodWhere(key: PeriodKey) {
  return { client_id: key.clientId, frequency: key.frequency, period_start: key.periodStart };
}

/** Every revision of the period, ascending, each with its parts. */
export async function listPeriodFiles(db: Knex | Knex.Transaction, key: PeriodKey): Promise<PeriodFile[]> {
  const rows = (await db(FILES).where(periodWhere(key)).orderBy('revision')) as FileRow[];
  const parts = (await db(PARTS).where(periodWhere(key)).orderBy(['revision', 'part'])) as PartRow[];
  return rows.map((row) => toPeriodFile(row, parts));
}

/** The newest delivered revision of a period, if any. */
export async function latestDeliveredFile(knex: Knex, key: PeriodKey): Promise<PeriodFile | null> {
  const row = (await knex(FILES)
    .where({ ...periodWhere(key), status: 'delivered' })
    .orderBy('revision', 'desc')
    .first()) as FileRow | undefined;
  return row
    ? toPeriodFile(
        row,
        (await knex(PARTS)
          .where({ ...periodWhere(key), revision: row.revision })
          .orderBy('part')) as PartRow[],
      )
    : null;
}

export interface RevisionKey extends PeriodKey {
  readonly revision: number;
}

/** `client/frequency/period start/revision`: the key of revisionPartNames' map. */
export function revisionKeyText(key: RevisionKey): string {
  return `${key.clientId}/${key.frequency}/${key.periodStart}/${key.revision}`;
}

/** The file names of each revision of several files among `keys`, in part order; revisions of one file are absent. */
export async function revisionPartNames(knex: Knex, keys: readonly RevisionKey[]): Promise<Map<string, string[]>> {
  const names = new Map<string, string[]>();
  if (keys.length === 0) return names;
  const rows = (await knex(PARTS)
    .select('client_id', 'frequency', 'period_start', 'revision', 'file_name')
    .whereIn(
      ['client_id', 'frequency', 'period_start', 'revision'],
      keys.map((key) => [key.clientId, key.frequency, key.periodStart, key.revision]),
    )
    .orderBy(['client_id', 'frequency', 'period_start', 'revision', 'part'])) as {
    client_id: string;
    frequency: Frequency;
    period_start: string;
    revision: number;
    file_name: string;
  }[];
  for (const row of rows) {
    const key = revisionKeyText({ clientId: row.client_id, frequency: row.frequency, periodStart: row.period_start, revision: row.revision });
    names.set(key, [...(names.get(key) ?? []), row.file_name]);
  }
  return names;
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

function insertPartRow(key: PeriodKey, revision: number, part: PublishingPart) {
  return {
    ...periodWhere(key),
    revision,
    part: part.part,
    kind: part.kind,
    status: 'publishing',
    file_name: part.fileName,
    remote_path: part.remotePath,
    temporary_path: part.temporaryPath,
    sha256: part.sha256,
    delivered_sha256: part.deliveredSha256,
    bytes: part.bytes,
    row_count: part.rowCount,
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
        const parts = file.parts ?? [];
        if (parts.length > 0) await trx(PARTS).insert(parts.map((part) => insertPartRow(key, file.revision, part)));
      }),

    markPartDelivered: (revision, part, note) =>
      lock.transaction(async (trx) => {
        const updated = await trx(PARTS)
          .where({ ...periodWhere(key), revision, part })
          .whereIn('status', ['publishing', 'delivered'])
          .update({ status: 'delivered', temporary_path: null, note, delivered_at: trx.raw('coalesce(delivered_at, now())'), updated_at: trx.fn.now() });
        if (updated !== 1)
          throw new Error(`${key.clientId}/${key.frequency}/${key.periodStart}: revision ${revision} part ${part} is not publishing or delivered`);
      }),

    recordedTemporaries: () =>
      lock.transaction(async (trx) => {
        const recorded = async (table: string) =>
          (await trx(table).where({ client_id: key.clientId, status: 'publishing' }).whereNotNull('temporary_path').pluck('temporary_path')) as string[];
        // A split or manifest revision records a temporary path per part.
        return [...(await recorded(FILES)), ...(await recorded(PARTS))];
      }),

    recordSkippedName: (file, note) =>
      lock.transaction(async (trx) => {
        await trx(FILES).insert(insertRow(key, file, 'abandoned', note));
      }),

    markAbandoned: (revision, note) =>
      lock.transaction(async (trx) => {
        await trx(FILES)
          .where({ ...periodWhere(key), revision, status: 'publishing' })
          .update({ status: 'abandoned', temporary_path: null, note, updated_at: trx.fn.now() });
        // Parts already in place stay delivered: they are on the server, outside any complete revision.
        await trx(PARTS)
          .where({ ...periodWhere(key), revision, status: 'publishing' })
          .update({ status: 'abandoned', temporary_path: null, updated_at: trx.fn.now() });
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
        const file = toPeriodFile(
          row,
          (await trx(PARTS)
            .where({ ...periodWhere(key), revision })
            .orderBy('part')) as PartRow[],
        );
        const missing = file.parts.find((part) => part.status !== 'delivered');
        // Rolls the transaction back: a revision of several files is delivered only with every file in place.
        if (missing) throw new Error(`${key.clientId}/${key.frequency}/${key.periodStart}: revision ${revision} part ${missing.part} is ${missing.status}`);
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
