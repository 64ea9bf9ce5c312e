/**
 * Late data's tables (migration 006): the fingerprint of each distinct file built of a period,
 * the drift found in delivered revisions, the kept rows of the newest delivered revision, and
 * the ledger's reason and row changes of a run.
 */
import type { Knex } from 'knex';
import type { FingerprintedBuild, SourceFingerprint } from '../domain/late-data.js';
import type { Frequency, LocalDate } from '../domain/types.js';
import type { NotificationInput } from '../notifications/events.js';
import type { PeriodKey, RunKey } from './ledger.js';
import { queueNotifications } from './period-watch.js';

const FINGERPRINTS = 'period_fingerprints';
const DRIFT = 'period_drift';
const SNAPSHOTS = 'period_snapshots';

function periodWhere(key: PeriodKey) {
  return { client_id: key.clientId, frequency: key.frequency, period_start: key.periodStart };
}

/** Records that a file with this sha256 was built from a source with this fingerprint (the newest reading wins; both are true). */
export async function recordBuildFingerprint(knex: Knex, key: PeriodKey, build: FingerprintedBuild): Promise<void> {
  await knex(FINGERPRINTS)
    .insert({ ...periodWhere(key), sha256: build.sha256, fingerprint: JSON.stringify(build.fingerprint) })
    .onConflict(['client_id', 'frequency', 'period_start', 'sha256'])
    .merge({ fingerprint: JSON.stringify(build.fingerprint), built_at: knex.fn.now() });
}

/** A period's newest delivered revision, as the drift check needs it. */
export interface DeliveredPeriod {
  readonly periodStart: LocalDate;
  readonly revision: number;
  readonly fileName: string;
  /** sha256 of the CSV. */
  readonly sha256: string;
  readonly rowCount: number;
}

/** The newest delivered revision of each of the client's periods starting on or after `from`, oldest period first. */
export async function deliveredPeriodsFrom(knex: Knex, clientId: string, frequency: Frequency, from: LocalDate): Promise<DeliveredPeriod[]> {
  const rows = (await knex('report_files')
    .distinctOn('period_start')
    .select('period_start', 'revision', 'file_name', 'sha256', 'row_count')
    .where({ client_id: clientId, frequency, status: 'delivered' })
    .where('period_start', '>=', from)
    .orderBy([{ column: 'period_start' }, { column: 'revision', order: 'desc' }])) as {
    period_start: string;
    revision: number;
    file_name: string;
    sha256: string;
    row_count: number;
  }[];
  return rows.map((row) => ({
    periodStart: row.period_start,
    revision: row.revision,
    fileName: row.file_name,
    sha256: row.sha256,
    rowCount: Number(row.row_count),
  }));
}

/** What is known of the client's periods starting on or after `from`: the builds with their fingerprints, and the revisions recorded drifted. */
export async function lateDataFacts(
  knex: Knex,
  clientId: string,
  frequency: Frequency,
  from: LocalDate,
): Promise<{ builds: Map<LocalDate, FingerprintedBuild[]>; drifted: Map<string, DriftRecord> }> {
  const where = { client_id: clientId, frequency };
  const [buildRows, driftRows] = await Promise.all([
    knex(FINGERPRINTS).select('period_start', 'sha256', 'fingerprint').where(where).where('period_start', '>=', from).orderBy('built_at', 'desc') as Promise<
      { period_start: string; sha256: string; fingerprint: SourceFingerprint }[]
    >,
    knex(DRIFT).select('*').where(where).where('period_start', '>=', from) as Promise<
      {
        period_start: string;
        revision: number;
        delivered_sha256: string;
        rebuilt_sha256: string;
        delivered_row_count: number;
        rebuilt_row_count: number;
        policy: DriftRecord['policy'];
      }[]
    >,
  ]);
  const builds = new Map<LocalDate, FingerprintedBuild[]>();
  for (const row of buildRows) {
    const list = builds.get(row.period_start) ?? [];
    list.push({ sha256: row.sha256, fingerprint: row.fingerprint });
    builds.set(row.period_start, list);
  }
  const drifted = new Map(
    driftRows.map((row) => [
      driftKey(row.period_start, row.revision),
      {
        revision: row.revision,
        deliveredSha256: row.delivered_sha256,
        rebuiltSha256: row.rebuilt_sha256,
        deliveredRowCount: Number(row.delivered_row_count),
        rebuiltRowCount: Number(row.rebuilt_row_count),
        policy: row.policy,
      },
    ]),
  );
  return { builds, drifted };
}

export function driftKey(periodStart: LocalDate, revision: number): string {
  return `${periodStart}/r${revision}`;
}

export interface DriftRecord {
  readonly revision: number;
  readonly deliveredSha256: string;
  readonly rebuiltSha256: string;
  readonly deliveredRowCount: number;
  readonly rebuiltRowCount: number;
  readonly policy: 'report' | 'restate';
}

/**
 * Records the revision's drift, once: a second record of the same revision changes nothing. The
 * event (if any) is queued in the same transaction, only with the first record; returns
 * whether this call recorded it.
 */
export async function recordDrift(
  knex: Knex,
  key: PeriodKey,
  drift: DriftRecord,
  event: { readonly id: string; readonly input: NotificationInput } | null,
): Promise<boolean> {
  return knex.transaction(async (trx) => {
    const inserted = (await trx(DRIFT)
      .insert({
        ...periodWhere(key),
        revision: drift.revision,
        delivered_sha256: drift.deliveredSha256,
        rebuilt_sha256: drift.rebuiltSha256,
        delivered_row_count: drift.deliveredRowCount,
        rebuilt_row_count: drift.rebuiltRowCount,
        policy: drift.policy,
      })
      .onConflict(['client_id', 'frequency', 'period_start', 'revision'])
      .ignore()
      .returning('revision')) as unknown[];
    if (inserted.length === 0) return false;
    if (event) await queueNotifications(trx, [event]);
    return true;
  });
}

/** Drops what late data keeps of the client's periods that started before `before` (out of every lookback). */
export async function pruneLateData(knex: Knex, clientId: string, frequency: Frequency, before: LocalDate): Promise<void> {
  for (const table of [FINGERPRINTS, SNAPSHOTS]) await knex(table).where({ client_id: clientId, frequency }).where('period_start', '<', before).delete();
}

/** The kept rows of a period's newest delivered revision (its CSV, gzip). */
export interface PeriodSnapshot {
  readonly revision: number;
  readonly sha256: string;
  readonly rowCount: number;
  readonly csvGzip: Buffer;
}

export async function loadSnapshot(knex: Knex, key: PeriodKey): Promise<PeriodSnapshot | null> {
  const row = (await knex(SNAPSHOTS).select('revision', 'sha256', 'row_count', 'csv_gzip').where(periodWhere(key)).first()) as
    { revision: number; sha256: string; row_count: number; csv_gzip: Buffer } | undefined;
  return row ? { revision: row.revision, sha256: row.sha256, rowCount: Number(row.row_count), csvGzip: row.csv_gzip } : null;
}

/**
 * Keeps the revision's rows in place of an older revision's, together with the run's row
 * changes (one transaction, so a retry either finds both or neither). A newer revision's kept
 * rows are never replaced by an older one's.
 */
export async function saveSnapshot(
  knex: Knex,
  key: PeriodKey,
  snapshot: PeriodSnapshot,
  run: RunKey,
  changes: { readonly rowsAdded: number; readonly rowsRemoved: number } | null,
): Promise<void> {
  await knex.transaction(async (trx) => {
    if (changes) await recordRowChanges(trx, run, changes);
    await trx(SNAPSHOTS)
      .insert({ ...periodWhere(key), revision: snapshot.revision, sha256: snapshot.sha256, row_count: snapshot.rowCount, csv_gzip: snapshot.csvGzip })
      .onConflict(['client_id', 'frequency', 'period_start'])
      .merge()
      .where(`${SNAPSHOTS}.revision`, '<', snapshot.revision);
  });
}

/** How the revision a run delivered differs from the revision before it. */
export async function recordRowChanges(
  db: Knex | Knex.Transaction,
  run: RunKey,
  changes: { readonly rowsAdded: number; readonly rowsRemoved: number },
): Promise<void> {
  await db('report_runs')
    .where({ workflow_id: run.workflowId, run_id: run.runId })
    .update({ rows_added: changes.rowsAdded, rows_removed: changes.rowsRemoved, updated_at: db.fn.now() });
}

/** The reason a run was started with and the row changes recorded for it. */
export async function runLateDataFacts(
  knex: Knex,
  run: RunKey,
): Promise<{ readonly reason: string | null; readonly rowsAdded: number | null; readonly rowsRemoved: number | null } | null> {
  const row = (await knex('report_runs').select('reason', 'rows_added', 'rows_removed').where({ workflow_id: run.workflowId, run_id: run.runId }).first()) as
    { reason: string | null; rows_added: number | null; rows_removed: number | null } | undefined;
  return row ? { reason: row.reason, rowsAdded: row.rows_added, rowsRemoved: row.rows_removed } : null;
}

/** The delivered revision before `revision`, if any. */
export async function previousDelivered(knex: Knex, key: PeriodKey, revision: number): Promise<{ revision: number; sha256: string; fileName: string } | null> {
  const row = (await knex('report_files')
    .select('revision', 'sha256', 'file_name')
    .where({ ...periodWhere(key), status: 'delivered' })
    .where('revision', '<', revision)
    .orderBy('revision', 'desc')
    .first()) as { revision: number; sha256: string; file_name: string } | undefined;
  return row ? { revision: row.revision, sha256: row.sha256, fileName: row.file_name } : null;
}

/**
 * The `period.restated` event of a run started to restate a drifted period that delivered a
 * revision replacing another; null for any other run.
 */
export async function restatementNotice(
  knex: Knex,
  run: RunKey,
  delivered: { readonly revision: number; readonly fileName: string; readonly rowCount: number; readonly sha256: string },
  at: Date,
): Promise<NotificationInput | null> {
  const row = (await knex('report_runs')
    .select('client_id', 'frequency', 'period_start', 'reason', 'rows_added', 'rows_removed')
    .where({ workflow_id: run.workflowId, run_id: run.runId })
    .first()) as
    | { client_id: string; frequency: Frequency; period_start: string; reason: string | null; rows_added: number | null; rows_removed: number | null }
    | undefined;
  if (row?.reason !== 'restated-for-drift') return null;
  const key = { clientId: row.client_id, frequency: row.frequency, periodStart: row.period_start };
  const replaced = await previousDelivered(knex, key, delivered.revision);
  if (!replaced) return null;
  return {
    type: 'period.restated',
    change: `r${delivered.revision}`,
    occurredAt: at.toISOString(),
    ...key,
    data: {
      revision: delivered.revision,
      fileName: delivered.fileName,
      replacesRevision: replaced.revision,
      rowCount: delivered.rowCount,
      sha256: delivered.sha256,
      rowsAdded: row.rows_added,
      rowsRemoved: row.rows_removed,
    },
  };
}

/** For showing the ledger: every delivered revision's row count, and when each drifted revision's drift was found, of the given periods. */
export async function periodRevisionFacts(
  knex: Knex,
  keys: readonly PeriodKey[],
): Promise<Map<string, { readonly rowCounts: Map<number, number>; readonly driftedAt: Map<number, Date> }>> {
  const facts = new Map<string, { rowCounts: Map<number, number>; driftedAt: Map<number, Date> }>();
  if (keys.length === 0) return facts;
  const entry = (clientId: string, frequency: string, periodStart: string) => {
    const id = `${clientId}/${frequency}/${periodStart}`;
    const found = facts.get(id) ?? { rowCounts: new Map<number, number>(), driftedAt: new Map<number, Date>() };
    facts.set(id, found);
    return found;
  };
  const tuples = keys.map((key) => [key.clientId, key.frequency, key.periodStart]);
  const placeholders = keys.map(() => '(?, ?, ?::date)').join(', ');
  const [files, drifts] = await Promise.all([
    knex('report_files')
      .select('client_id', 'frequency', 'period_start', 'revision', 'row_count')
      .where('status', 'delivered')
      .whereRaw(`(client_id, frequency, period_start) IN (${placeholders})`, tuples.flat()) as Promise<
      { client_id: string; frequency: string; period_start: string; revision: number; row_count: number }[]
    >,
    knex(DRIFT)
      .select('client_id', 'frequency', 'period_start', 'revision', 'detected_at')
      .whereRaw(`(client_id, frequency, period_start) IN (${placeholders})`, tuples.flat()) as Promise<
      { client_id: string; frequency: string; period_start: string; revision: number; detected_at: Date }[]
    >,
  ]);
  for (const row of files) entry(row.client_id, row.frequency, row.period_start).rowCounts.set(row.revision, Number(row.row_count));
  for (const row of drifts) entry(row.client_id, row.frequency, row.period_start).driftedAt.set(row.revision, row.detected_at);
  return facts;
}
