import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createFilePermits } from '../../src/activities/file-permits.js';

describe('permits for large files', () => {
  it('grants as many as there are at once; the others wait and are served first come, first served', async () => {
    const permits = createFilePermits(2);
    const first = await permits.acquire();
    await permits.acquire();
    const served: string[] = [];
    const third = permits.acquire().then((release) => (served.push('third'), release));
    const fourth = permits.acquire().then((release) => (served.push('fourth'), release));
    assert.equal(permits.available, 0);
    assert.equal(permits.waiting, 2);
    first();
    await third;
    assert.deepEqual(served, ['third']);
    assert.equal(permits.waiting, 1);
    (await third)();
    await fourth;
    assert.deepEqual(served, ['third', 'fourth']);
    assert.equal(permits.waiting, 0);
  });

  it('a release called twice gives back one permit', async () => {
    const permits = createFilePermits(1);
    const release = await permits.acquire();
    release();
    release();
    assert.equal(permits.available, 1);
  });

  it('a waiter whose signal aborts rejects with its reason, leaves the queue, and the permit goes to the next', async () => {
    const permits = createFilePermits(1);
    const release = await permits.acquire();
    const abort = new AbortController();
    const cancelled = permits.acquire({ signal: abort.signal });
    const next = permits.acquire();
    abort.abort(new Error('cancelled by the test'));
    await assert.rejects(cancelled, /cancelled by the test/);
    assert.equal(permits.waiting, 1);
    release();
    (await next)();
    assert.equal(permits.available, 1);
    await assert.rejects(permits.acquire({ signal: AbortSignal.abort(new Error('already aborted')) }), /already aborted/);
    assert.equal(permits.available, 1, 'an aborted acquisition takes nothing');
  });

  it('tells a waiter each second that it still waits (so its activity heartbeats), and stops once it has a permit', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const permits = createFilePermits(1);
    const release = await permits.acquire();
    let reports = 0;
    const waiting = permits.acquire({ onWait: () => (reports += 1) });
    t.mock.timers.tick(999);
    assert.equal(reports, 0);
    t.mock.timers.tick(2_001);
    assert.equal(reports, 3);
    release();
    await waiting;
    t.mock.timers.tick(10_000);
    assert.equal(reports, 3, 'no reports after the permit was granted');
  });

  it('refuses a count that is not a whole number of at least 1, naming the value', () => {
    assert.throws(() => createFilePermits(0), /count 0 given; allowed: a whole number of at least 1/);
    assert.throws(() => createFilePermits(1.5), /count 1.5 given/);
  });
});
