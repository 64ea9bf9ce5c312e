import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { MS_PER_DAY } from '../../src/domain/time-zone.js';
import { startTimeSkippingTemporal } from '../support/temporal.js';
import type { sleepDaysWorkflow } from './fixtures/sleeping-workflows.js';

const require = createRequire(import.meta.url);
const TASK_QUEUE = 'time-skipping-test';
const SLEEP_DAYS = 7;
/** Far below the week slept: the server skipped the time instead of waiting it out. */
const WALL_CLOCK_BOUND_MS = 15_000;

describe('the time-skipping test server (set-up installs it; fast workflow tests run on it)', () => {
  let temporal: TestWorkflowEnvironment;
  let worker: Worker;

  before(async () => {
    temporal = await startTimeSkippingTemporal();
    worker = await Worker.create({
      connection: temporal.nativeConnection,
      taskQueue: TASK_QUEUE,
      workflowsPath: require.resolve('./fixtures/sleeping-workflows.js'),
    });
  });

  after(async () => {
    await temporal?.teardown();
  });

  it('runs a workflow that sleeps a week in seconds of wall-clock time', async () => {
    assert.equal(temporal.supportsTimeSkipping, true);
    const started = Date.now();
    const result = await worker.runUntil(
      temporal.client.workflow.execute<typeof sleepDaysWorkflow>('sleepDaysWorkflow', {
        taskQueue: TASK_QUEUE,
        workflowId: 'sleep-a-week',
        args: [SLEEP_DAYS],
      }),
    );
    const wallMs = Date.now() - started;
    assert.ok(result.sleptMs >= SLEEP_DAYS * MS_PER_DAY, `workflow time passed: ${result.sleptMs} ms`);
    assert.ok(wallMs < WALL_CLOCK_BOUND_MS, `wall-clock time: ${wallMs} ms`);
  });
});
