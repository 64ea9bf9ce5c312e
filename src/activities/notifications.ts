import { Context } from '@temporalio/activity';
import { WebhookRejectedError, WebhookUnavailableError } from '../domain/errors.js';
import type { NotificationInput } from '../notifications/events.js';
import { describeWebhookEndpoint, type WebhookSettings } from '../notifications/settings.js';
import { createNotificationEvent, postWebhook } from '../notifications/webhook.js';
import type { Logger } from '../observability/logger.js';

export interface NotificationActivityDeps {
  /** Where events go; null when no webhook is configured (the activity then sends nothing). */
  readonly webhook: WebhookSettings | null;
  readonly logger: Logger;
}

export type NotificationResult =
  { readonly sent: false; readonly eventId: string } | { readonly sent: true; readonly eventId: string; readonly status: number };

/**
 * Notification steps. Retries are Temporal's: proxy them with NOTIFICATION_ACTIVITY_OPTIONS
 * (src/notifications/policy.ts). One request per attempt, so nothing to heartbeat.
 */
export function createNotificationActivities(deps: NotificationActivityDeps) {
  return {
    /**
     * Sends one event to the webhook. The event id derives from the input, so every attempt
     * sends the same id. Throws WebhookRejectedError (permanent) or WebhookUnavailableError
     * (retryable); logs one line per attempt, without the secret or the URL's path and query.
     */
    async sendNotification(input: NotificationInput): Promise<NotificationResult> {
      const event = createNotificationEvent(input);
      if (!deps.webhook) return { sent: false, eventId: event.id };
      const context = Context.current();
      const logger = deps.logger.child({
        eventId: event.id,
        eventType: event.type,
        client: event.clientId,
        frequency: event.frequency,
        period: event.periodStart,
        endpoint: describeWebhookEndpoint(deps.webhook.url),
        attempt: context.info.attempt,
      });
      try {
        const { status } = await postWebhook(deps.webhook, event, { signal: context.cancellationSignal });
        logger.info({ status }, 'notification sent');
        return { sent: true, eventId: event.id, status };
      } catch (error) {
        const status = error instanceof WebhookRejectedError || error instanceof WebhookUnavailableError ? error.status : null;
        logger.warn(
          { status, errorType: error instanceof Error ? error.name : typeof error, error: error instanceof Error ? error.message : String(error) },
          'notification not sent',
        );
        throw error;
      }
    },
  };
}

export type NotificationActivities = ReturnType<typeof createNotificationActivities>;
