import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import type { Knex } from 'knex';
import type pg from 'pg';
import { assertReportable, requireDelivery } from '../domain/client-config.js';
import { NON_RETRYABLE_ERROR_TYPES, PeriodNotEndedError, UsageError, describeValue } from '../domain/errors.js';
import { RUN_REASONS, isRunReason, keepsSnapshots } from '../domain/late-data.js';
import { recordBuildFingerprint, restatementNotice } from '../db/late-data.js';
import { queueNotifications } from '../db/period-watch.js';
import { keepRevisionRows, type RevisionRowsRequest } from '../drift/revision-rows.js';
import { notificationEventId } from '../notifications/webhook.js';
import type { BuiltFile, Frequency, LocalDate, RunPolicy } from '../domain/types.js';
import { loadClient } from '../db/clients.js';
import { latestDelivered, recordAttempt, recordRunFailed, recordRunFinished, recordRunStarted, type DeliveredRevision, type RunOutcome } from '../db/ledger.js';
import { withPeriodLock } from '../db/period-lock.js';
import { createPublicationLedger, deliveredPeriodStarts } from '../db/report-files.js';
import { isPreparedTemporaryOf } from '../delivery/local-file.js';
import { publishPeriodFile } from '../delivery/period-publisher.js';
import { createManifestSigner } from '../delivery/pgp.js';
import { periodContaining } from '../domain/periods.js';
import { remoteTemporaryMaxAgeMs } from '../domain/leftovers.js';
import type { Logger } from '../observability/logger.js';
import type { ReportMetrics } from '../observability/metrics.js';
import { buildingPath } from '../report/build-report.js';
import { LARGE_FILE_MIN_BYTES, createFilePermits, type FilePermits } from './file-permits.js';
import { WHOLE_NUMBER_SETTINGS } from '../config/env.js';
import { buildPlannedFile, planPeriodFile } from '../report/period-file.js';

export interface ActivityDeps {
  readonly knex: Knex;
  readonly databaseUrl: string;
  /** Where this host writes files before delivering them (the worker process's own folder, see report/work-folder.ts). */
  readonly workDir: string;
  /** The task queue only this worker process polls (build and delivery of one file stay on one host). */
  readonly hostTaskQueue: string;
  readonly policy: RunPolicy;
  /** Where secret references of type `env` are read; the delivering process's own environment. */
  readonly secretsEnv: NodeJS.ProcessEnv;
  readonly logger: Logger;
  readonly metrics?: ReportMetrics;
  readonly sftpTimeouts?: { readonly connectTimeoutMs?: number; readonly operationTimeoutMs?: number };
  /** Connections builds borrow (report/build-report.ts); without it each build opens one of its own. */
  readonly buildConnections?: pg.Pool;
  /** Connections the period lock borrows (db/period-lock.ts); without it each delivery opens one of its own. */
  readonly lockConnections?: pg.Pool;
  /** Permits large builds and uploads take; without it, TWOWAY_MAX_CONCURRENT_FILES's default. */
  readonly largeFilePermits?: FilePermits;
}

export interface PeriodInput {
  readonly clientId: string;
  readonly frequency: Frequency;
  readonly periodStart: LocalDate;
}

export type StartRunResult =
  // 'skip', DeliverOutcome's 'already-delivered' and the ledger's 'skipped' are one idea (see
  // "already delivered" in the glossary of domain/types.ts): the first two are in the history of
  // runs in flight, the third is the ledger's documented status, so none is renamed.
  | { readonly action: 'skip'; readonly delivered: DeliveredRevision }
  | {
      readonly action: 'build';
      readonly fileName: string;
      readonly latest: DeliveredRevision | null;
      readonly policy: RunPolicy;
      /** The host that builds and delivers (as claimHost answers); absent in runs recorded before it was returned. */
      readonly hostTaskQueue?: string;
    };

export interface DeliverInput {
  /** The built file on this host. */
  readonly path: string;
  /** The period's planned file name (revision 1); later revisions derive theirs. */
  readonly fileName: string;
  /** SHA-256 of the built file: the bytes sent must match it before anything is renamed into place. */
  readonly sha256: string;
  readonly rowCount: number;
  /** Deliver a changed file of a delivered period as the next revision. */
  readonly force: boolean;
}

/**
 * A built file to remove from this host: the one at `path` (a forced rerun that changed
 * nothing), or the period's file with whatever unfinished part of it (`.part`, gzip `.tmp`)
 * is there (a run that failed, was cancelled, or moved on to another host).
 */
export type DiscardInput = { readonly path: string } | (PeriodInput & { readonly fileName: string });

/** What delivery did, in the ledger's terms; only names, counts and checksums. */
export interface DeliverOutcome {
  readonly status: 'delivered' | 'already-delivered' | 'unchanged';
  readonly revision: number;
  readonly fileName: string;
  readonly remotePath: string;
  readonly rowCount: number;
  /** Bytes of the delivered data file (gzipped when the client wants gzip). */
  readonly bytes: number;
  /** SHA-256 of the CSV of the delivered revision. */
  readonly sha256: string;
}

/** How long an attempt waits for another attempt of the same period to finish its delivery. */
const PERIOD_LOCK_WAIT_MS = 5 * 60 * 1000;

function currentRun(): { workflowId: string; runId: string } {
  const execution = Context.current().info.workflowExecution;
  if (!execution) throw new Error('report activities run only inside a workflow');
  return { workflowId: execution.workflowId, runId: execution.runId };
}

function heartbeatThrottled(): (details: unknown) => void {
  // The SDK throttles what it sends; this also spares the allocations of progress calls that come many times a second.
  // The first one waits too: a step done within a second sends none (each heartbeat that reaches Temporal is an Action).
  const HEARTBEAT_EVERY_MS = 1_000;
  let last = Date.now();
  return (details) => {
    const now = Date.now();
    if (now - last < HEARTBEAT_EVERY_MS) return;
    last = now;
    Context.current().heartbeat(details);
  };
}

/** Where this host builds the period's file. */
function periodWorkDir(deps: ActivityDeps, input: PeriodInput): string {
  return join(deps.workDir, input.clientId, input.frequency);
}

function periodLogger(deps: ActivityDeps, input: PeriodInput) {
  return deps.logger.child({ client: input.clientId, frequency: input.frequency, period: input.periodStart, workflowId: currentRun().workflowId });
}

/** The period's plan, refusing a date that is not the first day of its period. */
async function planPeriod(deps: ActivityDeps, input: PeriodInput) {
  const planned = await planPeriodFile(deps.knex, { clientId: input.clientId, frequency: input.frequency, date: input.periodStart, purpose: 'deliver' });
  if (planned.period.start !== input.periodStart) {
    throw new UsageError(
      `client "${input.clientId}": period ${input.periodStart} is not the first day of a ${input.frequency} period; allowed: ${planned.period.start}`,
    );
  }
  return planned;
}

/**
 * The rows of a delivered revision, its row changes and corrections file (drift/revision-rows.ts).
 * A refusal no retry can change (the server holds another corrections file, say) is logged and
 * leaves the counts unknown: the data file is delivered, and failing the run now would not undo it.
 */
async function keepDeliveredRows(deps: ActivityDeps, request: RevisionRowsRequest, logger: Logger, onProgress: (bytes: number) => void): Promise<void> {
  try {
    const kept = await keepRevisionRows(deps.knex, request, { env: deps.secretsEnv, logger, onProgress, ...deps.sftpTimeouts });
    if (kept.kind === 'kept' && kept.changes) logger.info({ ...kept.changes, corrections: kept.correctionsPath }, 'revision compared with the one before');
    if (kept.kind === 'not-kept' && keepsSnapshots(request.client.lateData)) logger.warn({ reason: kept.reason }, "revision's rows not kept");
  } catch (error) {
    if (!(error instanceof Error) || !NON_RETRYABLE_ERROR_TYPES.includes(error.name)) throw error;
    logger.warn({ errorType: error.name, error: error.message }, "the revision's corrections could not be delivered; its row changes stay unknown");
  }
}

/**
 * Steps any worker can run (shared task queue): the ledger's start and end of a run, which host
 * builds, what a backfill needs. Proxied in workflows as SharedActivities.
 */
export function createSharedActivities(deps: ActivityDeps) {
  return {
    /**
     * Checks the client, records the run in the ledger and says whether there is anything to do,
     * and which host builds (this worker's, as claimHost would answer). `reason` is absent in runs
     * started before it was recorded, and for schedules' and operators' runs.
     */
    async startRun(input: PeriodInput & { readonly force: boolean; readonly reason?: string }): Promise<StartRunResult> {
      if (input.reason !== undefined && !isRunReason(input.reason))
        throw new UsageError(`run reason ${describeValue(input.reason)}; allowed: ${RUN_REASONS.join(', ')}, or none`);
      const planned = await planPeriod(deps, input);
      requireDelivery(planned.client);
      if (planned.period.endInstant > Date.now()) {
        throw new PeriodNotEndedError(input.clientId, input.frequency, input.periodStart, new Date(planned.period.endInstant).toISOString());
      }
      const delivered = await latestDelivered(deps.knex, input);
      await recordRunStarted(deps.knex, { ...input, ...currentRun(), periodEnd: planned.period.end, forced: input.force, reason: input.reason ?? null });
      if (delivered && !input.force) {
        await recordRunFinished(deps.knex, currentRun(), {
          status: 'skipped',
          revision: delivered.revision,
          sha256: delivered.sha256,
          fileName: delivered.fileName,
          remotePath: delivered.remotePath,
        });
        periodLogger(deps, input).info({ revision: delivered.revision }, 'period already delivered; nothing to do');
        return { action: 'skip', delivered };
      }
      return { action: 'build', fileName: planned.fileName, latest: delivered, policy: deps.policy, hostTaskQueue: deps.hostTaskQueue };
    },

    /**
     * The task queue of the worker that runs this activity: the build and the delivery go there,
     * so this worker's host takes the file. The name is kept although nothing is locked: an
     * activity's type is in the history of every run in flight, and a rename needs a patched()
     * branch for as long as such runs may exist, for no change in behaviour.
     */
    async claimHost(): Promise<string> {
      return deps.hostTaskQueue;
    },

    /** Records how the run ended; a restatement of a drifted period queues its `period.restated` notification. */
    async finishRun(outcome: RunOutcome): Promise<void> {
      await recordRunFinished(deps.knex, currentRun(), outcome);
      const { revision, fileName, rowCount, sha256 } = outcome;
      if (outcome.status !== 'delivered' || !revision || !fileName || rowCount === undefined || rowCount === null || !sha256) return;
      const notice = await restatementNotice(deps.knex, currentRun(), { revision, fileName, rowCount, sha256 }, new Date());
      if (notice) await queueNotifications(deps.knex, [{ id: notificationEventId(notice), input: notice }]);
    },

    async failRun(input: { readonly error: string; readonly errorType?: string; readonly cancelled: boolean }): Promise<void> {
      // errorType is absent in runs started before it was recorded (history replays them unchanged).
      await recordRunFailed(deps.knex, currentRun(), input.cancelled ? 'cancelled' : 'failed', input.error, input.errorType ?? null);
    },

    /** What a backfill needs to know of its client. */
    async describeClient(input: { readonly clientId: string }): Promise<{ timeZone: string; frequency: Frequency }> {
      const client = await loadClient(deps.knex, input.clientId);
      assertReportable(client, 'deliver');
      return { timeZone: client.timeZone, frequency: client.frequency };
    },

    async listDeliveredPeriods(input: {
      readonly clientId: string;
      readonly frequency: Frequency;
      readonly from: LocalDate;
      readonly to: LocalDate;
    }): Promise<LocalDate[]> {
      return deliveredPeriodStarts(deps.knex, input.clientId, input.frequency, input.from, input.to);
    },
  };
}

/**
 * Steps bound to the host that built the file (its own task queue, as in samples-typescript's
 * worker-specific task queues): build, deliver, discard. Proxied in workflows as HostActivities.
 */
export function createHostActivities(deps: ActivityDeps) {
  const largeFiles = deps.largeFilePermits ?? createFilePermits(WHOLE_NUMBER_SETTINGS.maxConcurrentFiles.default);
  return {
    /** Builds the period's file on this host; heartbeats rows written and stops when cancelled. */
    async buildReport(input: PeriodInput): Promise<BuiltFile> {
      const context = Context.current();
      const previous = context.info.heartbeatDetails as { rowsWritten?: number } | undefined;
      const logger = periodLogger(deps, input);
      if (previous?.rowsWritten !== undefined) {
        logger.info({ previousRows: previous.rowsWritten }, 'earlier attempt stopped part way; rebuilding (the file is deterministic)');
      }
      const planned = await planPeriod(deps, input);
      const startedAt = performance.now();
      const heartbeat = heartbeatThrottled();
      // The drift check compares later readings of the source with the one this file was built from.
      const fingerprint = planned.client.lateData.policy !== 'off';
      let releasePermit: (() => void) | undefined;
      const waitForPermit = async () => {
        releasePermit = await largeFiles.acquire({ signal: context.cancellationSignal, onWait: () => heartbeat({ waitingForPermit: true }) });
      };
      const { fingerprint: source, ...built } = await buildPlannedFile(deps.buildConnections ?? deps.databaseUrl, planned, periodWorkDir(deps, input), {
        onProgress: (rowsWritten) => heartbeat({ rowsWritten }),
        signal: context.cancellationSignal,
        fingerprint,
        large: { minBytes: LARGE_FILE_MIN_BYTES, wait: waitForPermit },
      }).finally(() => releasePermit?.());
      if (source) await recordBuildFingerprint(deps.knex, input, { sha256: built.sha256, fingerprint: source });
      const seconds = (performance.now() - startedAt) / 1000;
      deps.metrics?.recordBuild(built.rowCount, built.bytes, seconds);
      logger.info({ rows: built.rowCount, bytes: built.bytes, sha256: built.sha256, seconds }, 'built report file');
      return built;
    },

    /**
     * Publishes the built file exactly once, holding the period's lock: reconciles what earlier
     * attempts left half done, then delivers this file, or finds the period delivered or
     * unchanged. The built file is removed once the outcome is recorded.
     */
    async deliverReport(input: PeriodInput & DeliverInput): Promise<DeliverOutcome> {
      const context = Context.current();
      const run = currentRun();
      await recordAttempt(deps.knex, run);
      const client = await loadClient(deps.knex, input.clientId);
      const settings = requireDelivery(client);
      const logger = periodLogger(deps, input).child({ attempt: context.info.attempt });
      const startedAt = performance.now();
      const heartbeat = heartbeatThrottled();
      const period = { clientId: input.clientId, frequency: input.frequency, periodStart: input.periodStart };
      // A retry after the file was delivered and removed finds none: the ledger answers it.
      const bytes = await stat(input.path).then(
        (found) => found.size,
        () => 0,
      );
      const releasePermit =
        bytes >= LARGE_FILE_MIN_BYTES
          ? await largeFiles.acquire({ signal: context.cancellationSignal, onWait: () => heartbeat({ waitingForPermit: true }) })
          : undefined;
      try {
        const published = await withPeriodLock(
          deps.knex,
          deps.lockConnections ?? deps.databaseUrl,
          period,
          { waitTimeoutMs: PERIOD_LOCK_WAIT_MS, signal: context.cancellationSignal, onWait: () => heartbeat({ waitingForLock: true }) },
          (lock) =>
            publishPeriodFile(
              {
                clientId: client.id,
                settings,
                localPath: input.path,
                baseFileName: input.fileName,
                sha256: input.sha256,
                signManifest: createManifestSigner(client.id, settings, deps.secretsEnv),
                rowCount: input.rowCount,
                run,
                force: input.force,
                period: periodContaining(input.frequency, input.periodStart, client.timeZone),
                temporaryMaxAgeMs: remoteTemporaryMaxAgeMs(deps.policy),
              },
              createPublicationLedger(lock, period),
              { env: deps.secretsEnv, logger, signal: lock.signal, onProgress: (bytesSent: number) => heartbeat({ bytesSent }), ...deps.sftpTimeouts },
            ),
        );
        const { file } = published;
        deps.metrics?.recordDelivery(
          published.uploaded ? 'delivered' : 'already_present',
          published.uploaded ? file.bytes : 0,
          (performance.now() - startedAt) / 1000,
        );
        if (published.status === 'delivered') {
          await keepDeliveredRows(
            deps,
            { client, settings, key: period, run, localPath: input.path, localSha256: input.sha256, baseFileName: input.fileName, delivered: file },
            logger,
            (bytesSent) => heartbeat({ bytesSent }),
          );
        }
        await rm(input.path, { force: true });
        return {
          status: published.status,
          revision: file.revision,
          fileName: file.fileName,
          remotePath: file.remotePath,
          rowCount: file.rowCount,
          bytes: file.bytes,
          sha256: file.sha256,
        };
      } catch (error) {
        deps.metrics?.recordDelivery(error instanceof Error ? error.name : 'error', 0, (performance.now() - startedAt) / 1000);
        throw error;
      } finally {
        releasePermit?.();
      }
    },

    /** Removes a built file from this host (see DiscardInput); one that is not there is fine. */
    async discardFile(input: DiscardInput): Promise<void> {
      if ('path' in input) {
        await rm(input.path, { force: true });
        return;
      }
      const dir = periodWorkDir(deps, input);
      const entries = await readdir(dir).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? [] : Promise.reject(error)));
      const part = buildingPath(input.fileName);
      const leftovers = entries.filter((entry) => entry === input.fileName || entry === part || isPreparedTemporaryOf(entry, input.fileName));
      for (const entry of leftovers) await rm(join(dir, entry), { force: true });
      if (leftovers.length > 0)
        periodLogger(deps, input).info({ removed: leftovers }, 'removed the built file of a run that did not deliver it from this host');
    },
  };
}

export type SharedActivities = ReturnType<typeof createSharedActivities>;
export type HostActivities = ReturnType<typeof createHostActivities>;
