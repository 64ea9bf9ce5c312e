/**
 * The watchdog's reads and writes: what the ledger knows of a client's periods, the state the
 * watchdog last recorded for each (`period_states`), and the notification outbox.
 */
import type { Knex } from 'knex';
import type { DeliveredFact, PeriodAssessment, ProblemState, RecordedState, RunFact } from '../domain/period-states.js';
import type { Frequency, Instant, LocalDate, Period } from '../domain/types.js';
import type { NotificationInput } from '../notifications/events.js';

/** The ledger's facts for one client and frequency, by period start. */
export interface LedgerFacts {
  readonly runs: ReadonlyMap<LocalDate, RunFact & { readonly errorType: string | null }>;
  readonly delivered: ReadonlyMap<LocalDate, DeliveredFact>;
  readonly recorded: ReadonlyMap<LocalDate, RecordedState>;
}

const instantOf = (value: Date | null): Instant | null => (value ? value.getTime() : null);

function runStatusFact(status: string): RunFact['status'] {
  if (status === 'running' || status === 'failed' || status === 'cancelled') return status;
  return 'finished';
}

/** Everything the ledger says about the client's periods starting on or after `from`, in three queries. */
export async function loadLedgerFacts(knex: Knex, clientId: string, frequency: Frequency, from: LocalDate): Promise<LedgerFacts> {
  const where = { client_id: clientId, frequency };
  const [runRows, fileRows, stateRows] = await Promise.all([
    knex('report_runs')
      .distinctOn('period_start')
      .select('period_start', 'status', 'workflow_id', 'started_at', 'finished_at', 'last_error', 'last_error_type')
      .where(where)
      .where('period_start', '>=', from)
      .orderBy([{ column: 'period_start' }, { column: 'started_at', order: 'desc' }, { column: 'id', order: 'desc' }]) as Promise<
      {
        period_start: string;
        status: string;
        workflow_id: string;
        started_at: Date;
        finished_at: Date | null;
        last_error: string | null;
        last_error_type: string | null;
      }[]
    >,
    knex('report_files')
      .distinctOn('period_start')
      .select('period_start', 'revision', 'delivered_at', 'updated_at', 'file_name', 'row_count', 'delivered_sha256')
      .where({ ...where, status: 'delivered' })
      .where('period_start', '>=', from)
      .orderBy([{ column: 'period_start' }, { column: 'revision', order: 'desc' }]) as Promise<
      { period_start: string; revision: number; delivered_at: Date | null; updated_at: Date; file_name: string; row_count: number; delivered_sha256: string }[]
    >,
    knex('period_states').select('period_start', 'state', 'last_problem').where(where).where('period_start', '>=', from) as Promise<
      { period_start: string; state: RecordedState['state']; last_problem: ProblemState | null }[]
    >,
  ]);
  return {
    runs: new Map(
      runRows.map((row) => [
        row.period_start,
        {
          status: runStatusFact(row.status),
          workflowId: row.workflow_id,
          startedAt: row.started_at.getTime(),
          finishedAt: instantOf(row.finished_at),
          error: row.last_error,
          errorType: row.last_error_type,
        },
      ]),
    ),
    delivered: new Map(
      fileRows.map((row) => [
        row.period_start,
        {
          revision: row.revision,
          deliveredAt: (row.delivered_at ?? row.updated_at).getTime(),
          fileName: row.file_name,
          rowCount: Number(row.row_count),
          sha256: row.delivered_sha256,
        },
      ]),
    ),
    recorded: new Map(stateRows.map((row) => [row.period_start, { state: row.state, lastProblem: row.last_problem }])),
  };
}

export interface ClientWatch {
  readonly activeSince: LocalDate;
  /** When the watchdog (or `clients add`) began watching the client. */
  readonly createdAt: Instant;
}

/** The client's watch row, created with `activeSince` when it has none (the day the watchdog first sees it). */
export async function ensureClientWatch(knex: Knex, clientId: string, activeSince: LocalDate): Promise<ClientWatch> {
  await knex('client_watch').insert({ client_id: clientId, active_since: activeSince }).onConflict('client_id').ignore();
  const row = (await knex('client_watch').select('active_since', 'created_at').where({ client_id: clientId }).first()) as {
    active_since: string;
    created_at: Date;
  };
  return { activeSince: row.active_since, createdAt: row.created_at.getTime() };
}

export interface StateWrite {
  readonly clientId: string;
  readonly period: Period;
  readonly next: RecordedState;
  readonly assessment: PeriodAssessment;
  /** The event this change sends (and its id), written to the outbox in the same transaction; null: none. */
  readonly event: { readonly id: string; readonly input: NotificationInput } | null;
}

/**
 * Records state changes and their events together: a change is never recorded without its
 * event, so a crash between the two cannot lose a notification or send one twice.
 */
export async function writeStateChanges(knex: Knex, writes: readonly StateWrite[]): Promise<void> {
  if (writes.length === 0) return;
  await knex.transaction(async (trx) => {
    await trx('period_states')
      .insert(
        writes.map((write) => ({
          client_id: write.clientId,
          frequency: write.period.frequency,
          period_start: write.period.start,
          period_end_at: new Date(write.period.endInstant),
          state: write.next.state,
          since: new Date(write.assessment.since),
          due_at: new Date(write.assessment.dueAt),
          last_problem: write.next.lastProblem,
          last_error: write.assessment.error,
          workflow_id: write.assessment.workflowId,
          updated_at: trx.fn.now(),
        })),
      )
      .onConflict(['client_id', 'frequency', 'period_start'])
      .merge();
    await queueNotifications(
      trx,
      writes.flatMap((write) => (write.event ? [write.event] : [])),
    );
  });
}

/** Puts events in the outbox, for the watchdog's pass to send; an event queued before (same id) is left as it is. */
export async function queueNotifications(
  db: Knex | Knex.Transaction,
  events: ReadonlyArray<{ readonly id: string; readonly input: NotificationInput }>,
): Promise<void> {
  if (events.length === 0) return;
  await db('notification_outbox')
    .insert(events.map((event) => ({ event_id: event.id, event: JSON.stringify(event.input) })))
    .onConflict('event_id')
    .ignore();
}

/** Events not sent yet, oldest first. */
export async function pendingNotifications(knex: Knex, limit: number): Promise<NotificationInput[]> {
  const rows = (await knex('notification_outbox').select('event').whereNull('sent_at').orderBy('id').limit(limit)) as { event: NotificationInput }[];
  return rows.map((row) => row.event);
}

/**
 * Settles an event: sent (note null), or given up for a reason no retry can change (a refusal
 * by the receiver, no webhook configured). Either way it is not sent again.
 */
export async function settleNotification(knex: Knex, eventId: string, note: string | null): Promise<void> {
  await knex('notification_outbox')
    .where({ event_id: eventId })
    .whereNull('sent_at')
    .increment('attempts', 1)
    .update({ sent_at: knex.fn.now(), last_error: note });
}

/** Notes a failed round of sends; the event stays pending for the next pass. */
export async function noteNotificationFailure(knex: Knex, eventId: string, error: string): Promise<void> {
  await knex('notification_outbox').where({ event_id: eventId }).whereNull('sent_at').increment('attempts', 1).update({ last_error: error });
}

/** Per client: periods recorded late, missing and failed, and the end of the newest delivered one. */
export interface ClientStateCounts {
  readonly clientId: string;
  readonly late: number;
  readonly missing: number;
  readonly failed: number;
  readonly lastDeliveredPeriodEnd: Instant | null;
}

/**
 * The recorded states of every watched client, for the metrics every worker serves. A client
 * no longer watched (disabled, sandbox) counts zero, so its last problems stop alerting.
 */
export async function countRecordedStates(knex: Knex): Promise<ClientStateCounts[]> {
  const watched = "clients.enabled AND clients.environment = 'production'";
  const rows = (await knex('client_watch')
    .join('clients', 'clients.id', 'client_watch.client_id')
    .leftJoin('period_states', 'period_states.client_id', 'client_watch.client_id')
    .select('client_watch.client_id as client_id')
    .select(knex.raw(`count(*) FILTER (WHERE state = 'late' AND ${watched})::int AS late`))
    .select(knex.raw(`count(*) FILTER (WHERE state = 'missing' AND ${watched})::int AS missing`))
    .select(knex.raw(`count(*) FILTER (WHERE state = 'failed' AND ${watched})::int AS failed`))
    .select(knex.raw("max(period_end_at) FILTER (WHERE state = 'delivered') AS last_delivered_end"))
    .groupBy('client_watch.client_id')
    .orderBy('client_watch.client_id')) as { client_id: string; late: number; missing: number; failed: number; last_delivered_end: Date | null }[];
  return rows.map((row) => ({
    clientId: row.client_id,
    late: row.late,
    missing: row.missing,
    failed: row.failed,
    lastDeliveredPeriodEnd: instantOf(row.last_delivered_end),
  }));
}
