import type { Knex } from 'knex';
import type { Frequency, LocalDate } from '../domain/types.js';
import { latestDeliveredFile } from './report-files.js';

/**
 * The ledger of period runs [SPEC §7]: `report_runs`, one row per workflow run of a period.
 * The files themselves (one row per revision) are in `report_files` (report-files.ts).
 */
const TABLE = 'report_runs';

export type RunStatus = 'running' | 'delivered' | 'unchanged' | 'skipped' | 'failed' | 'cancelled';

export interface PeriodKey {
  readonly clientId: string;
  readonly frequency: Frequency;
  readonly periodStart: LocalDate;
}

export interface RunKey {
  readonly workflowId: string;
  readonly runId: string;
}

export interface DeliveredRevision {
  readonly revision: number;
  readonly sha256: string;
  readonly fileName: string;
  readonly remotePath: string;
  readonly rowCount: number;
  readonly bytes: number;
}

export interface LedgerRow {
  readonly id: number;
  readonly client_id: string;
  readonly frequency: Frequency;
  readonly period_start: string;
  readonly period_end: string;
  readonly status: RunStatus;
  readonly forced: boolean;
  readonly revision: number | null;
  readonly row_count: number | null;
  readonly bytes: number | null;
  readonly sha256: string | null;
  readonly file_name: string | null;
  readonly remote_path: string | null;
  readonly workflow_id: string;
  readonly run_id: string;
  readonly attempts: number;
  readonly started_at: Date;
  readonly finished_at: Date | null;
  readonly last_error: string | null;
  readonly last_error_type: string | null;
  /** Why the run was started, when not by a schedule or an operator (migration 006). */
  readonly reason: string | null;
  /** How the revision it delivered differs from the one before, where known. */
  readonly rows_added: number | null;
  readonly rows_removed: number | null;
}

/** The newest delivered revision of a period, if any. */
export async function latestDelivered(knex: Knex, key: PeriodKey): Promise<DeliveredRevision | null> {
  const file = await latestDeliveredFile(knex, key);
  if (!file) return null;
  const { revision, sha256, fileName, remotePath, rowCount, bytes } = file;
  return { revision, sha256, fileName, remotePath, rowCount, bytes };
}

/** Records that a run of the period started; idempotent per workflow run (activity retries). */
export async function recordRunStarted(knex: Knex, key: PeriodKey & RunKey & { periodEnd: LocalDate; forced: boolean; reason?: string | null }): Promise<void> {
  await knex(TABLE)
    .insert({
      client_id: key.clientId,
      frequency: key.frequency,
      period_start: key.periodStart,
      period_end: key.periodEnd,
      status: 'running',
      forced: key.forced,
      workflow_id: key.workflowId,
      run_id: key.runId,
      reason: key.reason ?? null,
    })
    .onConflict(['workflow_id', 'run_id'])
    .merge({ status: 'running', updated_at: knex.fn.now(), last_error: null, last_error_type: null, finished_at: null });
}

/** Counts one delivery attempt of the run. */
export async function recordAttempt(knex: Knex, run: RunKey): Promise<void> {
  await knex(TABLE).where({ workflow_id: run.workflowId, run_id: run.runId }).increment('attempts', 1).update({ updated_at: knex.fn.now() });
}

export interface RunOutcome {
  readonly status: Exclude<RunStatus, 'running' | 'failed' | 'cancelled'>;
  readonly revision?: number | null;
  readonly rowCount?: number | null;
  readonly bytes?: number | null;
  readonly sha256?: string | null;
  readonly fileName?: string | null;
  readonly remotePath?: string | null;
}

/** Records how a run ended. A run recorded delivered stays delivered (its file is on the server). */
export async function recordRunFinished(knex: Knex, run: RunKey, outcome: RunOutcome): Promise<void> {
  const query = knex(TABLE).where({ workflow_id: run.workflowId, run_id: run.runId });
  if (outcome.status !== 'delivered') query.whereNot({ status: 'delivered' });
  await query.update({
    status: outcome.status,
    revision: outcome.revision ?? null,
    row_count: outcome.rowCount ?? null,
    bytes: outcome.bytes ?? null,
    sha256: outcome.sha256 ?? null,
    file_name: outcome.fileName ?? null,
    remote_path: outcome.remotePath ?? null,
    last_error: null,
    finished_at: knex.fn.now(),
    updated_at: knex.fn.now(),
  });
}

/** Records a failed or cancelled run; a run whose file was recorded delivered meanwhile keeps that status. */
export async function recordRunFailed(knex: Knex, run: RunKey, status: 'failed' | 'cancelled', error: string, errorType: string | null): Promise<void> {
  await knex(TABLE)
    .where({ workflow_id: run.workflowId, run_id: run.runId })
    .whereNot({ status: 'delivered' })
    .update({ status, last_error: error, last_error_type: errorType, finished_at: knex.fn.now(), updated_at: knex.fn.now() });
}

/** The newest runs, newest first, optionally of one client. */
export async function listRuns(knex: Knex, options: { clientId?: string; limit: number }): Promise<LedgerRow[]> {
  const query = knex(TABLE)
    .select('*')
    .orderBy([
      { column: 'started_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .limit(options.limit);
  if (options.clientId) query.where({ client_id: options.clientId });
  return (await query) as LedgerRow[];
}
