/**
 * Where the pieces are wired together: configuration, logging and metrics, the database,
 * the Temporal connection, the activities and the two workers of a process — one on the
 * shared task queue (workflows, ledger steps), one on a queue of this host only (building
 * and delivering files, which must happen on the same machine).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { createRequire } from 'node:module';
import { Client } from '@temporalio/client';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createHostActivities, createSharedActivities, type ActivityDeps } from './activities/index.js';
import { createDriftActivities } from './activities/drift.js';
import { createNotificationActivities } from './activities/notifications.js';
import { createPlanningActivities } from './activities/planning.js';
import { createWatchdogActivities } from './activities/watchdog.js';
import { WHOLE_NUMBER_SETTINGS, parseLogLevel, parseWatchSettings, parseWorkerConfig, type TemporalConfig, type WatchSettings } from './config/env.js';
import { workFileMaxAgeMs, type WorkerProcess } from './domain/leftovers.js';
import type { Instant } from './domain/types.js';
import { WORKFLOW_BUNDLE_PATH } from './config/paths.js';
import { TASK_QUEUE } from './domain/workflow-ids.js';
import { openDatabase } from './db/database.js';
import { watchDatabase } from './db/health.js';
import { migrateLatest } from './db/knex.js';
import { parseWebhookSettings, type WebhookSettings } from './notifications/settings.js';
import { servePeriodGauges } from './watchdog/period-gauges.js';
import { createLogger, type Logger } from './observability/logger.js';
import { temporalLogger } from './observability/temporal-logger.js';
import { missingSearchAttributes } from './temporal/search-attributes-setup.js';
import { createReportMetrics, prometheusTelemetryOptions } from './observability/metrics.js';
import { createWorkerFolder, isProcessRunning, sweepWorkFolder } from './report/work-folder.js';
import { createBuildConnectionPool } from './report/build-report.js';
import { createLockConnectionPool } from './db/period-lock.js';
import { createFilePermits } from './activities/file-permits.js';
import { sweepPgpKeyrings } from './delivery/pgp.js';

const require = createRequire(import.meta.url);
/** How often a running worker sweeps the work folder again (after its start): what other processes left, and its own files of runs that moved on. */
const WORK_SWEEP_INTERVAL_MS = 60 * 60 * 1000;

export function temporalConnectionOptions(config: TemporalConfig) {
  return { address: config.address, tls: config.tls === false ? undefined : config.tls, ...(config.apiKey ? { apiKey: config.apiKey } : {}) };
}

export interface ReportWorkersOptions extends Omit<ActivityDeps, 'hostTaskQueue' | 'workDir'> {
  /** The work folder: this process builds in a folder of its own inside it (report/work-folder.ts). */
  readonly workDir: string;
  readonly connection: NativeConnection;
  readonly namespace: string;
  /** Shared task queue; tests use one of their own. */
  readonly taskQueue?: string;
  /** Large builds and uploads at once (permits); TWOWAY_MAX_CONCURRENT_FILES's default when absent. */
  readonly maxConcurrentFiles?: number;
  /** Small builds and uploads at once, beside the large ones; TWOWAY_MAX_CONCURRENT_SMALL_FILES's default when absent. */
  readonly maxConcurrentSmallFiles?: number;
  readonly maxConcurrentWorkflowTasks?: number;
  /** Where the watchdog's notifications go; null or absent: none are sent (the outbox settles them unsent). */
  readonly webhook?: WebhookSettings | null;
  /** What the watchdog judges periods by; the defaults when absent. */
  readonly watch?: WatchSettings;
  /** The watchdog's clock; tests move it past due times. */
  readonly watchClock?: () => Instant;
}

export interface ReportWorkers {
  readonly hostTaskQueue: string;
  /** This process's folder inside the work folder, where its files are built. */
  readonly workDir: string;
  /** Runs both workers until shutdown. */
  run(): Promise<void>;
  shutdown(): void;
}

/** The workflow code: the prebuilt bundle when there is one, else bundled now from source. */
function workflowSource() {
  return existsSync(WORKFLOW_BUNDLE_PATH) ? { workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH } } : { workflowsPath: require.resolve('./workflows/index.js') };
}

export async function createReportWorkers(options: ReportWorkersOptions): Promise<ReportWorkers> {
  const taskQueue = options.taskQueue ?? TASK_QUEUE;
  const self: WorkerProcess = { hostname: hostname(), pid: process.pid, token: randomBytes(3).toString('hex') };
  // Unique per process: a file built here is delivered from here.
  const hostTaskQueue = `${taskQueue}/host/${self.hostname}/${self.pid}-${self.token}`;
  // Before any work is taken: what crashed processes and old runs left in the work folder goes.
  const sweep = async () => {
    await sweepWorkFolder({ workDir: options.workDir, self, maxAgeMs: workFileMaxAgeMs(options.policy), now: () => Date.now(), logger: options.logger });
    await sweepPgpKeyrings({ isRunning: isProcessRunning, logger: options.logger });
  };
  const workDir = await createWorkerFolder(options.workDir, self, options.logger);
  await sweep();
  const largeFiles = options.maxConcurrentFiles ?? WHOLE_NUMBER_SETTINGS.maxConcurrentFiles.default;
  const hostSlots = largeFiles + (options.maxConcurrentSmallFiles ?? WHOLE_NUMBER_SETTINGS.maxConcurrentSmallFiles.default);
  // One login per connection, not one per file: each build and each delivery's lock borrows one.
  const buildConnections = createBuildConnectionPool(options.databaseUrl, hostSlots);
  const lockConnections = createLockConnectionPool(options.databaseUrl, hostSlots);
  const activityDeps = { ...options, workDir, hostTaskQueue, buildConnections, lockConnections, largeFilePermits: createFilePermits(largeFiles) };
  const watch = options.watch ?? parseWatchSettings({});
  const watchdog = createWatchdogActivities({
    knex: options.knex,
    temporal: new Client({ connection: options.connection, namespace: options.namespace }),
    scheduleTime: watch.scheduleTime,
    defaultDue: watch.defaultDue,
    notify: Boolean(options.webhook),
    logger: options.logger,
    ...(options.watchClock ? { now: options.watchClock } : {}),
  });
  const notifications = createNotificationActivities({ webhook: options.webhook ?? null, logger: options.logger });
  const drift = createDriftActivities({ knex: options.knex, databaseUrl: options.databaseUrl, workDir, logger: options.logger });
  const shared = await Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue,
    ...workflowSource(),
    activities: { ...createSharedActivities(activityDeps), ...createPlanningActivities(), ...watchdog, ...notifications, ...drift },
    maxConcurrentWorkflowTaskExecutions: options.maxConcurrentWorkflowTasks ?? WHOLE_NUMBER_SETTINGS.maxConcurrentWorkflowTasks.default,
    shutdownGraceTime: '30 seconds',
  });
  const host = await Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: hostTaskQueue,
    activities: createHostActivities(activityDeps),
    // A large file waiting for a permit holds its slot; small ones go on in the others.
    maxConcurrentActivityTaskExecutions: hostSlots,
    // Long uploads get time to finish; the workflow retries whatever is cut off.
    shutdownGraceTime: '60 seconds',
  });
  return {
    hostTaskQueue,
    workDir,
    run: async () => {
      const sweeps = setInterval(() => {
        sweep().catch((error: unknown) => options.logger.warn({ err: error }, 'sweeping the work folder failed'));
      }, WORK_SWEEP_INTERVAL_MS);
      try {
        await Promise.all([shared.run(), host.run()]);
      } finally {
        clearInterval(sweeps);
        await Promise.all([buildConnections.end(), lockConnections.end()]).catch(() => undefined);
      }
    },
    // The SDK's runtime may have stopped them already (SIGINT, SIGTERM).
    shutdown: () => {
      for (const worker of [shared, host]) if (worker.getState() === 'RUNNING') worker.shutdown();
    },
  };
}

/**
 * Says at start when the namespace lacks the project's search attributes (period runs would
 * fail to start), without requiring them to be listable: a Temporal Cloud API key may not be.
 */
async function checkSearchAttributes(connection: NativeConnection, namespace: string, logger: Logger): Promise<void> {
  try {
    const missing = await missingSearchAttributes(connection, namespace);
    if (missing.length > 0) {
      logger.error(
        { namespace, missing },
        'the namespace lacks search attributes the workflows set; run `twoway-report setup-namespace` (Temporal Cloud: create them as Keyword in the Cloud UI or with tcld)',
      );
    }
  } catch (error) {
    logger.info(
      { namespace, reason: error instanceof Error ? error.message : String(error) },
      'search attributes not checked (managed outside the operator API, as on Temporal Cloud)',
    );
  }
}

/**
 * The `worker` command: a long-running worker process for the environment's configuration.
 * Stops gracefully on SIGINT/SIGTERM (the SDK's runtime handles the signals).
 */
export async function runWorkerProcess(
  env: NodeJS.ProcessEnv,
  logger: Logger = createLogger({ name: 'twoway-worker', level: parseLogLevel(env) }),
): Promise<void> {
  const config = parseWorkerConfig(env);
  Runtime.install({
    logger: temporalLogger(logger),
    ...(config.metricsAddress ? { telemetryOptions: prometheusTelemetryOptions(config.metricsAddress) } : {}),
  });
  const database = await openDatabase(env, (line) => logger.debug({ component: 'postgres' }, line));
  // Closed on every path: an open pool (or an embedded server) would keep a failed worker alive.
  let connection: NativeConnection | undefined;
  try {
    await migrateLatest(database.knex);
    connection = await NativeConnection.connect(temporalConnectionOptions(config.temporal));
    await checkSearchAttributes(connection, config.temporal.namespace, logger);
    const metrics = createReportMetrics(Runtime.instance().metricMeter);
    const databaseWatch = watchDatabase(database.knex, { logger, onChange: (up) => metrics.recordDatabaseUp(up) });
    const periodGauges = servePeriodGauges(database.knex, metrics, { logger });
    const workers = await createReportWorkers({
      connection,
      namespace: config.temporal.namespace,
      knex: database.knex,
      databaseUrl: database.url,
      workDir: config.workDir,
      policy: config.policy,
      secretsEnv: env,
      logger,
      metrics,
      sftpTimeouts: config.sftpTimeouts,
      maxConcurrentFiles: config.maxConcurrentFiles,
      maxConcurrentSmallFiles: config.maxConcurrentSmallFiles,
      maxConcurrentWorkflowTasks: config.maxConcurrentWorkflowTasks,
      webhook: parseWebhookSettings(env),
      watch: config.watch,
    });
    logger.info(
      {
        address: config.temporal.address,
        namespace: config.temporal.namespace,
        taskQueue: TASK_QUEUE,
        hostTaskQueue: workers.hostTaskQueue,
        workDir: workers.workDir,
        metrics: config.metricsAddress,
        secretEnvPrefix: config.secrets.envPrefix,
        secretsDir: config.secrets.secretsDir,
      },
      'worker started',
    );
    try {
      await workers.run();
    } finally {
      databaseWatch.stop();
      periodGauges.stop();
    }
    logger.info('worker stopped');
  } finally {
    await connection?.close();
    await database.close();
  }
}
