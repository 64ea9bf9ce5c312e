/**
 * The watchdog's steps: judge every watched period and record the changes with their events
 * (watchPeriods), and settle what sending made of each event (settleNotification). Sending
 * itself is the notification activity's (activities/notifications.ts).
 */
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import type { DueTime } from '../domain/deadlines.js';
import { decideChange, isProblemState, type PeriodState } from '../domain/period-states.js';
import type { LocalTimeOfDay } from '../domain/schedule-plan.js';
import type { Frequency, Instant } from '../domain/types.js';
import { noteNotificationFailure, pendingNotifications, settleNotification, writeStateChanges, type StateWrite } from '../db/period-watch.js';
import type { NotificationInput } from '../notifications/events.js';
import { notificationEventId } from '../notifications/webhook.js';
import type { Logger } from '../observability/logger.js';
import { assessClients, type WatchedPeriod } from '../watchdog/assess-clients.js';

/** Most pending events one pass hands to the workflow (each goes through its history). */
export const MAX_NOTIFICATIONS_PER_PASS = 50;

export interface WatchdogActivityDeps {
  readonly knex: Knex;
  /** Null: the ledger only. */
  readonly temporal: Client | null;
  readonly scheduleTime: LocalTimeOfDay;
  readonly defaultDue: Readonly<Record<Frequency, DueTime>>;
  /** Whether a webhook is configured; without one, events are settled as not sent. */
  readonly notify: boolean;
  readonly logger: Logger;
  /** The watchdog's clock; tests move it past due times. */
  readonly now?: () => Instant;
}

export interface WatchSummary {
  /** Clients watched in this pass. */
  readonly clients: number;
  /** Clients that should be watched and cannot be (settings that do not validate, a read that failed), with the reason. */
  readonly notWatched: ReadonlyArray<{ readonly clientId: string; readonly reason: string }>;
  readonly periods: number;
  readonly changes: number;
  /** Periods per state that needs attention, after this pass. */
  readonly problems: { readonly late: number; readonly missing: number; readonly failed: number };
  /** Events to send now, oldest first; those beyond MAX_NOTIFICATIONS_PER_PASS wait for the next pass. */
  readonly notifications: ReadonlyArray<{ readonly eventId: string; readonly input: NotificationInput }>;
}

const iso = (instant: Instant) => new Date(instant).toISOString();

/** The notification input of a change, with everything its type carries. */
function notificationInput(
  clientId: string,
  watched: WatchedPeriod,
  notify: NonNullable<ReturnType<typeof decideChange>>['notify'] & object,
): NotificationInput {
  const { period, assessment, delivered, run } = watched;
  const base = { change: notify.change, occurredAt: iso(assessment.since), clientId, frequency: period.frequency, periodStart: period.start };
  switch (notify.type) {
    case 'period.delivered':
      if (!delivered) throw new Error(`period ${period.start} of client "${clientId}" is delivered without a file`);
      return {
        ...base,
        type: notify.type,
        data: { fileName: delivered.fileName, revision: delivered.revision, rowCount: delivered.rowCount, sha256: delivered.sha256 },
      };
    case 'period.recovered':
      return { ...base, type: notify.type, data: { previousState: notify.previousProblem ?? 'failed' } };
    case 'period.failed':
      return { ...base, type: notify.type, data: { errorType: run?.errorType ?? 'Error', errorMessage: assessment.error ?? 'unknown' } };
    case 'period.late':
      return { ...base, type: notify.type, data: { dueAt: iso(assessment.dueAt) } };
    case 'period.missing':
      return { ...base, type: notify.type, data: {} };
  }
}

export function createWatchdogActivities(deps: WatchdogActivityDeps) {
  const now = deps.now ?? Date.now;
  return {
    /**
     * One pass: judges every watched period, records each change of state together with the
     * event it sends (one transaction per client), and returns the events still to send.
     * Idempotent: a retried pass finds the changes recorded and sends nothing twice.
     */
    async watchPeriods(): Promise<WatchSummary> {
      const at = now();
      const views = await assessClients(deps, at, { createWatch: true });
      const counts: Record<PeriodState, number> = { not_yet_due: 0, running: 0, delivered: 0, late: 0, missing: 0, failed: 0 };
      let periods = 0;
      let changes = 0;
      const notWatched: Array<{ clientId: string; reason: string }> = [];
      let watchedClients = 0;
      for (const view of views) {
        if (!view.watched) {
          if (view.needsAttention) {
            notWatched.push({ clientId: view.clientId, reason: view.reason });
            deps.logger.warn({ client: view.clientId, reason: view.reason }, 'client not watched');
          }
          continue;
        }
        watchedClients += 1;
        const writes: StateWrite[] = [];
        for (const watched of view.periods) {
          periods += 1;
          counts[watched.assessment.state] += 1;
          const announce = watched.delivered !== null && watched.delivered.deliveredAt >= view.watchStartedAt;
          const change = decideChange(watched.recorded, watched.assessment, announce, watched.delivered?.revision ?? null);
          if (!change) continue;
          const input = change.notify ? notificationInput(view.clientId, watched, change.notify) : null;
          writes.push({
            clientId: view.clientId,
            period: watched.period,
            next: change.next,
            assessment: watched.assessment,
            event: input ? { id: notificationEventId(input), input } : null,
          });
          if (change.notify || isProblemState(watched.assessment.state)) {
            deps.logger.info(
              {
                client: view.clientId,
                frequency: watched.period.frequency,
                period: watched.period.start,
                state: watched.assessment.state,
                since: iso(watched.assessment.since),
                event: change.notify?.type ?? null,
              },
              'period state changed',
            );
          }
        }
        await writeStateChanges(deps.knex, writes);
        changes += writes.length;
      }
      const pending = await pendingNotifications(deps.knex, MAX_NOTIFICATIONS_PER_PASS);
      // Without a webhook the events are settled at once, so none piles up to be sent when one is configured.
      if (!deps.notify) for (const input of pending) await settleNotification(deps.knex, notificationEventId(input), 'no webhook configured');
      return {
        clients: watchedClients,
        notWatched,
        periods,
        changes,
        problems: { late: counts.late, missing: counts.missing, failed: counts.failed },
        notifications: deps.notify ? pending.map((input) => ({ eventId: notificationEventId(input), input })) : [],
      };
    },

    /**
     * What came of sending one event: sent, refused for good (not sent again), or not sent in
     * this pass (sent again by the next one).
     */
    async settleNotification(input: { readonly eventId: string; readonly outcome: 'sent' | 'refused' | 'unsent'; readonly error?: string }): Promise<void> {
      if (input.outcome === 'unsent') await noteNotificationFailure(deps.knex, input.eventId, input.error ?? 'not sent');
      else await settleNotification(deps.knex, input.eventId, input.outcome === 'sent' ? null : `refused: ${input.error ?? ''}`);
    },
  };
}

export type WatchdogActivities = ReturnType<typeof createWatchdogActivities>;
