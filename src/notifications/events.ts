/**
 * Notification events: what a webhook receiver is told about a period's state. Plain data
 * with no I/O, so workflows can import the types and build inputs.
 *
 * Glossary
 * - period.delivered: a file of the period went out (revision 1, or a forced revision).
 * - period.failed: the period's last run failed and nothing was delivered since.
 * - period.late: the period is past its due time and not delivered.
 * - period.missing: the period should have been run by now but no run ever started (a paused,
 *   deleted or skipped schedule).
 * - period.recovered: a period that was late, missing or failed is delivered now.
 * - period.drifted: a delivered revision's file would differ if built today (late, deleted or
 *   changed source rows); sent once per revision, for clients whose late_data policy is report.
 * - period.restated: a revision delivered because the one before had drifted (late_data
 *   restate), with how many rows it adds and removes where the previous rows were kept.
 * - state change: one entry of a period into a state. It is named by the caller's `change`
 *   key (the failed run's id, the due instant, the delivered revision, …), so every send of
 *   the same change, retries included, carries the same event id and a receiver can drop
 *   repeats.
 *
 * An event holds names, counts, checksums and error descriptions only: never a secret, never
 * report rows.
 */
import type { NotificationType, ProblemState } from '../domain/period-states.js';
import type { Frequency, LocalDate } from '../domain/types.js';

/** Events of late data (the drift check and restated runs), beside the watchdog's state changes. */
export type LateDataNotificationType = 'period.drifted' | 'period.restated';

export const NOTIFICATION_EVENT_TYPES = [
  'period.delivered',
  'period.failed',
  'period.late',
  'period.missing',
  'period.recovered',
  'period.drifted',
  'period.restated',
] as const satisfies readonly (NotificationType | LateDataNotificationType)[];
export type NotificationEventType = NotificationType | LateDataNotificationType;

/** What each event type carries besides the period. */
export interface NotificationEventData {
  readonly 'period.delivered': {
    readonly fileName: string;
    readonly revision: number;
    readonly rowCount: number;
    /** SHA-256 of the delivered CSV, hex. */
    readonly sha256: string;
  };
  readonly 'period.failed': {
    /** The typed error's name, e.g. `AuthenticationFailedError`. */
    readonly errorType: string;
    readonly errorMessage: string;
  };
  readonly 'period.late': {
    /** When the period's file was due, ISO 8601 UTC. */
    readonly dueAt: string;
  };
  readonly 'period.missing': Readonly<Record<string, never>>;
  readonly 'period.recovered': {
    readonly previousState: ProblemState;
  };
  readonly 'period.drifted': {
    /** The delivered revision that would differ today, and its file's name. */
    readonly revision: number;
    readonly fileName: string;
    /** SHA-256 of the delivered CSV and of the CSV built today, hex. */
    readonly deliveredSha256: string;
    readonly rebuiltSha256: string;
    readonly deliveredRowCount: number;
    readonly rebuiltRowCount: number;
  };
  readonly 'period.restated': {
    /** The revision just delivered, and the one it replaces. */
    readonly revision: number;
    readonly fileName: string;
    readonly replacesRevision: number;
    readonly rowCount: number;
    readonly sha256: string;
    /** Rows added and removed since the replaced revision; null where its rows were not kept. */
    readonly rowsAdded: number | null;
    readonly rowsRemoved: number | null;
  };
}

interface EventOf<Type extends NotificationEventType> {
  /** Same for every send of one state change (see the glossary); receivers deduplicate on it. */
  readonly id: string;
  readonly type: Type;
  /** When the state changed, ISO 8601 UTC; the same on every retry. */
  readonly occurredAt: string;
  readonly clientId: string;
  readonly frequency: Frequency;
  /** First local date of the period, in the client's time zone. */
  readonly periodStart: LocalDate;
  readonly data: NotificationEventData[Type];
}

/** An event as sent: the JSON body of a webhook. */
export type NotificationEvent = { [Type in NotificationEventType]: EventOf<Type> }[NotificationEventType];

/** What a caller asks to send: the event without its id, plus the key of the state change the id derives from. */
export type NotificationInput = {
  [Type in NotificationEventType]: Omit<EventOf<Type>, 'id'> & {
    /** Names this state change among others of the same type for the period (see the glossary). */
    readonly change: string;
  };
}[NotificationEventType];
