/**
 * How a workflow should call the notification activity. No I/O here, so workflows can import
 * it: `proxyActivities<NotificationActivities>(NOTIFICATION_ACTIVITY_OPTIONS)`.
 */
import type { ActivityOptions } from '@temporalio/common';
import { NON_RETRYABLE_ERROR_TYPES } from '../domain/errors.js';
import { MS_PER_HOUR, MS_PER_MINUTE, MS_PER_SECOND } from '../domain/time-zone.js';

/** Longest one webhook request may take, answer included; the activity's attempt timeout leaves room above it. */
export const WEBHOOK_REQUEST_TIMEOUT_MS = 10 * MS_PER_SECOND;

/**
 * Retries with backoff while the receiver is down (5xx, 408, 429, network faults, timeouts),
 * for up to a day; a refusal (other 4xx) is permanent and not retried. The caller must not
 * let a notification hold up a delivery: send it after the ledger is written, and treat its
 * failure as the notification's, not the period's.
 */
export const NOTIFICATION_ACTIVITY_OPTIONS = {
  startToCloseTimeout: WEBHOOK_REQUEST_TIMEOUT_MS + 20 * MS_PER_SECOND,
  scheduleToCloseTimeout: 24 * MS_PER_HOUR,
  retry: {
    initialInterval: 10 * MS_PER_SECOND,
    backoffCoefficient: 2,
    maximumInterval: 10 * MS_PER_MINUTE,
    nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
  },
} satisfies ActivityOptions;
