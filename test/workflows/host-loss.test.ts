import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { createHostActivities, createSharedActivities } from '../../src/activities/index.js';
import { WORKFLOW_BUNDLE_PATH } from '../../src/config/paths.js';
import { startSftpServer, type SftpServer } from '../../src/devstack/sftp-server.js';
import { createSilentLogger } from '../../src/observability/logger.js';
import type { reportPeriodWorkflow } from '../../src/workflows/report-period-workflow.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { deliveryFor } from '../support/delivery.js';
import { TEST_POLICY } from '../support/pipeline.js';
import { startTestTemporal, type TestTemporal } from '../support/temporal.js';

const SHARED_QUEUE = 'host-loss-shared';
const LIVE_HOST_QUEUE = 'host-loss-shared/host/live';
/** The host that answered first and then died: nobody polls its queue. */
const LOST_HOST_QUEUE = 'host-loss-shared/host/lost';

describe('a lost host (real Temporal dev server, PostgreSQL and sshd)', () => {
  let db: TestDatabase;
  let sftp: SftpServer;
  let temporal: TestTemporal;
  let baseDir: string;
  let stopWorkers: () => Promise<void>;
  const claims: string[] = [];

  before(async () => {
    baseDir = await mkdtemp(join(tmpdir(), 'twoway-host-loss-'));
    db = await createTestDatabase();
    sftp = await startSftpServer({ baseDir: join(baseDir, 'sftp') });
    temporal = await startTestTemporal();
    await db.knex('clients').insert({ id: 'acme', name: 'Acme', delivery: JSON.stringify(await deliveryFor(sftp, 'acme')) });
    await db.knex('twoway_events').insert({ client_id: 'acme', event_name: 'twoway.agent_ping', event_time: '2026-11-20T10:00:00Z' });

    const deps = {
      knex: db.knex,
      databaseUrl: db.url,
      workDir: join(baseDir, 'work'),
      hostTaskQueue: LIVE_HOST_QUEUE,
      policy: { ...TEST_POLICY, hostScheduleToStartTimeoutMs: 1_500 },
      secretsEnv: { TWOWAY_SECRETS_DIR: sftp.secretsDir },
      logger: createSilentLogger(),
    };
    const { startRun, finishRun, failRun } = createSharedActivities(deps);
    const { buildReport, deliverReport, discardFile } = createHostActivities(deps);
    const connection = temporal.nativeConnection;
    const shared = await Worker.create({
      connection,
      taskQueue: SHARED_QUEUE,
      workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH },
      activities: {
        // The first host, which startRun names, is the one that is lost; a later claim reaches the live host.
        startRun: async (input: Parameters<typeof startRun>[0]) => {
          const started = await startRun(input);
          if (started.action !== 'build') return started;
          claims.push(LOST_HOST_QUEUE);
          return { ...started, hostTaskQueue: LOST_HOST_QUEUE };
        },
        finishRun,
        failRun,
        claimHost: async () => {
          claims.push(LIVE_HOST_QUEUE);
          return LIVE_HOST_QUEUE;
        },
      },
    });
    const host = await Worker.create({ connection, taskQueue: LIVE_HOST_QUEUE, activities: { buildReport, deliverReport, discardFile } });
    const running = Promise.all([shared.run(), host.run()]);
    stopWorkers = async () => {
      shared.shutdown();
      host.shutdown();
      await running;
    };
  });

  after(async () => {
    await stopWorkers?.();
    await temporal?.teardown();
    await sftp?.dispose();
    await db?.drop();
    await rm(baseDir, { recursive: true, force: true });
  });

  it('rebuilds the file on another host and delivers it once', async () => {
    const handle = await temporal.client.workflow.start<typeof reportPeriodWorkflow>('reportPeriodWorkflow', {
      taskQueue: SHARED_QUEUE,
      workflowId: 'twoway-report/acme/daily/2026-11-20',
      args: [{ clientId: 'acme', frequency: 'daily', periodStart: '2026-11-20' }],
    });
    const outcome = await handle.result();
    assert.equal(outcome.status, 'delivered');
    assert.deepEqual(claims, [LOST_HOST_QUEUE, LIVE_HOST_QUEUE]);
    assert.deepEqual(await readdir(join(sftp.rootDir, 'acme')), ['twoway_activity_acme_daily_20261120.csv']);

    const events = (await handle.fetchHistory()).events ?? [];
    const builds = events.filter((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'buildReport');
    assert.deepEqual(
      builds.map((event) => event.activityTaskScheduledEventAttributes?.taskQueue?.name),
      [LOST_HOST_QUEUE, LIVE_HOST_QUEUE],
    );
    assert.equal(events.filter((event) => event.activityTaskTimedOutEventAttributes).length, 1, "the lost host's build timed out waiting to start");
    const ledger = await db.knex('report_runs').where({ workflow_id: 'twoway-report/acme/daily/2026-11-20' });
    assert.deepEqual(
      ledger.map((row: { status: string }) => row.status),
      ['delivered'],
    );
  });
});
