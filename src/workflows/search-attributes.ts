import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Search attributes of period, scheduled and backfill workflows, so the Temporal UI can list
 * e.g. `TwowayClient = "acme" AND ExecutionStatus = "Failed"`. The worker registers them on
 * its namespace before polling.
 */
export const CLIENT_ATTRIBUTE = defineSearchAttributeKey('TwowayClient', SearchAttributeType.KEYWORD);
export const FREQUENCY_ATTRIBUTE = defineSearchAttributeKey('TwowayFrequency', SearchAttributeType.KEYWORD);
/** First local date of the period, `YYYY-MM-DD`. */
export const PERIOD_ATTRIBUTE = defineSearchAttributeKey('TwowayPeriod', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTE_KEYS = [CLIENT_ATTRIBUTE, FREQUENCY_ATTRIBUTE, PERIOD_ATTRIBUTE] as const;

/** Built-in: the nominal time of a scheduled run (also set by Temporal's schedule backfills). */
export const SCHEDULED_START_TIME_ATTRIBUTE = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

/** The attributes a period workflow carries; set when it starts so the UI can find it at once. */
export function periodSearchAttributes(clientId: string, frequency: string, periodStart: string) {
  return [
    { key: CLIENT_ATTRIBUTE, value: clientId },
    { key: FREQUENCY_ATTRIBUTE, value: frequency },
    { key: PERIOD_ATTRIBUTE, value: periodStart },
  ];
}

/** Scheduled and backfill workflows carry client and frequency (their periods vary). */
export function clientSearchAttributes(clientId: string, frequency: string) {
  return [
    { key: CLIENT_ATTRIBUTE, value: clientId },
    { key: FREQUENCY_ATTRIBUTE, value: frequency },
  ];
}
