import type { MetricMeter } from '@temporalio/common';

/**
 * The pipeline's own metrics, recorded through Temporal's metric meter so they are served by
 * the same Prometheus endpoint as the SDK's (Runtime telemetry), under the `twoway_` prefix.
 */
export interface ReportMetrics {
  recordBuild(rows: number, bytes: number, seconds: number): void;
  /** `outcome`: delivered, already_present, or the error type of a failed attempt. */
  recordDelivery(outcome: string, bytes: number, seconds: number): void;
  /** 1 while the worker's database answers, 0 while it does not. */
  recordDatabaseUp(up: boolean): void;
}

export function createReportMetrics(meter: MetricMeter): ReportMetrics {
  const rowsWritten = meter.createCounter('twoway_rows_written', 'rows', 'Rows written into report files');
  const bytesWritten = meter.createCounter('twoway_bytes_written', 'bytes', 'Bytes of report files built');
  const buildSeconds = meter.createHistogram('twoway_build_duration', 'float', 's', 'Time to build one report file');
  const deliveries = meter.createCounter('twoway_deliveries', 'attempts', 'Delivery attempts by outcome');
  const bytesDelivered = meter.createCounter('twoway_bytes_delivered', 'bytes', 'Bytes uploaded over SFTP');
  const deliverySeconds = meter.createHistogram('twoway_delivery_duration', 'float', 's', 'Time of one delivery attempt');
  const databaseUp = meter.createGauge('twoway_database_up', 'int', '', 'Whether the worker\'s database answers (1) or not (0)');
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
  };
}
