import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import pg from 'pg';
import { createAfterHoursClassifier } from '../domain/after-hours.js';
import type { BuiltFile, ClientConfig, Period } from '../domain/types.js';
import { streamPeriodCopy } from '../db/period-events.js';
import { createReportCsv } from './csv.js';
import { HashingFileWriter } from './hashing-file-writer.js';
import { ReportCsvEncoder } from './report-csv-encoder.js';

/** Bytes of CSV written between two progress reports. */
const PROGRESS_EVERY_BYTES = 1024 * 1024;

export interface BuildReportRequest {
  readonly client: ClientConfig;
  readonly period: Period;
  /** Where the finished file goes; it appears there only when complete. */
  readonly outputPath: string;
}

export interface BuildReportOptions {
  /** Called after each write with the rows written so far (heartbeats, progress bars). */
  readonly onProgress?: (rowsWritten: number) => void;
  readonly signal?: AbortSignal;
}

/**
 * Builds one period's file: streams the period's events out of PostgreSQL (binary COPY),
 * turns them into RFC 4180 CSV records byte by byte (ReportCsvEncoder; after-hours flags from
 * precomputed business intervals) and returns the file's row count, size and SHA-256. The same data always yields the same bytes.
 * The file is written under a temporary name and renamed when complete.
 */
export async function buildReportFile(databaseUrl: string, request: BuildReportRequest, options: BuildReportOptions = {}): Promise<BuiltFile> {
  const { client, period, outputPath } = request;
  const isAfterHours = createAfterHoursClassifier(client.afterHours, period.startInstant, period.endInstant);
  const encoder = new ReportCsvEncoder(isAfterHours);
  const partPath = `${outputPath}.part`;
  await mkdir(dirname(outputPath), { recursive: true });
  const connection = new pg.Client({ connectionString: databaseUrl, application_name: 'twoway-report build' });
  // Without a listener a dropped connection (PostgreSQL restarted mid-build) would crash the
  // whole worker; the COPY stream fails on its own, and the build with it (retried).
  connection.on('error', () => undefined);
  const file = new HashingFileWriter(partPath);
  let bytesSinceProgress = 0;

  try {
    await connection.connect();
    await file.write(Buffer.from(createReportCsv().header, 'utf8'));
    for await (const chunk of streamPeriodCopy(connection, { clientId: client.id, startInstant: period.startInstant, endInstant: period.endInstant })) {
      options.signal?.throwIfAborted();
      const records = encoder.encode(chunk);
      if (records.length === 0) continue;
      await file.write(records);
      bytesSinceProgress += records.length;
      if (bytesSinceProgress >= PROGRESS_EVERY_BYTES) {
        bytesSinceProgress = 0;
        options.onProgress?.(encoder.rowCount);
      }
    }
    encoder.end();
    options.onProgress?.(encoder.rowCount);
    const written = await file.close();
    await rename(partPath, outputPath);
    return { path: outputPath, fileName: basename(outputPath), rowCount: encoder.rowCount, bytes: written.bytes, sha256: written.sha256 };
  } catch (error) {
    await file.abort();
    await rm(partPath, { force: true });
    throw error;
  } finally {
    // A COPY stopped half way leaves the connection unusable; it is ours alone, so end it.
    await connection.end().catch(() => {});
  }
}
