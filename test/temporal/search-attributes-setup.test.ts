import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { missingSearchAttributes } from '../../src/temporal/search-attributes-setup.js';
import { runCliProcess } from '../support/cli.js';
import { startTestTemporal, type TestTemporal } from '../support/temporal.js';

describe("setup-namespace (a real Temporal dev server that starts without the project's search attributes)", () => {
  let temporal: TestTemporal;

  before(async () => {
    temporal = await startTestTemporal({ bare: true });
  });

  after(async () => {
    await temporal?.teardown();
  });

  it('registers the missing search attributes once; a second run changes nothing', async () => {
    const env = { TEMPORAL_ADDRESS: temporal.address, TEMPORAL_NAMESPACE: temporal.namespace ?? 'default' };
    assert.deepEqual(await missingSearchAttributes(temporal.nativeConnection, env.TEMPORAL_NAMESPACE), ['TwowayClient', 'TwowayFrequency', 'TwowayPeriod']);
    const first = await runCliProcess(['setup-namespace'], env);
    assert.equal(first.status, 0, first.stderr);
    assert.equal(first.stdout, `added search attributes TwowayClient, TwowayFrequency, TwowayPeriod to namespace ${env.TEMPORAL_NAMESPACE}\n`);
    assert.deepEqual(await missingSearchAttributes(temporal.nativeConnection, env.TEMPORAL_NAMESPACE), []);
    const second = await runCliProcess(['setup-namespace'], env);
    assert.equal(second.stdout, `namespace ${env.TEMPORAL_NAMESPACE} has every search attribute already\n`);
  });
});
