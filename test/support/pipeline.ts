import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { periodWorkflowId } from '../../src/domain/workflow-ids.js';
import type { ReportPeriodInput, reportPeriodWorkflow } from '../../src/workflows/report-period-workflow.js';
import { periodSearchAttributes } from '../../src/workflows/search-attributes.js';
import type { WatchSettings } from '../../src/config/env.js';
import type { RunPolicy } from '../../src/domain/types.js';
import type { WebhookSettings } from '../../src/notifications/settings.js';
import { startSftpServer, type SftpServer } from '../../src/devstack/sftp-server.js';
import { createSilentLogger } from '../../src/observability/logger.js';
import { createReportWorkers, type ReportWorkers } from '../../src/worker.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { deliveryFor } from './delivery.js';
import { startTestTemporal, type TestTemporal } from './temporal.js';

/** Fast retries and short timeouts, so failure paths take seconds in tests. */
export const TEST_POLICY: RunPolicy = {
  deliveryDeadlineMs: 60_000,
  retryInitialIntervalMs: 200,
  retryMaxIntervalMs: 1_000,
  buildTimeoutMs: 60_000,
  buildDeadlineMs: 120_000,
  heartbeatTimeoutMs: 10_000,
  hostScheduleToStartTimeoutMs: 10_000,
  maxHosts: 2,
};

export interface Pipeline {
  readonly db: TestDatabase;
  readonly sftp: SftpServer;
  readonly temporal: TestTemporal;
  readonly taskQueue: string;
  readonly workers: ReportWorkers;
  /** Environment the worker resolves secret references from (and its TWOWAY_SECRETS_DIR: the sshd's key folder). */
  readonly secretsEnv: NodeJS.ProcessEnv;
  /** Starts a period's workflow on this pipeline's task queue, under the period's business-key id and search attributes. */
  startPeriod(input: ReportPeriodInput): Promise<WorkflowHandleWithFirstExecutionRunId<typeof reportPeriodWorkflow>>;
  /** A delivery setting for this sshd, with key login, into `<sftp root>/<folder>` (created). */
  deliveryTo(folder: string, patch?: Record<string, unknown>): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

/**
 * Every real part a period run touches: a migrated PostgreSQL database, OpenSSH sshd, a
 * Temporal dev server, and the project's own workers on a task queue of this test file.
 */
export interface PipelineOptions {
  readonly policy?: RunPolicy;
  /** Where the watchdog's notifications go. */
  readonly webhook?: WebhookSettings;
  readonly watch?: WatchSettings;
  /** The watchdog's clock. */
  readonly watchClock?: () => number;
}

export async function startPipeline(options: PipelineOptions = {}): Promise<Pipeline> {
  const baseDir = await mkdtemp(join(tmpdir(), 'twoway-pipeline-'));
  const db = await createTestDatabase();
  const sftp = await startSftpServer({ baseDir: join(baseDir, 'sftp') });
  const temporal = await startTestTemporal();
  const taskQueue = `twoway-test-${randomBytes(4).toString('hex')}`;
  const secretsEnv: NodeJS.ProcessEnv = {
    TWOWAY_SECRETS_DIR: sftp.secretsDir,
    TWOWAY_SECRET_TEST_SFTP_PASSWORD: sftp.password,
    TWOWAY_SECRET_TEST_WRONG_PASSWORD: 'not-the-password',
  };
  const workers = await createReportWorkers({
    connection: temporal.nativeConnection,
    namespace: temporal.namespace ?? 'default',
    taskQueue,
    knex: db.knex,
    databaseUrl: db.url,
    workDir: join(baseDir, 'work'),
    policy: options.policy ?? TEST_POLICY,
    secretsEnv,
    logger: createSilentLogger(),
    sftpTimeouts: { connectTimeoutMs: 5_000, operationTimeoutMs: 10_000 },
    ...(options.webhook ? { webhook: options.webhook } : {}),
    ...(options.watch ? { watch: options.watch } : {}),
    ...(options.watchClock ? { watchClock: options.watchClock } : {}),
  });
  const running = workers.run();
  return {
    db,
    sftp,
    temporal,
    taskQueue,
    workers,
    secretsEnv,
    startPeriod: (input) =>
      temporal.client.workflow.start<typeof reportPeriodWorkflow>('reportPeriodWorkflow', {
        taskQueue,
        workflowId: periodWorkflowId(input.clientId, input.frequency, input.periodStart),
        args: [input],
        typedSearchAttributes: periodSearchAttributes(input.clientId, input.frequency, input.periodStart),
      }),
    deliveryTo: (folder, patch) => deliveryFor(sftp, folder, patch),
    close: async () => {
      workers.shutdown();
      await running;
      await temporal.teardown();
      await sftp.dispose();
      await db.drop();
      await rm(baseDir, { recursive: true, force: true });
    },
  };
}
