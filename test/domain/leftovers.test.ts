import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  hasEnded,
  isRemovableTemporary,
  parseWorkerFolderName,
  remoteTemporaryMaxAgeMs,
  REMOTE_CLOCK_MARGIN_MS,
  workerFolderName,
  workFileMaxAgeMs,
  type WorkerProcess,
} from '../../src/domain/leftovers.js';

const HOUR_MS = 60 * 60 * 1000;
const SELF: WorkerProcess = { hostname: 'worker-a.example.com', pid: 4242, token: 'a1b2c3' };

describe('what a run leaves behind and when it may go', () => {
  it('names a worker process folder so that it is read back, and tells it from client folders', () => {
    assert.equal(workerFolderName(SELF), 'worker+worker-a.example.com+4242+a1b2c3');
    assert.deepEqual(parseWorkerFolderName(workerFolderName(SELF)), SELF);
    for (const other of ['acme', 'worker-a', 'worker+host+12', 'worker+host+x1+abc', 'worker+a+b+1+abc']) {
      assert.equal(parseWorkerFolderName(other), null, other);
    }
  });

  it('counts a folder owner as ended only when this host can tell', () => {
    const running = new Set([100]);
    const isRunning = (pid: number) => running.has(pid);
    assert.equal(hasEnded({ ...SELF, pid: 100, token: 'ffffff' }, SELF, isRunning), false, 'a live process on this host');
    assert.equal(hasEnded({ ...SELF, pid: 101, token: 'ffffff' }, SELF, isRunning), true, 'a process on this host that is gone');
    assert.equal(hasEnded({ ...SELF, token: 'ffffff' }, SELF, isRunning), true, "an earlier life of this process's pid (a restarted container)");
    assert.equal(hasEnded(SELF, SELF, isRunning), false, 'this process');
    assert.equal(hasEnded({ hostname: 'worker-b', pid: 101, token: 'ffffff' }, SELF, isRunning), false, 'another host: left to the age rule');
  });

  it('waits the build and delivery deadlines together before a work file counts as no one’s', () => {
    assert.equal(workFileMaxAgeMs({ buildDeadlineMs: 6 * HOUR_MS, deliveryDeadlineMs: 24 * HOUR_MS }), 30 * HOUR_MS);
    assert.equal(remoteTemporaryMaxAgeMs({ deliveryDeadlineMs: 24 * HOUR_MS }), 24 * HOUR_MS + REMOTE_CLOCK_MARGIN_MS);
  });

  it('removes a remote temporary file no ledger row records: of this period at once, of another period once no attempt can run', () => {
    const now = 100 * HOUR_MS;
    const context = { recorded: new Set(['/in/.b.csv.00000000.part']), nowMs: now, maxAgeMs: 25 * HOUR_MS };
    const fresh = now - HOUR_MS;
    const old = now - 26 * HOUR_MS;
    assert.equal(isRemovableTemporary({ path: '/in/.a.csv.11111111.part', ofThisPeriod: true, modifiedMs: fresh }, context), true);
    assert.equal(isRemovableTemporary({ path: '/in/.c.csv.22222222.part', ofThisPeriod: false, modifiedMs: fresh }, context), false);
    assert.equal(isRemovableTemporary({ path: '/in/.c.csv.22222222.part', ofThisPeriod: false, modifiedMs: old }, context), true);
    assert.equal(isRemovableTemporary({ path: '/in/.b.csv.00000000.part', ofThisPeriod: true, modifiedMs: old }, context), false, 'recorded: evidence');
  });
});
