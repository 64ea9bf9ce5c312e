import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import type pg from 'pg';
import { LARGE_FILE_MIN_BYTES, createFilePermits, type FilePermits } from '../../src/activities/file-permits.js';
import {
  createHostActivities,
  createSharedActivities,
  type ActivityDeps,
  type DeliverOutcome,
  type PeriodInput,
  type StartRunResult,
} from '../../src/activities/index.js';
import type { BuiltFile } from '../../src/domain/types.js';
import { seedEvents } from '../../src/db/seed.js';
import { startSftpServer, type SftpServer } from '../../src/devstack/sftp-server.js';
import { periodWorkflowId } from '../../src/domain/workflow-ids.js';
import { createSilentLogger } from '../../src/observability/logger.js';
import { buildingPath, createBuildConnectionPool } from '../../src/report/build-report.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { deliveryFor } from '../support/delivery.js';
import { TEST_POLICY } from '../support/pipeline.js';
import { waitUntil } from '../support/wait.js';

// About 15 MB of CSV for `big`'s day; a few hundred KiB for `small`'s.
const BIG_EVENTS = 150_000;
const SMALL_EVENTS = 2_000;
const DAY = { frequency: 'daily', periodStart: '2026-11-10' } as const;

/** An activity environment for one period's run, as its workflow would give it. */
function runOf(input: PeriodInput, runId: string): MockActivityEnvironment {
  return new MockActivityEnvironment({ workflowExecution: { workflowId: periodWorkflowId(input.clientId, input.frequency, input.periodStart), runId } });
}

describe('large files wait for a permit, small ones do not (real PostgreSQL and sshd)', () => {
  let db: TestDatabase;
  let sftp: SftpServer;
  let baseDir: string;
  let pool: pg.Pool;
  let deps: ActivityDeps;

  before(async () => {
    db = await createTestDatabase();
    baseDir = await mkdtemp(join(tmpdir(), 'twoway-large-files-'));
    sftp = await startSftpServer({ baseDir: join(baseDir, 'sftp') });
    for (const id of ['big', 'small']) {
      const delivery = await deliveryFor(sftp, id);
      await db.knex('clients').insert({ id, name: id, timezone: 'UTC', frequency: 'daily', delivery: JSON.stringify(delivery) });
    }
    const day = { from: Date.UTC(2026, 10, 10), to: Date.UTC(2026, 10, 11), customersPerClient: 1_000 };
    await seedEvents(db.knex, { clientIds: ['big'], count: BIG_EVENTS, ...day });
    await seedEvents(db.knex, { clientIds: ['small'], count: SMALL_EVENTS, ...day });
    pool = createBuildConnectionPool(db.url, 4);
    deps = {
      knex: db.knex,
      databaseUrl: db.url,
      buildConnections: pool,
      workDir: join(baseDir, 'work'),
      hostTaskQueue: 'unused',
      policy: TEST_POLICY,
      secretsEnv: { TWOWAY_SECRETS_DIR: sftp.secretsDir },
      logger: createSilentLogger(),
    };
  });

  after(async () => {
    await pool?.end();
    await sftp?.dispose();
    await db?.drop();
    await rm(baseDir, { recursive: true, force: true });
  });

  /** Runs `work` with every permit of `permits` held by someone else; the holder lets go when `work` says so. */
  async function withPermitsHeld<T>(permits: FilePermits, work: (letGo: () => void) => Promise<T>): Promise<T> {
    const held: Array<() => void> = [];
    while (permits.available > 0) held.push(await permits.acquire());
    const letGo = () => held.forEach((release) => release());
    try {
      return await work(letGo);
    } finally {
      letGo();
    }
  }

  it('a large build writes up to the large-file size, waits there heartbeating, and finishes once a permit is free; a small one never waits', async () => {
    const permits = createFilePermits(1);
    const activities = createHostActivities({ ...deps, largeFilePermits: permits });
    const big = { clientId: 'big', ...DAY };
    await withPermitsHeld(permits, async (letGo) => {
      const small: BuiltFile = await runOf({ clientId: 'small', ...DAY }, 'build-small').run(activities.buildReport, { clientId: 'small', ...DAY });
      assert.ok(small.bytes < LARGE_FILE_MIN_BYTES, `the small file is ${small.bytes} bytes`);

      const environment = runOf(big, 'build-big');
      let waitingBeats = 0;
      environment.on('heartbeat', (details: { waitingForPermit?: boolean }) => {
        if (details.waitingForPermit) waitingBeats += 1;
      });
      const building: Promise<BuiltFile> = environment.run(activities.buildReport, big);
      await waitUntil(() => waitingBeats >= 1 && permits.waiting === 1, { timeoutMs: 30_000, what: 'the big build to wait for a permit' });
      const partPath = buildingPath(join(deps.workDir, 'big', 'daily', 'twoway_activity_big_daily_20261110.csv'));
      const partBytes = (await stat(partPath)).size;
      assert.ok(partBytes < LARGE_FILE_MIN_BYTES, `while waiting, ${partBytes} bytes written, less than ${LARGE_FILE_MIN_BYTES}`);
      letGo();
      const built = await building;
      assert.ok(built.bytes >= LARGE_FILE_MIN_BYTES, `the big file is ${built.bytes} bytes`);
    });
    assert.equal(permits.available, 1, 'the build gave its permit back');
    assert.equal(pool.totalCount, 1, 'both builds used one pooled connection (one login)');
  });

  it('a large upload waits for a permit before sending anything, and delivers once one is free', async () => {
    const permits = createFilePermits(1);
    const activities = createHostActivities({ ...deps, largeFilePermits: permits });
    const shared = createSharedActivities(deps);
    const big = { clientId: 'big', ...DAY };
    const environment = runOf(big, 'deliver-big');
    const started: StartRunResult = await environment.run(shared.startRun, { ...big, force: false });
    assert.equal(started.action, 'build');
    const built: BuiltFile = await environment.run(activities.buildReport, big);
    const remoteDir = join(sftp.rootDir, 'big');
    const outcome: DeliverOutcome = await withPermitsHeld(permits, async (letGo) => {
      let waitingBeats = 0;
      environment.on('heartbeat', (details: { waitingForPermit?: boolean }) => {
        if (details.waitingForPermit) waitingBeats += 1;
      });
      const delivering: Promise<DeliverOutcome> = environment.run(activities.deliverReport, {
        ...big,
        path: built.path,
        fileName: built.fileName,
        sha256: built.sha256,
        rowCount: built.rowCount,
        force: false,
      });
      await waitUntil(() => waitingBeats >= 1 && permits.waiting === 1, { timeoutMs: 30_000, what: 'the big upload to wait for a permit' });
      assert.deepEqual(await readdir(remoteDir), [], 'nothing sent while waiting');
      letGo();
      return delivering;
    });
    assert.equal(outcome.status, 'delivered');
    assert.equal(outcome.sha256, built.sha256);
    assert.ok((await readdir(remoteDir)).includes(built.fileName), 'the file is on the server');
    assert.equal(permits.available, 1, 'the upload gave its permit back');
  });
});
