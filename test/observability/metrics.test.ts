import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { PROJECT_ROOT } from '../../src/config/paths.js';
import { freePort } from '../../src/devstack/ports.js';
import { startSftpServer, type SftpServer } from '../../src/devstack/sftp-server.js';
import { startTemporalDevServer, type TemporalDevServer } from '../../src/devstack/temporal-dev-server.js';
import { BUILD_DURATION_METRIC, DELIVERY_DURATION_METRIC, DURATION_BUCKETS_SECONDS } from '../../src/observability/metrics.js';
import { runCliProcess } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { deliveryFor } from '../support/delivery.js';
import { waitUntil } from '../support/wait.js';

const PROCESS_START_TIMEOUT_MS = 30_000;
// Temporal ends an idle long poll after a minute; the margin is for a busy machine.
const IDLE_POLL_TIMEOUT_MS = 150_000;
const ALERTS_FILE = join(PROJECT_ROOT, 'deploy', 'prometheus', 'alerts.yml');
const EXPECTED_BOUNDARIES = [...DURATION_BUCKETS_SECONDS.map(String), '+Inf'];

async function scrape(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(response.status, 200);
  return response.text();
}

/** The `le` values of a histogram's buckets, in exposition order, for the first label set it has. */
function bucketBoundaries(exposition: string, histogram: string): string[] {
  const lines = exposition.split('\n').filter((line) => line.startsWith(`${histogram}_bucket{`));
  const firstLabels = lines[0]?.replace(/,?le="[^"]*"/, '').replace(/ \S+$/, '');
  return lines.filter((line) => line.replace(/,?le="[^"]*"/, '').replace(/ \S+$/, '') === firstLabels).map((line) => /le="([^"]*)"/.exec(line)?.[1] ?? '');
}

/** Runs `child` until `ready` appears in its output; its output so far is in `log()`. */
async function startProcess(child: ChildProcess, ready: string): Promise<() => string> {
  let log = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (log += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (log += chunk));
  await waitUntil(
    () => {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`the process ended (${child.exitCode ?? child.signalCode}) before "${ready}":\n${log}`);
      return log.includes(ready);
    },
    { timeoutMs: PROCESS_START_TIMEOUT_MS, what: () => `"${ready}"; the process's output:\n${log}` },
  );
  return () => log;
}

describe('the metrics of a worker process (real Temporal, PostgreSQL, sshd)', () => {
  let db: TestDatabase;
  let sftp: SftpServer;
  let temporal: TemporalDevServer;
  let baseDir: string;
  let worker: ChildProcess;
  let metricsPort: number;
  let exposition: string;

  before(async () => {
    baseDir = await mkdtemp(join(tmpdir(), 'twoway-metrics-'));
    db = await createTestDatabase();
    sftp = await startSftpServer({ baseDir: join(baseDir, 'sftp') });
    temporal = await startTemporalDevServer({ port: await freePort() });
    metricsPort = await freePort();
    const env = {
      DATABASE_URL: db.url,
      TEMPORAL_ADDRESS: temporal.address,
      TWOWAY_WORK_DIR: join(baseDir, 'work'),
      TWOWAY_METRICS_ADDRESS: `127.0.0.1:${metricsPort}`,
      TWOWAY_SECRETS_DIR: sftp.secretsDir,
      LOG_LEVEL: 'info',
    };
    await db
      .knex('clients')
      .insert({ id: 'acme', name: 'Acme', timezone: 'America/Chicago', frequency: 'daily', delivery: JSON.stringify(await deliveryFor(sftp, 'acme')) });
    await db.knex('twoway_events').insert({ client_id: 'acme', event_name: 'twoway.agent_ping', event_time: '2026-11-24T18:00:00Z', control_tag: 'day-24' });
    worker = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'twoway-report.js'), 'worker'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await startProcess(worker, '"worker started"');
    // One build and one delivery, so both duration histograms have a sample.
    const run = await runCliProcess(['run', '--client', 'acme', '--period', '2026-11-24'], env);
    assert.equal(run.status, 0, run.stderr);
    exposition = await scrape(metricsPort);
  });

  after(async () => {
    if (worker && worker.exitCode === null) worker.kill('SIGKILL');
    await temporal?.stop();
    await sftp?.dispose();
    await db?.drop();
    await rm(baseDir, { recursive: true, force: true });
  });

  it('serves the duration histograms in seconds, with buckets from 50 ms to 2 h', () => {
    for (const histogram of [BUILD_DURATION_METRIC, DELIVERY_DURATION_METRIC]) {
      assert.match(exposition, new RegExp(`^# TYPE ${histogram} histogram$`, 'm'));
      assert.deepEqual(bucketBoundaries(exposition, histogram), EXPECTED_BOUNDARIES, histogram);
      assert.match(exposition, new RegExp(`^${histogram}_count(\\{[^}]*\\})? 1$`, 'm'), `${histogram} has the one sample`);
    }
    assert.match(exposition, /^twoway_delivery_duration_seconds_bucket\{[^}]*outcome="delivered"/m);
    assert.doesNotMatch(exposition, /^twoway_(build|delivery)_duration_(bucket|sum|count)/m, 'no histogram under the old names');
  });

  it('serves every SDK metric the alert rules use, for the shared task queue', async () => {
    const rules = await readFile(ALERTS_FILE, 'utf8');
    const sdkMetrics = [...new Set(rules.match(/\btemporal_[a-z_]+/g) ?? [])];
    assert.ok(sdkMetrics.length > 0, 'the no-polling rule uses an SDK metric');
    const missing = (text: string) => sdkMetrics.filter((metric) => !new RegExp(`^${metric}\\{[^}]*task_queue="twoway-report"[^}]*\\} \\d`, 'm').test(text));
    // An empty poll is counted when the server ends an idle long poll, after about a minute.
    let latest = exposition;
    await waitUntil(async () => missing((latest = await scrape(metricsPort))).length === 0, {
      timeoutMs: IDLE_POLL_TIMEOUT_MS,
      intervalMs: 1000,
      what: () => `${missing(latest).join(', ')} for task_queue="twoway-report" in:\n${latest}`,
    });
  });
});

describe("the per-client period gauges (a Runtime with the worker's telemetry options, in a process of its own)", () => {
  let child: ChildProcess;
  let exposition: string;

  before(async () => {
    const port = await freePort();
    const moduleUrl = (path: string) => pathToFileURL(join(PROJECT_ROOT, 'dist', 'src', path)).href;
    // A Runtime can be installed once per process, so the metrics are recorded in a child.
    const script = `
      import { Runtime } from '@temporalio/worker';
      const { createReportMetrics, prometheusTelemetryOptions } = await import(${JSON.stringify(moduleUrl('observability/metrics.js'))});
      Runtime.install({ telemetryOptions: prometheusTelemetryOptions('127.0.0.1:${port}') });
      const metrics = createReportMetrics(Runtime.instance().metricMeter);
      metrics.recordPeriodStates('acme', { late: 1, missing: 0, failed: 0 }, Date.UTC(2026, 10, 25, 6));
      metrics.recordPeriodStates('hooli', { late: 0, missing: 2, failed: 3 }, null);
      metrics.recordPeriodStates('acme', { late: 0, missing: 0, failed: 4 }, Date.UTC(2026, 10, 26, 6));
      console.log('recorded');
      setInterval(() => {}, 1000);
    `;
    child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    await startProcess(child, 'recorded');
    exposition = await waitUntil(
      async () => {
        const text = await scrape(port).catch(() => '');
        return text.includes('twoway_periods_failed') ? text : '';
      },
      { timeoutMs: PROCESS_START_TIMEOUT_MS, what: 'the gauges on the metrics endpoint' },
    );
  });

  after(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  it("serves each client's latest counts, replacing the previous ones", () => {
    const samples = exposition
      .split('\n')
      .filter((line) => /^twoway_(periods_|last_delivered)/.test(line))
      .sort();
    assert.deepEqual(samples, [
      `twoway_last_delivered_period_end_seconds{client="acme"} ${Date.UTC(2026, 10, 26, 6) / 1000}`,
      'twoway_periods_failed{client="acme"} 4',
      'twoway_periods_failed{client="hooli"} 3',
      'twoway_periods_late{client="acme"} 0',
      'twoway_periods_late{client="hooli"} 0',
      'twoway_periods_missing{client="acme"} 0',
      'twoway_periods_missing{client="hooli"} 2',
    ]);
  });

  it('describes each gauge', () => {
    for (const gauge of ['twoway_periods_late', 'twoway_periods_missing', 'twoway_periods_failed', 'twoway_last_delivered_period_end_seconds']) {
      assert.match(exposition, new RegExp(`^# TYPE ${gauge} gauge$`, 'm'));
      assert.match(exposition, new RegExp(`^# HELP ${gauge} \\S`, 'm'));
    }
  });
});
