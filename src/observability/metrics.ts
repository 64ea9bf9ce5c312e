import type { MetricMeter } from '@temporalio/common';
import type { TelemetryOptions } from '@temporalio/worker';
import type { Instant } from '../domain/types.js';

const MS_PER_SECOND = 1000;

export const BUILD_DURATION_METRIC = 'twoway_build_duration_seconds';
export const DELIVERY_DURATION_METRIC = 'twoway_delivery_duration_seconds';

/**
 * Bucket boundaries, in seconds, for the pipeline's duration histograms: 50 ms to 2 h, about
 * three per decade. A small file builds in well under a second, a large one or a delivery that
 * waits on a slow host takes minutes, and the build timeout's default is 2 h. The SDK's default
 * boundaries (50 … 10000) are meant for milliseconds and would put every build in the first bucket.
 */
export const DURATION_BUCKETS_SECONDS: readonly number[] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200];

/**
 * Histogram boundaries per metric name for the Runtime's exporter (the SDK applies them
 * whatever the name's prefix). Histograms not listed keep the SDK's defaults.
 */
export const METRIC_BUCKET_OVERRIDES: Readonly<Record<string, number[]>> = {
  [BUILD_DURATION_METRIC]: [...DURATION_BUCKETS_SECONDS],
  [DELIVERY_DURATION_METRIC]: [...DURATION_BUCKETS_SECONDS],
};

/**
 * The Runtime's telemetry options for a Prometheus endpoint at `bindAddress` (`host:port`,
 * served at /metrics), with the project's histogram boundaries. The one place both the
 * worker and the demo take them from.
 */
export function prometheusTelemetryOptions(bindAddress: string): TelemetryOptions {
  return { metrics: { prometheus: { bindAddress, histogramBucketOverrides: { ...METRIC_BUCKET_OVERRIDES } } } };
}

/** How many of a client's periods are in each state that needs attention, as the watchdog sees them now. */
export interface PeriodStateCounts {
  readonly late: number;
  readonly missing: number;
  readonly failed: number;
}

/**
 * The pipeline's own metrics, recorded through Temporal's metric meter so they are served by
 * the same Prometheus endpoint as the SDK's (Runtime telemetry), under the `twoway_` prefix.
 * deploy/prometheus/alerts.yml alerts on them.
 */
export interface ReportMetrics {
  /** `twoway_rows_written`, `twoway_bytes_written` and `twoway_build_duration_seconds` (histogram). */
  recordBuild(rows: number, bytes: number, seconds: number): void;
  /**
   * `twoway_deliveries{outcome}`, `twoway_bytes_delivered` and `twoway_delivery_duration_seconds{outcome}`
   * (histogram). `outcome`: delivered, already_present, or the error type of a failed attempt.
   */
  recordDelivery(outcome: string, bytes: number, seconds: number): void;
  /** `twoway_database_up`: 1 while the worker's database answers, 0 while it does not. */
  recordDatabaseUp(up: boolean): void;
  /**
   * The watchdog's view of one client, replacing the previous one:
   * - `twoway_periods_late{client}`: periods past their due time and not delivered, while a run is still trying;
   * - `twoway_periods_missing{client}`: periods past their end for which no run ever started
   *   (a paused, deleted or skipped schedule);
   * - `twoway_periods_failed{client}`: periods whose last run failed and that were not delivered since;
   * - `twoway_last_delivered_period_end_seconds{client}`: Unix time, in seconds, of the end of the
   *   client's newest delivered period (`lastDeliveredPeriodEnd` is its `endInstant`, in milliseconds
   *   like every Instant). `null` (nothing delivered yet) leaves it unset, so the
   *   "no delivery for too long" alert stays quiet for a new client (late/missing cover it).
   *
   * Gauges keep their last value, so the watchdog must record every enabled client on every
   * pass, and zeros for a client it stops watching (disabled), or its last counts would stay.
   * The alert rules take the max across worker processes: a process must not keep serving
   * counts it no longer refreshes.
   */
  recordPeriodStates(clientId: string, counts: PeriodStateCounts, lastDeliveredPeriodEnd: Instant | null): void;
}

export function createReportMetrics(meter: MetricMeter): ReportMetrics {
  const rowsWritten = meter.createCounter('twoway_rows_written', 'rows', 'Rows written into report files');
  const bytesWritten = meter.createCounter('twoway_bytes_written', 'bytes', 'Bytes of report files built');
  const buildSeconds = meter.createHistogram(BUILD_DURATION_METRIC, 'float', 's', 'Time to build one report file, in seconds');
  const deliveries = meter.createCounter('twoway_deliveries', 'attempts', 'Delivery attempts by outcome');
  const bytesDelivered = meter.createCounter('twoway_bytes_delivered', 'bytes', 'Bytes uploaded over SFTP');
  const deliverySeconds = meter.createHistogram(DELIVERY_DURATION_METRIC, 'float', 's', 'Time of one delivery attempt, in seconds');
  const databaseUp = meter.createGauge('twoway_database_up', 'int', '', "Whether the worker's database answers (1) or not (0)");
  const periodsLate = meter.createGauge('twoway_periods_late', 'int', 'periods', 'Periods of the client past their due time and not delivered');
  const periodsMissing = meter.createGauge('twoway_periods_missing', 'int', 'periods', 'Periods of the client that ended and for which no run ever started');
  const periodsFailed = meter.createGauge(
    'twoway_periods_failed',
    'int',
    'periods',
    'Periods of the client whose last run failed and that were not delivered since',
  );
  const lastDeliveredEnd = meter.createGauge(
    'twoway_last_delivered_period_end_seconds',
    'float',
    's',
    "Unix time in seconds of the end of the client's newest delivered period",
  );
  return {
    recordBuild(rows, bytes, seconds) {
      rowsWritten.add(rows);
      bytesWritten.add(bytes);
      buildSeconds.record(seconds);
    },
    recordDelivery(outcome, bytes, seconds) {
      deliveries.add(1, { outcome });
      if (bytes > 0) bytesDelivered.add(bytes);
      deliverySeconds.record(seconds, { outcome });
    },
    recordDatabaseUp(up) {
      databaseUp.set(up ? 1 : 0);
    },
    recordPeriodStates(clientId, counts, lastDeliveredPeriodEnd) {
      const tags = { client: clientId };
      periodsLate.set(counts.late, tags);
      periodsMissing.set(counts.missing, tags);
      periodsFailed.set(counts.failed, tags);
      if (lastDeliveredPeriodEnd !== null) lastDeliveredEnd.set(lastDeliveredPeriodEnd / MS_PER_SECOND, tags);
    },
  };
}
