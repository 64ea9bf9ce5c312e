import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeRetries } from '../../../src/cli/commands/run.js';

describe('run: what its retrying steps are at', () => {
  it('says nothing while every step is on its first, unfailed attempt', () => {
    assert.equal(describeRetries([]), '');
    assert.equal(describeRetries([{ activityType: { name: 'buildReport' }, attempt: 1 }]), '');
  });

  it('names each retrying step, its attempt and the first line of its last error', () => {
    const line = describeRetries([
      { activityType: { name: 'buildReport' }, attempt: 1 },
      { activityType: { name: 'deliverReport' }, attempt: 4, lastFailure: { message: 'client "acme": SFTP connect failed\nat stack' } },
      { activityType: { name: 'discardFile' }, attempt: 2 },
    ]);
    assert.equal(line, 'deliverReport attempt 4, last error: client "acme": SFTP connect failed; discardFile attempt 2');
  });
});
