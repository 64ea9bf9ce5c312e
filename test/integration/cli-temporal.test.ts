import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PROJECT_ROOT } from '../../src/config/paths.js';
import { freePort } from '../../src/devstack/ports.js';
import { startSftpServer, type SftpServer } from '../../src/devstack/sftp-server.js';
import { startTemporalDevServer, type TemporalDevServer } from '../../src/devstack/temporal-dev-server.js';
import { runCliProcess } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { deliveryFor } from '../support/delivery.js';
import { waitUntil } from '../support/wait.js';

const WORKER_START_TIMEOUT_MS = 30_000;

describe('the command line against a running worker (real Temporal, PostgreSQL, sshd)', () => {
  let db: TestDatabase;
  let sftp: SftpServer;
  let temporal: TemporalDevServer;
  let baseDir: string;
  let worker: ChildProcess;
  let workerLog = '';
  let metricsPort: number;
  let env: NodeJS.ProcessEnv;

  const cli = (...args: string[]) => runCliProcess(args, env);

  before(async () => {
    baseDir = await mkdtemp(join(tmpdir(), 'twoway-cli-'));
    db = await createTestDatabase();
    sftp = await startSftpServer({ baseDir: join(baseDir, 'sftp') });
    temporal = await startTemporalDevServer({ port: await freePort() });
    metricsPort = await freePort();
    env = {
      DATABASE_URL: db.url,
      TEMPORAL_ADDRESS: temporal.address,
      TWOWAY_WORK_DIR: join(baseDir, 'work'),
      TWOWAY_METRICS_ADDRESS: `127.0.0.1:${metricsPort}`,
      TWOWAY_RETRY_INITIAL_INTERVAL: '200ms',
      TWOWAY_RETRY_MAX_INTERVAL: '1s',
      CLI_TEST_SFTP_PASSWORD: sftp.password,
      LOG_LEVEL: 'info',
    };
    await db.knex('clients').insert([
      { id: 'acme', name: 'Acme', timezone: 'America/Chicago', frequency: 'daily', delivery: JSON.stringify(await deliveryFor(sftp, 'acme', { password: { env: 'CLI_TEST_SFTP_PASSWORD' } })) },
      { id: 'sandy', name: 'Sandbox', environment: 'sandbox' },
    ]);
    for (const day of ['20', '21', '22', '23', '24']) {
      await db.knex('twoway_events').insert({ client_id: 'acme', event_name: 'twoway.agent_ping', event_time: `2026-11-${day}T18:00:00Z`, control_tag: `day-${day}` });
    }
    worker = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'twoway-report.js'), 'worker'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    worker.stdout?.setEncoding('utf8').on('data', (chunk: string) => (workerLog += chunk));
    worker.stderr?.setEncoding('utf8').on('data', (chunk: string) => (workerLog += chunk));
    await waitUntil(
      () => {
        if (worker.exitCode !== null || worker.signalCode !== null) throw new Error(`the worker ended (${worker.exitCode ?? worker.signalCode}) before starting:\n${workerLog}`);
        return workerLog.includes('"worker started"');
      },
      { timeoutMs: WORKER_START_TIMEOUT_MS, what: () => `the worker to start; its log:\n${workerLog}` },
    );
  });

  after(async () => {
    if (worker && worker.exitCode === null) worker.kill('SIGKILL');
    await temporal?.stop();
    await sftp?.dispose();
    await db?.drop();
    await rm(baseDir, { recursive: true, force: true });
  });

  it('runs a period, reruns it as a no-op, and forces it without a duplicate', async () => {
    const first = await cli('run', '--client', 'acme', '--period', '2026-11-24');
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /^delivered twoway_activity_acme_daily_20261124\.csv \(revision 1\): 1 rows, \d+ bytes, sha256 [0-9a-f]{64}, remote path \/.*\/acme\/twoway_activity_acme_daily_20261124\.csv\n$/);
    assert.match(first.stderr, /running twoway-report\/acme\/daily\/2026-11-24/);

    const again = await cli('run', '--client', 'acme', '--period', '2026-11-24');
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /^already delivered, nothing done/);

    const forced = await cli('run', '--client', 'acme', '--period', '2026-11-24', '--force');
    assert.equal(forced.status, 0, forced.stderr);
    assert.match(forced.stdout, /^unchanged, not delivered again/);
    assert.deepEqual(await readdir(join(sftp.rootDir, 'acme')), ['twoway_activity_acme_daily_20261124.csv']);
  });

  it('backfills a range, skipping the delivered period, and shows the ledger', async () => {
    const backfill = await cli('backfill', '--client', 'acme', '--from', '2026-11-20', '--to', '2026-11-24', '--concurrency', '2');
    assert.equal(backfill.status, 0, backfill.stderr);
    assert.match(backfill.stdout, /backfill of acme \(daily\): 5\/5 periods — 4 delivered, 0 unchanged, 1 skipped, 0 failed/);
    assert.match(backfill.stderr, /backfill acme: 5\/5 periods/);
    assert.equal((await readdir(join(sftp.rootDir, 'acme'))).length, 5);

    const status = await cli('status', '--client', 'acme');
    assert.equal(status.status, 0, status.stderr);
    const lines = status.stdout.trim().split('\n');
    assert.equal(lines.filter((line) => / delivered /.test(line)).length, 5);
    assert.ok(lines.some((line) => /acme daily 2026-11-24 r1 {2}unchanged \(forced\)/.test(line)), status.stdout);
  });

  it('refuses what cannot work with exit 1 or 2 and a one-line reason', async () => {
    const sandbox = await cli('run', '--client', 'sandy', '--period', '2026-11-24');
    assert.deepEqual([sandbox.status, sandbox.stderr.trim().split('\n').length], [1, 1]);
    assert.match(sandbox.stderr, /client "sandy": environment is "sandbox"/);
    const reversed = await cli('backfill', '--client', 'acme', '--from', '2026-11-24', '--to', '2026-11-20');
    assert.equal(reversed.status, 2);
    assert.match(reversed.stderr, /--from 2026-11-24 is after --to 2026-11-20/);
    const noTemporal = await runCliProcess(['run', '--client', 'acme', '--period', '2026-11-23'], { ...env, TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}` });
    assert.equal(noTemporal.status, 1);
    assert.match(noTemporal.stderr, /^twoway-report: cannot reach Temporal at 127\.0\.0\.1:\d+ \(TEMPORAL_ADDRESS\)/);
  });

  it('syncs and lists schedules', async () => {
    const sync = await cli('schedules', 'sync');
    assert.equal(sync.status, 0, sync.stderr);
    assert.match(sync.stdout, /^created {3}acme: Two-Way Activity Report v\d+: daily at 03:00 America\/Chicago/m);
    assert.match(sync.stdout, /^skipped {3}sandy: sandbox client$/m);
    const list = await cli('schedules', 'list');
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, /^twoway-report-schedule\/acme {2}daily America\/Chicago {2}next: \d{4}-\d\d-\d\dT(08|09):00:00\.000Z, /m);
  });

  it('serves Prometheus metrics: Temporal\'s own and the pipeline\'s', async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(metrics, /^temporal_activity_execution_latency/m);
    assert.match(metrics, /^twoway_rows_written\S* \d+/m);
    assert.match(metrics, /^twoway_deliveries\S*\{[^}]*outcome="delivered"[^}]*\} [1-9]/m);
    assert.match(metrics, /^twoway_build_duration\S*_bucket/m);
  });

  it('logs JSON lines with client, period and workflow id, and never the password', () => {
    const lines = workerLog.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const built = lines.find((line) => line.msg === 'built report file' && line.period === '2026-11-24');
    assert.deepEqual([built?.client, built?.frequency, built?.workflowId], ['acme', 'daily', 'twoway-report/acme/daily/2026-11-24']);
    assert.ok(!workerLog.includes(sftp.password));
  });

  it('stops gracefully on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));
    worker.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.match(workerLog, /"worker stopped"/);
  });
});
