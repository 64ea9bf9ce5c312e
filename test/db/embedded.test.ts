import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PROJECT_ROOT } from '../../src/config/paths.js';
import { freePort, isListening } from '../../src/devstack/ports.js';
import { startTemporalDevServer } from '../../src/devstack/temporal-dev-server.js';
import { runCliProcess } from '../support/cli.js';
import { waitUntil } from '../support/wait.js';

const SERVER_START_TIMEOUT_MS = 60_000;
const SERVER_STOP_TIMEOUT_MS = 30_000;

describe('commands on the embedded PostgreSQL default (no DATABASE_URL)', () => {
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let port: number;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'twoway-embedded-'));
    port = await freePort();
    env = { DATABASE_URL: '', TWOWAY_DATA_DIR: dataDir, TWOWAY_EMBEDDED_PG_PORT: String(port) };
  });
  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('exits 0 on success and stops the server it started', async () => {
    const migrated = await runCliProcess(['migrate'], env);
    assert.equal(migrated.status, 0, migrated.stderr);
    assert.equal(await isListening(port), false);
  });

  it('exits 1 with a one-line reason when the command fails, not 0', async () => {
    const failed = await runCliProcess(['render', '--client', 'nosuch', '--period', '2026-11-01', '--out-dir', join(dataDir, 'out')], env);
    assert.equal(failed.status, 1);
    assert.deepEqual(failed.stderr.trim().split('\n'), ['twoway-report: client "nosuch" does not exist in the clients table']);
    assert.equal(await isListening(port), false);
  });

  it('stops the server it started when a signal ends the command', async () => {
    const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'twoway-report.js'), 'seed', '--events', '20000000'], {
      env: { ...process.env, ...env, LOG_LEVEL: 'warn' },
      stdio: 'ignore',
    });
    const ended = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    await waitUntil(() => isListening(port), { timeoutMs: SERVER_START_TIMEOUT_MS, what: `the embedded server to listen on port ${port}` });
    child.kill('SIGTERM');
    assert.equal(await ended, 'SIGTERM');
    await waitUntil(async () => !(await isListening(port)), {
      timeoutMs: SERVER_STOP_TIMEOUT_MS,
      what: `the embedded server on port ${port} to stop with the command`,
    });
  });

  it('lets a worker stop gracefully on SIGTERM, then stops the server', async () => {
    const temporal = await startTemporalDevServer({ port: await freePort() });
    try {
      const worker = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'twoway-report.js'), 'worker'], {
        env: {
          ...process.env,
          ...env,
          TEMPORAL_ADDRESS: temporal.address,
          TWOWAY_WORK_DIR: join(dataDir, 'work'),
          TWOWAY_METRICS_ADDRESS: 'off',
          LOG_LEVEL: 'info',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let log = '';
      worker.stdout.setEncoding('utf8').on('data', (chunk: string) => (log += chunk));
      worker.stderr.setEncoding('utf8').on('data', (chunk: string) => (log += chunk));
      const exited = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));
      const started = () => {
        assert.equal(worker.exitCode, null, `the worker exited:\n${log}`);
        return log.includes('"worker started"');
      };
      await waitUntil(started, { timeoutMs: SERVER_START_TIMEOUT_MS, what: () => `the worker to start; its log:\n${log}` });
      assert.equal(await isListening(port), true);
      worker.kill('SIGTERM');
      assert.equal(await exited, 0, log);
      assert.match(log, /"worker stopped"/);
      assert.equal(await isListening(port), false);
    } finally {
      await temporal.stop();
    }
  });

  it('exits 2 on a usage error', async () => {
    const usage = await runCliProcess(['render', '--client', 'acme', '--period', '2026-13-01', '--out-dir', join(dataDir, 'out')], env);
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /2026-13-01/);
  });
});
