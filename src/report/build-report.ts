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
const BUILD_APPLICATION_NAME = 'twoway-report build';
/** How long a pooled build connection stays open unused. */
const BUILD_IDLE_CONNECTION_MS = 30 * 1000;

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
  /**
   * A large file waits here before the write that takes it to `minBytes` of CSV (the worker's
   * permits for large files, activities/file-permits.ts); the build goes on when it resolves.
   */
  readonly large?: { readonly minBytes: number; readonly wait: () => Promise<void> };
}

/**
 * Where a build reads from: a connection string (a connection of its own, ended afterwards) or
 * a pool (a connection borrowed and given back, or discarded when the build failed: a COPY
 * stopped half way leaves it unusable). A worker builds from a pool, sparing a login per file.
 */
export type BuildDatabase = string | pg.Pool;

/** The build connections of a worker process; at most `max` at once, idle ones closed after a while. */
export function createBuildConnectionPool(databaseUrl: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: databaseUrl, application_name: BUILD_APPLICATION_NAME, max, idleTimeoutMillis: BUILD_IDLE_CONNECTION_MS });
  // Without listeners a dropped connection (PostgreSQL restarted) would crash the whole worker:
  // an idle one's error comes to the pool, a borrowed one's to the connection, whose COPY then fails (retried).
  pool.on('error', () => undefined);
  pool.on('connect', (connection) => connection.on('error', () => undefined));
  return pool;
}

async function openBuildConnection(database: BuildDatabase): Promise<{ connection: pg.ClientBase; close: (failure?: Error) => Promise<void> }> {
  if (typeof database !== 'string') {
    const connection = await database.connect();
    return { connection, close: async (failure) => connection.release(failure ?? false) };
  }
  const connection = new pg.Client({ connectionString: database, application_name: BUILD_APPLICATION_NAME });
  connection.on('error', () => undefined);
  try {
    await connection.connect();
  } catch (error) {
    await connection.end().catch(() => {});
    throw error;
  }
  return { connection, close: () => connection.end().catch(() => {}) };
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
export async function buildReportFile(database: BuildDatabase, request: BuildReportRequest, options: BuildReportOptions = {}): Promise<FingerprintedFile> {
  const { client, period, outputPath } = request;
  const isAfterHours = createAfterHoursClassifier(client.afterHours, period.startInstant, period.endInstant);
  const encoder = new ReportCsvEncoder(isAfterHours);
  const partPath = buildingPath(outputPath);
  await mkdir(dirname(outputPath), { recursive: true, mode: WORK_FOLDER_MODE });
  const { connection, close } = await openBuildConnection(database);
  const file = new HashingFileWriter(partPath);
  let bytesSinceProgress = 0;
  let bytesWritten = 0;
  let large = options.large;
  let failure: Error | undefined;

  try {
    const query = { clientId: client.id, startInstant: period.startInstant, endInstant: period.endInstant };
    let fingerprint: SourceFingerprint | undefined;
    if (options.fingerprint) {
      await connection.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      fingerprint = await readPeriodFingerprint(connection, query);
    }
    const header = Buffer.from(createReportCsv().header, 'utf8');
    await file.write(header);
    bytesWritten += header.length;
    const writeHeld = async () => {
      const records = encoder.take();
      if (large && bytesWritten + records.length >= large.minBytes) {
        await large.wait();
        large = undefined;
      }
      await file.write(records);
      bytesWritten += records.length;
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
    failure = error instanceof Error ? error : new Error(String(error));
    await file.abort();
    await rm(partPath, { force: true });
    throw error;
  } finally {
    await close(failure);
  }
}
