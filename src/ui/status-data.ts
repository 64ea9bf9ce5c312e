/**
 * What the status page shows, read set-wise (a handful of queries for every client, never one
 * per client): the watchdog's recorded state of each period (`period_states`), corrected by the
 * ledger where it knows something newer — a delivered revision, or a run started after the
 * watchdog's last judgement (a rerun started from the page). The watchdog's next pass records
 * the same; until then the page does not wait for it.
 */
import type { Knex } from 'knex';
import type { PeriodState } from '../domain/period-states.js';
import { FREQUENCIES, type Frequency, type Instant, type LocalDate } from '../domain/types.js';
import { revisionKeyText, revisionPartNames } from '../db/report-files.js';

/** Periods shown per frequency: a month of a daily client. */
export const DEFAULT_COLUMNS = 31;

/** The watchdog's states, plus restated (delivered with a revision above 1) and none (no record of the period). */
export type CellState = PeriodState | 'restated' | 'none';
export const CELL_STATES: readonly CellState[] = ['failed', 'missing', 'late', 'running', 'not_yet_due', 'restated', 'delivered', 'none'];

export interface Cell {
  readonly state: CellState;
  /** Newest delivered revision, if any. */
  readonly revision: number | null;
  readonly error: string | null;
  readonly workflowId: string | null;
}

export interface ClientSummary {
  readonly id: string;
  readonly name: string;
  readonly frequency: Frequency;
  readonly enabled: boolean;
  readonly environment: string;
}

export interface StatusGrid {
  /** Newest first, per frequency. */
  readonly columns: Readonly<Record<Frequency, readonly LocalDate[]>>;
  readonly clients: readonly ClientSummary[];
  /** By cellKey(client, frequency, period start). */
  readonly cells: ReadonlyMap<string, Cell>;
  /** Revisions delivered since midnight UTC. */
  readonly deliveredToday: number;
}

export function cellKey(clientId: string, frequency: Frequency, periodStart: LocalDate): string {
  return `${clientId}\u0000${frequency}\u0000${periodStart}`;
}

interface RecordedRow {
  readonly state: PeriodState;
  readonly last_error: string | null;
  readonly workflow_id: string | null;
}

interface RunRow {
  readonly status: string;
  readonly last_error: string | null;
  readonly workflow_id: string | null;
}

type Timed<T> = T & { readonly updated_at?: Date; readonly started_at?: Date };

/** Whether the run started after the watchdog's judgement was recorded. */
function startedAfter(run: Timed<RunRow> | null, recorded: Timed<RecordedRow> | null): boolean {
  return Boolean(run?.started_at && recorded?.updated_at && run.started_at.getTime() > recorded.updated_at.getTime());
}

/**
 * A period's cell from its three sources. A delivered revision wins (as in the watchdog's own
 * judgement); a run newer than the recorded judgement shows as running or failed; else the
 * recorded state; else what the newest run says; else none.
 */
export function judgeCell(recorded: RecordedRow | null, deliveredRevision: number | null, run: RunRow | null, runNewer: boolean): Cell {
  if (deliveredRevision !== null)
    return {
      state: deliveredRevision > 1 ? 'restated' : 'delivered',
      revision: deliveredRevision,
      error: null,
      workflowId: run?.workflow_id ?? recorded?.workflow_id ?? null,
    };
  const fromRun = (row: RunRow): Cell | null => {
    if (row.status === 'running') return { state: 'running', revision: null, error: null, workflowId: row.workflow_id };
    if (row.status === 'failed' || row.status === 'cancelled')
      return { state: 'failed', revision: null, error: row.last_error ?? `the run was ${row.status}`, workflowId: row.workflow_id };
    return null;
  };
  if (run && (!recorded || runNewer)) {
    const cell = fromRun(run);
    if (cell) return cell;
  }
  if (recorded) return { state: recorded.state, revision: null, error: recorded.last_error, workflowId: recorded.workflow_id };
  return (run && fromRun(run)) ?? { state: 'none', revision: null, error: null, workflowId: run?.workflow_id ?? null };
}

type Keyed<T> = T & { readonly client_id: string; readonly frequency: Frequency; readonly period_start: string };

function startOfUtcDay(now: Instant): Date {
  const day = new Date(now);
  return new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate()));
}

/** Newest `count` period starts per frequency that the watchdog or the ledger knows of (DISTINCT per table first: a few dozen rows to merge, not every period). */
async function loadColumns(knex: Knex, count: number): Promise<Record<Frequency, LocalDate[]>> {
  const rows = (await knex.raw(
    `SELECT frequency, period_start FROM (
       SELECT frequency, period_start, row_number() OVER (PARTITION BY frequency ORDER BY period_start DESC) AS position
         FROM (SELECT DISTINCT frequency, period_start FROM period_states UNION SELECT DISTINCT frequency, period_start FROM report_runs) AS known
     ) AS ranked WHERE position <= ? ORDER BY frequency, period_start DESC`,
    [count],
  )) as { rows: { frequency: Frequency; period_start: string }[] };
  const columns: Record<Frequency, LocalDate[]> = { daily: [], weekly: [], monthly: [] };
  for (const row of rows.rows) columns[row.frequency].push(row.period_start);
  return columns;
}

/**
 * Every cell from period_states, the delivered revisions and the newest runs, joined in one
 * query that returns only what the grid shows (the period page reads errors and workflows).
 */
async function loadGridCells(knex: Knex, oldest: LocalDate): Promise<Map<string, Cell>> {
  const result = (await knex.raw(
    `WITH s AS (SELECT client_id, frequency, period_start, state, updated_at FROM period_states WHERE period_start >= :oldest),
          f AS (SELECT client_id, frequency, period_start, max(revision) AS revision FROM report_files WHERE status = 'delivered' AND period_start >= :oldest GROUP BY 1, 2, 3),
          r AS (SELECT DISTINCT ON (client_id, frequency, period_start) client_id, frequency, period_start, status, started_at
                  FROM report_runs WHERE period_start >= :oldest ORDER BY client_id, frequency, period_start, started_at DESC, id DESC)
     SELECT client_id, frequency, period_start::text AS period_start, s.state, f.revision, r.status, (r.started_at > s.updated_at) AS run_newer
       FROM s FULL JOIN f USING (client_id, frequency, period_start) FULL JOIN r USING (client_id, frequency, period_start)`,
    { oldest },
  )) as {
    rows: {
      client_id: string;
      frequency: Frequency;
      period_start: string;
      state: PeriodState | null;
      revision: number | null;
      status: string | null;
      run_newer: boolean | null;
    }[];
  };
  const cells = new Map<string, Cell>();
  for (const row of result.rows) {
    const recorded = row.state === null ? null : { state: row.state, last_error: null, workflow_id: null };
    const run = row.status === null ? null : { status: row.status, last_error: null, workflow_id: null };
    cells.set(
      cellKey(row.client_id, row.frequency, row.period_start),
      judgeCell(recorded, row.revision === null ? null : Number(row.revision), run, row.run_newer === true),
    );
  }
  return cells;
}

/** The whole grid: clients, the newest periods per frequency and every cell, in four queries. Grid cells carry no error or workflow id. */
export async function loadStatusGrid(knex: Knex, now: Instant, columnCount = DEFAULT_COLUMNS): Promise<StatusGrid> {
  const columns = await loadColumns(knex, columnCount);
  const oldest =
    FREQUENCIES.map((frequency) => columns[frequency].at(-1))
      .filter((start): start is string => start !== undefined)
      .sort()[0] ?? '9999-12-31';
  const [clients, cells, today] = await Promise.all([
    knex('clients').select('id', 'name', 'frequency', 'enabled', 'environment').orderBy('id') as Promise<ClientSummary[]>,
    loadGridCells(knex, oldest),
    knex('report_files').count<{ count: string }[]>('* as count').where({ status: 'delivered' }).where('delivered_at', '>=', startOfUtcDay(now)),
  ]);
  return { columns, clients: clients.map((client) => ({ ...client, enabled: Boolean(client.enabled) })), cells, deliveredToday: Number(today[0]?.count ?? 0) };
}

export interface RevisionDetail {
  readonly revision: number;
  readonly status: string;
  readonly fileName: string;
  /** The other files of a revision of several (split parts, manifest, signature), in part order. */
  readonly otherFiles: readonly string[];
  readonly remotePath: string;
  readonly rowCount: number;
  readonly bytes: number;
  readonly sha256: string;
  readonly note: string | null;
  readonly workflowId: string;
  readonly deliveredAt: Instant | null;
}

export interface RunDetail {
  readonly status: string;
  readonly forced: boolean;
  readonly attempts: number;
  readonly workflowId: string;
  readonly runId: string;
  readonly startedAt: Instant;
  readonly finishedAt: Instant | null;
  readonly lastError: string | null;
  readonly lastErrorType: string | null;
}

export interface PeriodDetail {
  readonly clientId: string;
  readonly frequency: Frequency;
  readonly periodStart: LocalDate;
  readonly cell: Cell;
  readonly recorded: { readonly state: PeriodState; readonly since: Instant; readonly dueAt: Instant } | null;
  readonly revisions: readonly RevisionDetail[];
  /** Newest first. */
  readonly runs: readonly RunDetail[];
}

/** One period: every revision with why it exists, every run with its attempts and last error. */
export async function loadPeriodDetail(knex: Knex, clientId: string, frequency: Frequency, periodStart: LocalDate): Promise<PeriodDetail> {
  const where = { client_id: clientId, frequency, period_start: periodStart };
  const [state, files, runs] = await Promise.all([
    knex('period_states').where(where).first('state', 'since', 'due_at', 'last_error', 'workflow_id', 'updated_at') as Promise<
      (RecordedRow & { since: Date; due_at: Date; updated_at: Date }) | undefined
    >,
    knex('report_files')
      .where(where)
      .orderBy('revision')
      .select(
        'revision',
        'status',
        'file_name',
        'remote_path',
        'row_count',
        'bytes',
        'delivered_sha256',
        'sha256',
        'note',
        'workflow_id',
        'delivered_at',
      ) as Promise<
      {
        revision: number;
        status: string;
        file_name: string;
        remote_path: string;
        row_count: number;
        bytes: number;
        sha256: string;
        delivered_sha256: string;
        note: string | null;
        workflow_id: string;
        delivered_at: Date | null;
      }[]
    >,
    knex('report_runs')
      .where(where)
      .orderBy([
        { column: 'started_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .select('status', 'forced', 'attempts', 'workflow_id', 'run_id', 'started_at', 'finished_at', 'last_error', 'last_error_type') as Promise<
      {
        status: string;
        forced: boolean;
        attempts: number;
        workflow_id: string;
        run_id: string;
        started_at: Date;
        finished_at: Date | null;
        last_error: string | null;
        last_error_type: string | null;
      }[]
    >,
  ]);
  const partNames = await revisionPartNames(
    knex,
    files.map((file) => ({ clientId, frequency, periodStart, revision: file.revision })),
  );
  const newestDelivered = files.filter((file) => file.status === 'delivered').at(-1)?.revision ?? null;
  const [newestRun] = runs;
  return {
    clientId,
    frequency,
    periodStart,
    cell: judgeCell(state ?? null, newestDelivered, newestRun ?? null, startedAfter(newestRun ?? null, state ?? null)),
    recorded: state ? { state: state.state, since: state.since.getTime(), dueAt: state.due_at.getTime() } : null,
    revisions: files.map((file) => ({
      revision: file.revision,
      status: file.status,
      fileName: file.file_name,
      otherFiles: (partNames.get(revisionKeyText({ clientId, frequency, periodStart, revision: file.revision })) ?? []).filter(
        (name) => name !== file.file_name,
      ),
      remotePath: file.remote_path,
      rowCount: Number(file.row_count),
      bytes: Number(file.bytes),
      sha256: file.status === 'delivered' ? file.delivered_sha256 : file.sha256,
      note: file.note,
      workflowId: file.workflow_id,
      deliveredAt: file.delivered_at?.getTime() ?? null,
    })),
    runs: runs.map((run) => ({
      status: run.status,
      forced: Boolean(run.forced),
      attempts: Number(run.attempts),
      workflowId: run.workflow_id,
      runId: run.run_id,
      startedAt: run.started_at.getTime(),
      finishedAt: run.finished_at?.getTime() ?? null,
      lastError: run.last_error,
      lastErrorType: run.last_error_type,
    })),
  };
}

/** A period a repair would run. */
export interface RepairPeriod {
  readonly clientId: string;
  readonly frequency: Frequency;
  readonly periodStart: LocalDate;
  readonly state: 'failed' | 'missing';
}

/**
 * What a repair runs: the failed and missing periods of the client (or of every client),
 * judged as the page shows them, over every period the watchdog recorded (not only the
 * columns on the page).
 */
export async function loadRepairPeriods(knex: Knex, clientId: string | null): Promise<RepairPeriod[]> {
  const open = knex('period_states')
    .select('client_id', 'frequency', 'period_start', 'state', 'last_error', 'workflow_id', 'updated_at')
    .whereIn('state', ['failed', 'missing']);
  const recorded = (await (clientId === null ? open : open.where({ client_id: clientId }))) as Keyed<RecordedRow & { updated_at: Date }>[];
  if (recorded.length === 0) return [];
  const keys = recorded.map((row) => [row.client_id, row.frequency, row.period_start]);
  const [delivered, runs] = await Promise.all([
    knex('report_files')
      .select('client_id', 'frequency', 'period_start')
      .max('revision as revision')
      .where({ status: 'delivered' })
      .whereIn(['client_id', 'frequency', 'period_start'], keys)
      .groupBy('client_id', 'frequency', 'period_start') as Promise<Keyed<{ revision: number }>[]>,
    knex('report_runs')
      .distinctOn('client_id', 'frequency', 'period_start')
      .select('client_id', 'frequency', 'period_start', 'status', 'started_at', 'last_error', 'workflow_id')
      .whereIn(['client_id', 'frequency', 'period_start'], keys)
      .orderBy([
        { column: 'client_id' },
        { column: 'frequency' },
        { column: 'period_start' },
        { column: 'started_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ]) as Promise<Keyed<RunRow & { started_at: Date }>[]>,
  ]);
  const keyOf = (row: Keyed<object>) => cellKey(row.client_id, row.frequency, row.period_start);
  const deliveredBy = new Map(delivered.map((row) => [keyOf(row), Number(row.revision)]));
  const runBy = new Map(runs.map((row) => [keyOf(row), row]));
  const periods: RepairPeriod[] = [];
  for (const row of recorded) {
    const run = runBy.get(keyOf(row)) ?? null;
    const { state } = judgeCell(row, deliveredBy.get(keyOf(row)) ?? null, run, startedAfter(run, row));
    if (state === 'failed' || state === 'missing') periods.push({ clientId: row.client_id, frequency: row.frequency, periodStart: row.period_start, state });
  }
  return periods.sort((a, b) => a.clientId.localeCompare(b.clientId) || a.frequency.localeCompare(b.frequency) || a.periodStart.localeCompare(b.periodStart));
}
