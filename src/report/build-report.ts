import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import pg from 'pg';
import { createAfterHoursClassifier } from '../domain/after-hours.js';
import type { BuiltFile, ClientConfig, Period } from '../domain/types.js';
import { readPeriodFingerprint, streamPeriodCopy } from '../db/period-events.js';
import type { SourceFingerprint } from '../domain/late-data.js';
import { createReportCsv } from './csv.js';
import { HashingFileWriter } from './hashing-file-writer.js';
import { ReportCsvEncoder } from './report-csv-encoder.js';
import { WORK_FOLDER_MODE } from './work-folder.js';

/** Bytes of CSV written between two progress reports. */
const PROGRESS_EVERY_BYTES = 1024 * 1024;
/** Records are written once this many bytes are held: one write (and one wait) per batch, not per network chunk. */
const WRITE_BATCH_BYTES = 1024 * 1024;

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
  /**
   * Also read the period's source fingerprint (domain/late-data.ts), in the same snapshot as the
   * rows (one REPEATABLE READ transaction), so that it describes exactly the file's source.
   */
  readonly fingerprint?: boolean;
}

/** Where a file is written until it is complete; a crash leaves it there for the work folder's sweep. */
export function buildingPath(outputPath: string): string {
  return `${outputPath}.part`;
}

/** A built file, with the fingerprint of its source when it was asked for. */
export type FingerprintedFile = BuiltFile & { readonly fingerprint?: SourceFingerprint };

/**
 * Builds one period's file: streams the period's events out of PostgreSQL (binary COPY),
 * turns them into RFC 4180 CSV records byte by byte (ReportCsvEncoder; after-hours flags from
 * precomputed business intervals) and returns the file's row count, size and SHA-256. The same data always yields the same bytes.
 * The file is written under a temporary name and renamed when complete.
 */
export async function buildReportFile(databaseUrl: string, request: BuildReportRequest, options: BuildReportOptions = {}): Promise<FingerprintedFile> {
  const { client, period, outputPath } = request;
  const isAfterHours = createAfterHoursClassifier(client.afterHours, period.startInstant, period.endInstant);
  const encoder = new ReportCsvEncoder(isAfterHours);
  const partPath = buildingPath(outputPath);
  await mkdir(dirname(outputPath), { recursive: true, mode: WORK_FOLDER_MODE });
  const connection = new pg.Client({ connectionString: databaseUrl, application_name: 'twoway-report build' });
  // Without a listener a dropped connection (PostgreSQL restarted mid-build) would crash the
  // whole worker; the COPY stream fails on its own, and the build with it (retried).
  connection.on('error', () => undefined);
  const file = new HashingFileWriter(partPath);
  let bytesSinceProgress = 0;

  try {
    await connection.connect();
    const query = { clientId: client.id, startInstant: period.startInstant, endInstant: period.endInstant };
    let fingerprint: SourceFingerprint | undefined;
    if (options.fingerprint) {
      await connection.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      fingerprint = await readPeriodFingerprint(connection, query);
    }
    await file.write(Buffer.from(createReportCsv().header, 'utf8'));
    const writeHeld = async () => {
      const records = encoder.take();
      await file.write(records);
      bytesSinceProgress += records.length;
      if (bytesSinceProgress >= PROGRESS_EVERY_BYTES) {
        bytesSinceProgress = 0;
        options.onProgress?.(encoder.rowCount);
      }
    };
    for await (const chunk of streamPeriodCopy(connection, query)) {
      options.signal?.throwIfAborted();
      if (encoder.push(chunk) >= WRITE_BATCH_BYTES) await writeHeld();
    }
    encoder.end();
    await writeHeld();
    options.onProgress?.(encoder.rowCount);
    if (fingerprint) await connection.query('COMMIT');
    const written = await file.close();
    await rename(partPath, outputPath);
    return {
      path: outputPath,
      fileName: basename(outputPath),
      rowCount: encoder.rowCount,
      bytes: written.bytes,
      sha256: written.sha256,
      ...(fingerprint ? { fingerprint } : {}),
    };
  } catch (error) {
    await file.abort();
    await rm(partPath, { force: true });
    throw error;
  } finally {
    // A COPY stopped half way leaves the connection unusable; it is ours alone, so end it.
    await connection.end().catch(() => {});
  }
}
