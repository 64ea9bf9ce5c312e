import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { waitUntil } from './wait.js';

describe('waitUntil', () => {
  it('returns the first truthy value the condition gives', async () => {
    let checks = 0;
    const value = await waitUntil(() => (++checks >= 3 ? { checks } : null), { timeoutMs: 5_000, intervalMs: 1, what: 'the third check' });
    assert.deepEqual(value, { checks: 3 });
  });

  it('fails after the timeout with an error naming what it waited for and the timeout', async () => {
    const started = Date.now();
    await assert.rejects(
      waitUntil(() => false, { timeoutMs: 200, intervalMs: 20, what: () => 'a door that never opens' }),
      {
        message: 'timed out after 200 ms waiting for a door that never opens',
      },
    );
    assert.ok(Date.now() - started >= 150, 'it waited out the timeout instead of failing at once');
  });

  it('ends at once with the error the condition throws', async () => {
    const started = Date.now();
    await assert.rejects(
      waitUntil(() => Promise.reject(new Error('the process exited')), { timeoutMs: 60_000, what: 'a process' }),
      { message: 'the process exited' },
    );
    assert.ok(Date.now() - started < 1_000);
  });
});
