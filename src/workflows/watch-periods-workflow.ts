import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { NotificationActivities } from '../activities/notifications.js';
import type { WatchdogActivities, WatchSummary } from '../activities/watchdog.js';
import { NON_RETRYABLE_ERROR_TYPES } from '../domain/errors.js';
import { NOTIFICATION_ACTIVITY_OPTIONS } from '../notifications/policy.js';

/**
 * A pass must end before the next one is due (the schedule skips a pass while one runs), so
 * sends retry within this window; an event still unsent stays in the outbox for the next pass.
 */
const SEND_WINDOW = '4 minutes';

const { watchPeriods, settleNotification } = proxyActivities<WatchdogActivities>({
  startToCloseTimeout: '4 minutes',
  retry: { initialInterval: '5 seconds', maximumAttempts: 3, nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES] },
});
const { sendNotification } = proxyActivities<NotificationActivities>({ ...NOTIFICATION_ACTIVITY_OPTIONS, scheduleToCloseTimeout: SEND_WINDOW });

export interface WatchPassResult extends Omit<WatchSummary, 'notifications'> {
  readonly sent: number;
  readonly unsent: number;
}

function refusedForGood(error: unknown): boolean {
  return error instanceof ActivityFailure && error.cause instanceof ApplicationFailure && error.cause.nonRetryable === true;
}

/**
 * One watchdog pass, started by the watchdog's schedule every few minutes: records every
 * period's state and sends each change's notification. Deliveries never wait for it: it
 * reads the ledger that period workflows write, on its own schedule.
 */
export async function watchPeriodsWorkflow(): Promise<WatchPassResult> {
  const { notifications, ...summary } = await watchPeriods();
  const outcomes = await Promise.all(
    notifications.map(async ({ eventId, input }) => {
      try {
        await sendNotification(input);
        await settleNotification({ eventId, outcome: 'sent' });
        return true;
      } catch (error) {
        const message = error instanceof ActivityFailure && error.cause ? error.cause.message : String(error);
        await settleNotification({ eventId, outcome: refusedForGood(error) ? 'refused' : 'unsent', error: message });
        return false;
      }
    }),
  );
  const sent = outcomes.filter(Boolean).length;
  return { ...summary, sent, unsent: outcomes.length - sent };
}
