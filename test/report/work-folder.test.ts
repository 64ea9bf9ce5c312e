import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { workerFolderName, type WorkerProcess } from '../../src/domain/leftovers.js';
import { createSilentLogger } from '../../src/observability/logger.js';
import { createWorkerFolder, sweepWorkFolder } from '../../src/report/work-folder.js';
import { filesUnder } from '../support/files.js';

const HOUR_MS = 60 * 60 * 1000;
const MAX_AGE_MS = 30 * HOUR_MS;
const FILE = 'twoway_activity_acme_daily_20261124.csv';

describe('the work folder: private, a folder per process, and swept of what no running attempt can own', () => {
  let base: string;
  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'twoway-work-folder-'));
  });
  after(async () => {
    await rm(base, { recursive: true, force: true });
  });

  const self: WorkerProcess = { hostname: hostname(), pid: process.pid, token: 'abc123' };
  /** Writes a file whose contents were last written `ageMs` ago. */
  async function leave(path: string, ageMs: number): Promise<void> {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, 'agent@example.com,Customer Name\r\n');
    const when = new Date(Date.now() - ageMs);
    await utimes(path, when, when);
  }
  async function age(dir: string, ageMs: number): Promise<void> {
    const when = new Date(Date.now() - ageMs);
    await utimes(dir, when, when);
  }

  it('creates the work folder and the process folder 0700, narrowing a work folder an older version made', async () => {
    const workDir = join(base, 'modes');
    await mkdir(workDir, { mode: 0o755 });
    await chmod(workDir, 0o755);
    const own = await createWorkerFolder(workDir, self, createSilentLogger());
    assert.equal(own, join(workDir, workerFolderName(self)));
    assert.equal((await stat(workDir)).mode & 0o777, 0o700);
    assert.equal((await stat(own)).mode & 0o777, 0o700);
  });

  it('removes the folders of ended processes on this host whole, and elsewhere only what is older than the deadlines', async () => {
    const workDir = join(base, 'sweep');
    await mkdir(workDir);
    // A real process that has ended: its pid is free.
    const endedPid = spawnSync(process.execPath, ['-e', '']).pid;
    assert.ok(endedPid);
    const ended = workerFolderName({ hostname: hostname(), pid: endedPid, token: '0f0f0f' });
    const earlierLife = workerFolderName({ ...self, token: '111111' });
    // The test runner that started this process is running.
    const live = workerFolderName({ hostname: hostname(), pid: process.ppid, token: '222222' });
    const otherHost = workerFolderName({ hostname: 'another-host', pid: 7, token: '333333' });
    const own = workerFolderName(self);

    // A crash mid-build and mid-delivery, moments ago.
    await leave(join(workDir, ended, 'acme/daily', `${FILE}.part`), 0);
    await leave(join(workDir, ended, 'acme/daily', FILE), 0);
    await leave(join(workDir, ended, 'acme/daily', `.${FILE}.gz.0a1b2c3d.tmp`), 0);
    await leave(join(workDir, earlierLife, 'acme/daily', FILE), 0);
    // Processes that may still use their files: only what is too old for any attempt goes.
    await leave(join(workDir, live, 'acme/daily', FILE), 0);
    await leave(join(workDir, live, 'beta/daily', FILE), MAX_AGE_MS + HOUR_MS);
    await leave(join(workDir, otherHost, 'acme/daily', FILE), HOUR_MS);
    await leave(join(workDir, otherHost, 'gone/weekly', `${FILE}.part`), MAX_AGE_MS + HOUR_MS);
    await age(join(workDir, otherHost, 'gone/weekly'), MAX_AGE_MS + HOUR_MS);
    await age(join(workDir, otherHost, 'gone'), MAX_AGE_MS + HOUR_MS);
    // The layout of older versions (no process folder), and this process's own folder.
    await leave(join(workDir, 'acme/daily', FILE), MAX_AGE_MS + HOUR_MS);
    await leave(join(workDir, 'acme/daily', `.${FILE}.gz.0a1b2c3d.tmp`), MAX_AGE_MS + HOUR_MS);
    await leave(join(workDir, 'acme/daily', `${FILE}.part`), HOUR_MS);
    await leave(join(workDir, own, 'acme/daily', FILE), MAX_AGE_MS + HOUR_MS);
    await leave(join(workDir, own, 'acme/daily', `${FILE}.part`), 0);

    const swept = await sweepWorkFolder({ workDir, self, maxAgeMs: MAX_AGE_MS, now: () => Date.now(), logger: createSilentLogger() });

    assert.deepEqual(swept.folders.sort(), [ended, earlierLife].sort());
    assert.deepEqual(
      await filesUnder(workDir),
      [`acme/daily/${FILE}.part`, `${live}/acme/daily/${FILE}`, `${otherHost}/acme/daily/${FILE}`, `${own}/acme/daily/${FILE}.part`].sort(),
    );
    assert.equal(await stat(join(workDir, otherHost, 'gone')).catch(() => null), null, 'an old folder left empty goes too');
    assert.ok(await stat(join(workDir, own)), 'its own folder stays');
  });

  it('moves the clock, not the files: the same leftovers go once time has passed the deadlines', async () => {
    const workDir = join(base, 'clock');
    await leave(join(workDir, 'acme/daily', FILE), 0);
    const sweep = (now: number) => sweepWorkFolder({ workDir, self, maxAgeMs: MAX_AGE_MS, now: () => now, logger: createSilentLogger() });
    assert.deepEqual((await sweep(Date.now())).files, []);
    assert.deepEqual((await sweep(Date.now() + MAX_AGE_MS + HOUR_MS)).files, [`acme/daily/${FILE}`]);
    assert.deepEqual(await filesUnder(workDir), []);
  });
});
