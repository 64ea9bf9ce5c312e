import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createHostActivities } from '../../src/activities/index.js';
import type { BuiltFile } from '../../src/domain/types.js';
import { seedEvents } from '../../src/db/seed.js';
import { createSilentLogger } from '../../src/observability/logger.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { TEST_POLICY } from '../support/pipeline.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { waitUntil } from '../support/wait.js';

const EVENTS = 300_000;
const INPUT = { clientId: 'bulk', frequency: 'daily', periodStart: '2026-11-10' } as const;

describe("buildReport activity (real PostgreSQL, the SDK's activity test environment)", () => {
  let db: TestDatabase;
  let workDir: string;
  let activities: ReturnType<typeof createHostActivities>;

  before(async () => {
    db = await createTestDatabase();
    workDir = await mkdtemp(join(tmpdir(), 'twoway-build-activity-'));
    await db.knex('clients').insert({ id: 'bulk', name: 'Bulk', timezone: 'UTC' });
    await seedEvents(db.knex, { clientIds: ['bulk'], from: Date.UTC(2026, 10, 10), to: Date.UTC(2026, 10, 11), count: EVENTS, customersPerClient: 1_000 });
    activities = createHostActivities({
      knex: db.knex,
      databaseUrl: db.url,
      workDir,
      hostTaskQueue: 'unused',
      policy: TEST_POLICY,
      secretsEnv: {},
      logger: createSilentLogger(),
    });
  });

  after(async () => {
    await rm(workDir, { recursive: true, force: true });
    await db.drop();
  });

  it("heartbeats the rows written as it goes and returns the file's reference, counts and checksum", async () => {
    const environment = new MockActivityEnvironment();
    const beats: number[] = [];
    environment.on('heartbeat', (details: { rowsWritten: number }) => beats.push(details.rowsWritten));
    const built: BuiltFile = await environment.run(activities.buildReport, INPUT);
    assert.equal(built.path, join(workDir, 'bulk', 'daily', 'twoway_activity_bulk_daily_20261110.csv'));
    assert.ok(built.rowCount > EVENTS * 0.9 && built.rowCount < EVENTS, `${built.rowCount} of ${EVENTS} events are report events`);
    assert.equal(
      createHash('sha256')
        .update(await readFile(built.path))
        .digest('hex'),
      built.sha256,
    );
    assert.ok(beats.length >= 1, 'heartbeats while building');
    assert.deepEqual(
      [...beats].sort((a, b) => a - b),
      beats,
      'rows written only grow',
    );
    assert.ok(beats.every((rows) => rows > 0 && rows <= built.rowCount));
  });

  it('stops when cancelled, leaving no file behind', async () => {
    await rm(join(workDir, 'bulk'), { recursive: true, force: true });
    const environment = new MockActivityEnvironment();
    let rowsAtCancel = 0;
    environment.once('heartbeat', (details: { rowsWritten: number }) => {
      rowsAtCancel = details.rowsWritten;
      environment.cancel();
    });
    await assert.rejects(environment.run(activities.buildReport, INPUT), CancelledFailure);
    assert.ok(rowsAtCancel > 0 && rowsAtCancel < EVENTS * 0.9, `cancelled part way, after ${rowsAtCancel} rows`);
    assert.deepEqual(await readdir(join(workDir, 'bulk', 'daily')), [], 'neither a partial nor a final file');
  });

  it('fails (retryably) when the database connection drops mid-build, without taking the worker process down', async () => {
    await rm(join(workDir, 'bulk'), { recursive: true, force: true });
    // The build's own connection goes through a link that is cut (a TCP reset, as when PostgreSQL is killed).
    const url = new URL(db.url);
    const proxy = await startTcpProxy({ targetPort: Number(url.port), targetHost: url.hostname });
    url.port = String(proxy.port);
    const cutOff = createHostActivities({
      knex: db.knex,
      databaseUrl: url.toString(),
      workDir,
      hostTaskQueue: 'unused',
      policy: TEST_POLICY,
      secretsEnv: {},
      logger: createSilentLogger(),
    });
    const environment = new MockActivityEnvironment();
    environment.once('heartbeat', () => proxy.cutAfter(0));
    const crashes: unknown[] = [];
    const onCrash = (error: unknown) => crashes.push(error);
    process.on('uncaughtException', onCrash);
    try {
      await assert.rejects(environment.run(cutOff.buildReport, INPUT), (error: Error) => !(error instanceof CancelledFailure));
      // An unhandled 'error' event of the connection surfaces after the rejection.
      await waitUntil(() => proxy.cuts >= 1, { timeoutMs: 5_000, what: 'the link to be cut' });
      await waitUntil(
        async () => Number((await db.knex('pg_stat_activity').where({ application_name: 'twoway-report build' }).count({ n: '*' }))[0]?.n) === 0,
        { timeoutMs: 10_000, what: "the build's connection to be gone on both ends" },
      );
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('uncaughtException', onCrash);
      await proxy.close();
    }
    assert.deepEqual(crashes, [], 'no uncaught error');
    assert.deepEqual(await readdir(join(workDir, 'bulk', 'daily')), [], 'neither a partial nor a final file');
  });
});
