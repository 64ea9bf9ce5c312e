/**
 * A worker process killed (SIGKILL) in the middle of a delivery leaves its built CSV, the gzip
 * made for the upload and a partial upload on the server. The next worker started on the same
 * work folder removes the killed one's files before it takes any work, the run moves to it (the
 * killed host is lost), and the delivery that follows leaves nothing on either side but the
 * delivered file. Real worker process, Temporal dev server, PostgreSQL and sshd.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseRunPolicy } from '../../src/config/env.js';
import { seedEvents } from '../../src/db/seed.js';
import { startSftpServer, type SftpServer } from '../../src/devstack/sftp-server.js';
import { parseWorkerFolderName } from '../../src/domain/leftovers.js';
import { periodWorkflowId, TASK_QUEUE } from '../../src/domain/workflow-ids.js';
import { createSilentLogger } from '../../src/observability/logger.js';
import { createReportWorkers, type ReportWorkers } from '../../src/worker.js';
import type { reportPeriodWorkflow } from '../../src/workflows/report-period-workflow.js';
import { periodSearchAttributes } from '../../src/workflows/search-attributes.js';
import { startCliProcess } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { deliveryFor } from '../support/delivery.js';
import { filesUnder } from '../support/files.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { startTestTemporal, type TestTemporal } from '../support/temporal.js';
import { waitUntil } from '../support/wait.js';

const PERIOD = { clientId: 'acme', frequency: 'daily', periodStart: '2026-11-24' } as const;
const FILE = 'twoway_activity_acme_daily_20261124.csv';
/** Enough rows that the gzip is far larger than what the proxy lets through before it stalls. */
const EVENTS = 5_000;
/** Client-to-server bytes the proxy forwards before going silent: the login and the start of the upload. */
const STALL_AFTER_BYTES = 24 * 1024;
/**
 * Short policy for the killed worker (it records the run, so its policy is the run's): a lost host
 * is noticed in seconds, while a stalled upload is not given up before the kill.
 */
const WORKER_ENV = {
  TWOWAY_HEARTBEAT_TIMEOUT: '10s',
  TWOWAY_HOST_TIMEOUT: '3s',
  TWOWAY_RETRY_INITIAL_INTERVAL: '200ms',
  TWOWAY_RETRY_MAX_INTERVAL: '1s',
  TWOWAY_DELIVERY_DEADLINE: '2m',
  TWOWAY_SFTP_CONNECT_TIMEOUT: '5s',
  TWOWAY_SFTP_OPERATION_TIMEOUT: '60s',
};

describe('a worker killed mid-delivery: the next worker on its work folder sweeps what it left (real worker process)', () => {
  let baseDir: string;
  let db: TestDatabase;
  let sftp: SftpServer;
  let proxy: TcpProxy;
  let temporal: TestTemporal;
  let workers: ReportWorkers | undefined;
  let running: Promise<void> | undefined;
  let killed: ReturnType<typeof startCliProcess> | undefined;

  before(async () => {
    baseDir = await mkdtemp(join(tmpdir(), 'twoway-killed-leftovers-'));
    db = await createTestDatabase();
    sftp = await startSftpServer({ baseDir: join(baseDir, 'sftp') });
    proxy = await startTcpProxy({ targetPort: sftp.port });
    temporal = await startTestTemporal();
    const delivery = await deliveryFor(sftp, 'acme', { port: proxy.port, gzip: true });
    await db.knex('clients').insert({ id: 'acme', name: 'Acme', timezone: 'UTC', frequency: 'daily', delivery: JSON.stringify(delivery) });
    await seedEvents(db.knex, { clientIds: ['acme'], from: Date.UTC(2026, 10, 24), to: Date.UTC(2026, 10, 25), count: EVENTS, customersPerClient: 50 });
  });

  after(async () => {
    killed?.kill();
    workers?.shutdown();
    await running;
    await temporal?.teardown();
    await proxy?.close();
    await sftp?.dispose();
    await db?.drop();
    await rm(baseDir, { recursive: true, force: true });
  });

  it('leaves only the delivered file once the run has moved to the new worker', async () => {
    const workDir = join(baseDir, 'work');
    const remoteDir = join(sftp.rootDir, 'acme');
    killed = startCliProcess(['worker'], {
      ...WORKER_ENV,
      DATABASE_URL: db.url,
      TEMPORAL_ADDRESS: temporal.address,
      TWOWAY_WORK_DIR: workDir,
      TWOWAY_SECRETS_DIR: sftp.secretsDir,
      TWOWAY_METRICS_ADDRESS: 'off',
      LOG_LEVEL: 'info',
    });
    await killed.stderrMatches(/"msg":"worker started"/);
    proxy.stallAfter(STALL_AFTER_BYTES);
    const handle = await temporal.client.workflow.start<typeof reportPeriodWorkflow>('reportPeriodWorkflow', {
      taskQueue: TASK_QUEUE,
      workflowId: periodWorkflowId(PERIOD.clientId, PERIOD.frequency, PERIOD.periodStart),
      args: [PERIOD],
      typedSearchAttributes: periodSearchAttributes(PERIOD.clientId, PERIOD.frequency, PERIOD.periodStart),
    });

    // Mid-delivery: the CSV and its gzip on this host, part of the gzip on the server.
    const isLocalLeftover = (path: string) =>
      basename(path) === FILE || /^\.twoway_activity_acme_daily_20261124\.csv\.gz\.[0-9a-f]{8}\.tmp$/.test(basename(path));
    const left = await waitUntil(
      async () => {
        const local = await filesUnder(workDir);
        const remote = await readdir(remoteDir);
        return local.filter(isLocalLeftover).length === 2 && remote.some((name) => name.endsWith('.part')) ? local : null;
      },
      { timeoutMs: 60_000, intervalMs: 50, what: 'the worker to be uploading' },
    );
    killed.kill();
    await killed.done;
    const killedFolder = left[0]?.split('/')[0] ?? '';
    assert.ok(parseWorkerFolderName(killedFolder), `built in a folder of its own: ${left.join(', ')}`);
    assert.ok(
      (await readdir(remoteDir)).some((name) => name.endsWith('.part')),
      'a partial upload is left on the server',
    );

    proxy.stallAfter(null);
    workers = await createReportWorkers({
      connection: temporal.nativeConnection,
      namespace: temporal.namespace,
      knex: db.knex,
      databaseUrl: db.url,
      workDir,
      policy: parseRunPolicy(WORKER_ENV),
      secretsEnv: { TWOWAY_SECRETS_DIR: sftp.secretsDir },
      logger: createSilentLogger(),
      sftpTimeouts: { connectTimeoutMs: 5_000, operationTimeoutMs: 10_000 },
    });
    // Swept before the new worker takes any work.
    assert.equal(await stat(join(workDir, killedFolder)).catch(() => null), null, "the killed worker's folder is gone");
    assert.deepEqual(await filesUnder(workDir), []);
    running = workers.run();

    const outcome = await handle.result();
    assert.equal(outcome.status, 'delivered');
    assert.deepEqual(await readdir(remoteDir), [`${FILE}.gz`], 'the partial upload is gone, the file delivered once');
    assert.deepEqual(await filesUnder(workDir), [], "the new worker's built file and gzip are gone too");
    const runs = await db.knex('report_runs').where({ workflow_id: handle.workflowId });
    assert.deepEqual(
      runs.map((row: { status: string }) => row.status),
      ['delivered'],
    );
  });
});
