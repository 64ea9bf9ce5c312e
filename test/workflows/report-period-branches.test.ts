/**
 * Every branch of the period workflow, fast: stub activities on the time-skipping test server
 * (a lost host's timeouts pass in moments). What the real activities do is tested against
 * real PostgreSQL and sshd elsewhere; here the workflow's own decisions are.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { DeliverOutcome, DiscardInput, HostActivities, StartRunResult } from '../../src/activities/index.js';
import { WORKFLOW_BUNDLE_PATH } from '../../src/config/paths.js';
import type { RunOutcome } from '../../src/db/ledger.js';
import type { BuiltFile } from '../../src/domain/types.js';
import { ONE_PATCH_RUN, type reportPeriodWorkflow } from '../../src/workflows/report-period-workflow.js';
import { CLIENT_ATTRIBUTE, PERIOD_ATTRIBUTE, periodSearchAttributes } from '../../src/workflows/search-attributes.js';
import { TEST_POLICY } from '../support/pipeline.js';
import { startTimeSkippingTemporal } from '../support/temporal.js';
import { waitUntil } from '../support/wait.js';

const SHARED_QUEUE = 'branches-shared';
const HOST_QUEUE = 'branches-shared/host/live';
/** A host that answered and then died: nobody polls its queue. */
const LOST_QUEUE = 'branches-shared/host/lost';
const PERIOD = { clientId: 'acme', frequency: 'daily', periodStart: '2026-11-24' } as const;
const POLICY = { ...TEST_POLICY, maxHosts: 2, hostScheduleToStartTimeoutMs: 60_000 };
const NAME = 'twoway_activity_acme_daily_20261124.csv';

const BUILT: BuiltFile = { path: '/work/acme/daily/f.csv', fileName: NAME, rowCount: 3, bytes: 120, sha256: 'b'.repeat(64) };
const DELIVERED = { revision: 1, sha256: 'a'.repeat(64), fileName: NAME, remotePath: `/in/${NAME}`, rowCount: 2, bytes: 80 };

interface Scenario {
  start: StartRunResult;
  /** Queues claimHost answers, in order; the last one repeats. */
  hosts: string[];
  deliver: (input: Parameters<HostActivities['deliverReport']>[0]) => Promise<DeliverOutcome>;
  /** Runs before a discard is recorded; throwing fails that attempt. */
  discard?: () => void;
}

interface Calls {
  finished: RunOutcome[];
  failed: { error: string; errorType?: string; cancelled: boolean }[];
  delivered: Parameters<HostActivities['deliverReport']>[0][];
  /** The path given, or `period:<client>/<frequency>/<file name>` for a period's file. */
  discarded: string[];
  builds: number;
  /** Steps in the order they happened, where the order matters. */
  order: string[];
}

describe('reportPeriodWorkflow branches (stub activities, time-skipping test server)', () => {
  let temporal: TestWorkflowEnvironment;
  let scenario: Scenario;
  let calls: Calls;
  let claims = 0;
  let stop: () => Promise<void>;
  let runs = 0;

  before(async () => {
    temporal = await startTimeSkippingTemporal();
    const nextHost = () => scenario.hosts[Math.min(claims++, scenario.hosts.length - 1)];
    const shared = {
      // startRun names the first host, as the real one does (this worker's own queue).
      startRun: async () => (scenario.start.action === 'build' ? { ...scenario.start, hostTaskQueue: nextHost() } : scenario.start),
      claimHost: async () => nextHost(),
      finishRun: async (outcome: RunOutcome) => void calls.finished.push(outcome),
      failRun: async (input: { error: string; errorType?: string; cancelled: boolean }) => void calls.failed.push(input),
    };
    const host = {
      buildReport: async () => {
        calls.builds += 1;
        return BUILT;
      },
      deliverReport: async (input: Parameters<HostActivities['deliverReport']>[0]) => {
        calls.delivered.push(input);
        return scenario.deliver(input);
      },
      discardFile: async (input: DiscardInput) => {
        scenario.discard?.();
        calls.order.push('discard');
        calls.discarded.push('path' in input ? input.path : `period:${input.clientId}/${input.frequency}/${input.fileName}`);
      },
    };
    const connection = temporal.nativeConnection;
    const workers = await Promise.all([
      Worker.create({ connection, taskQueue: SHARED_QUEUE, workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH }, activities: shared }),
      Worker.create({ connection, taskQueue: HOST_QUEUE, activities: host }),
    ]);
    const running = Promise.all(workers.map((worker) => worker.run()));
    stop = async () => {
      for (const worker of workers) worker.shutdown();
      await running;
    };
  });

  after(async () => {
    await stop?.();
    await temporal?.teardown();
  });

  function prepare(partial: Partial<Scenario>): void {
    claims = 0;
    calls = { finished: [], failed: [], delivered: [], discarded: [], builds: 0, order: [] };
    scenario = {
      start: { action: 'build', fileName: NAME, latest: null, policy: POLICY },
      hosts: [HOST_QUEUE],
      deliver: async (input) => ({
        status: 'delivered',
        revision: 1,
        fileName: input.fileName,
        remotePath: `/in/${input.fileName}`,
        rowCount: input.rowCount,
        bytes: 120,
        sha256: input.sha256,
      }),
      ...partial,
    };
  }

  function start(force = false, withAttributes = false) {
    runs += 1;
    return temporal.client.workflow.start<typeof reportPeriodWorkflow>('reportPeriodWorkflow', {
      taskQueue: SHARED_QUEUE,
      workflowId: `branches-${runs}`,
      args: [{ ...PERIOD, force }],
      ...(withAttributes ? { typedSearchAttributes: periodSearchAttributes(PERIOD.clientId, PERIOD.frequency, PERIOD.periodStart) } : {}),
    });
  }

  /** Event types of the run's history, and the activity types it scheduled (local activities are markers, not scheduled tasks). */
  async function historyOf(handle: Awaited<ReturnType<typeof start>>) {
    const events = (await handle.fetchHistory()).events ?? [];
    return {
      // Upserts of the period's attributes (patched() upserts TemporalChangeVersion on its own, which Temporal does not bill).
      upserts: events.filter((event) => CLIENT_ATTRIBUTE.name in (event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {}))
        .length,
      markers: events.filter((event) => event.markerRecordedEventAttributes).length,
      scheduled: events.flatMap((event) => event.activityTaskScheduledEventAttributes?.activityType?.name ?? []),
    };
  }

  it('a run started with its search attributes upserts none; startRun and finishRun are local; the first host comes from startRun', async () => {
    prepare({});
    const handle = await start(false, true);
    const outcome = await handle.result();
    assert.equal(outcome.status, 'delivered');
    assert.deepEqual(
      calls.finished.map((outcome) => outcome.status),
      ['delivered'],
    );
    assert.equal(claims, 1, 'one host, named by startRun');
    const history = await historyOf(handle);
    assert.equal(history.upserts, 0);
    assert.deepEqual(history.scheduled, ['buildReport', 'deliverReport']);
    assert.ok(history.markers >= 3, `the patch and the local startRun and finishRun are markers (${history.markers})`);
  });

  it("a new run meets one workflow patch, so the SDK upserts the run's TemporalChangeVersion once", async () => {
    prepare({});
    const handle = await start(false, true);
    assert.equal((await handle.result()).status, 'delivered');
    const events = (await handle.fetchHistory()).events ?? [];
    const patchIds = events.flatMap((event) => {
      const attributes = event.markerRecordedEventAttributes;
      const payload = attributes?.markerName === 'core_patch' ? attributes.details?.['patch-data']?.payloads?.[0]?.data : undefined;
      return payload ? [(JSON.parse(Buffer.from(payload).toString('utf8')) as { id: string }).id] : [];
    });
    assert.deepEqual(patchIds, [ONE_PATCH_RUN]);
    const changeVersionUpserts = events.filter(
      (event) => 'TemporalChangeVersion' in (event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {}),
    );
    assert.equal(changeVersionUpserts.length, 1);
  });

  it('a run started without its search attributes still gets them, by one upsert', async () => {
    prepare({});
    const handle = await start();
    assert.equal((await handle.result()).status, 'delivered');
    const history = await historyOf(handle);
    assert.equal(history.upserts, 1);
    const attributes = (await handle.describe()).typedSearchAttributes;
    assert.equal(attributes.get(PERIOD_ATTRIBUTE), PERIOD.periodStart);
    assert.equal(attributes.get(CLIENT_ATTRIBUTE), PERIOD.clientId);
  });

  /**
   * The test server does not skip time while an activity task waits for a worker, so the lost
   * host's schedule-to-start timeout is skipped by hand, once per lost host, and once more for
   * the discard the run then sends the lost host (it waits a shorter time for its host).
   */
  async function resultSkippingHostTimeouts(handle: Awaited<ReturnType<typeof start>>, lostHosts: number) {
    const result = handle.result();
    const scheduledOnLostHost = async () =>
      ((await handle.fetchHistory()).events ?? []).filter((event) => event.activityTaskScheduledEventAttributes?.taskQueue?.name === LOST_QUEUE).length;
    // Skipped only once the task waits: time skipped before it is scheduled does not count towards its timeout.
    for (let task = 1; task <= lostHosts + 1; task++) {
      await waitUntil(async () => (await scheduledOnLostHost()) >= task, { timeoutMs: 20_000, what: `task ${task} on the lost host` });
      await temporal.sleep(POLICY.hostScheduleToStartTimeoutMs + 1_000);
    }
    return result;
  }

  it('skip: a delivered period that is not forced builds nothing', async () => {
    prepare({ start: { action: 'skip', delivered: DELIVERED } });
    const outcome = await (await start()).result();
    assert.equal(outcome.status, 'already-delivered');
    assert.equal(outcome.revision, 1);
    assert.equal(calls.builds, 0);
    assert.deepEqual(calls.finished, []);
  });

  it('unchanged: forced, and the build equals the delivered file: discarded, recorded unchanged, not delivered', async () => {
    prepare({ start: { action: 'build', fileName: NAME, latest: { ...DELIVERED, sha256: BUILT.sha256 }, policy: POLICY } });
    const outcome = await (await start(true)).result();
    assert.equal(outcome.status, 'unchanged');
    assert.deepEqual(calls.discarded, [BUILT.path]);
    assert.deepEqual(calls.delivered, []);
    assert.deepEqual(
      calls.finished.map((outcome) => outcome.status),
      ['unchanged'],
    );
  });

  it('new revision: a forced changed file goes to delivery with force, and the revision delivery chose is recorded', async () => {
    prepare({
      start: { action: 'build', fileName: NAME, latest: DELIVERED, policy: POLICY },
      deliver: async (input) => ({
        status: 'delivered',
        revision: 2,
        fileName: 'r2.csv',
        remotePath: '/in/r2.csv',
        rowCount: input.rowCount,
        bytes: 120,
        sha256: input.sha256,
      }),
    });
    const outcome = await (await start(true)).result();
    assert.equal(outcome.status, 'delivered');
    assert.equal(outcome.revision, 2);
    assert.equal(outcome.fileName, 'r2.csv');
    assert.deepEqual(
      calls.delivered.map((input) => [input.force, input.fileName, input.sha256, input.rowCount]),
      [[true, NAME, BUILT.sha256, BUILT.rowCount]],
    );
    assert.deepEqual(
      calls.finished.map((outcome) => [outcome.status, outcome.revision]),
      [['delivered', 2]],
    );
  });

  it('adopt the recorded file: delivery reports the file an earlier attempt published, and that is what the run records', async () => {
    prepare({ deliver: async () => ({ status: 'delivered', ...DELIVERED }) });
    const outcome = await (await start()).result();
    assert.equal(outcome.status, 'delivered');
    assert.equal(outcome.sha256, DELIVERED.sha256, 'the file the client has, not the one just built');
    assert.deepEqual(
      calls.finished.map((outcome) => [outcome.status, outcome.sha256]),
      [['delivered', DELIVERED.sha256]],
    );
  });

  it('already delivered meanwhile by another run: recorded as skipped', async () => {
    prepare({ deliver: async () => ({ status: 'already-delivered', ...DELIVERED }) });
    const outcome = await (await start()).result();
    assert.equal(outcome.status, 'already-delivered');
    assert.deepEqual(
      calls.finished.map((outcome) => outcome.status),
      ['skipped'],
    );
  });

  it('host lost: the build that no host picks up times out, and the file is rebuilt and delivered on another host', async () => {
    prepare({ hosts: [LOST_QUEUE, HOST_QUEUE] });
    const outcome = await resultSkippingHostTimeouts(await start(), 1);
    assert.equal(outcome.status, 'delivered');
    assert.equal(claims, 2);
    assert.equal(calls.builds, 1, 'built once, on the live host');
    assert.deepEqual(calls.discarded, [], 'the live host removed its file; the discard sent to the lost host found no worker');
  });

  it('built file missing on the host: rebuilt like a lost host', async () => {
    let first = true;
    prepare({
      deliver: async (input) => {
        if (first) {
          first = false;
          throw ApplicationFailure.create({ type: 'BuiltFileMissingError', message: 'gone', nonRetryable: true });
        }
        return {
          status: 'delivered',
          revision: 1,
          fileName: input.fileName,
          remotePath: `/in/${input.fileName}`,
          rowCount: 3,
          bytes: 120,
          sha256: input.sha256,
        };
      },
    });
    const outcome = await (await start()).result();
    assert.equal(outcome.status, 'delivered');
    assert.equal(calls.builds, 2);
  });

  it('out of hosts: after maxHosts lost hosts the run fails and the ledger records why', async () => {
    prepare({ hosts: [LOST_QUEUE] });
    const error = await resultSkippingHostTimeouts(await start(), POLICY.maxHosts).catch((caught: unknown) => caught);
    assert.ok(error instanceof WorkflowFailedError);
    assert.equal(claims, POLICY.maxHosts);
    assert.equal(calls.failed.length, 1);
    assert.equal(calls.failed[0]?.cancelled, false);
    assert.match(calls.failed[0]?.error ?? '', /timed out/);
  });

  it('a permanent delivery failure fails the run with its type and message on top', async () => {
    prepare({
      deliver: async () => {
        throw ApplicationFailure.create({ type: 'HostKeyMismatchError', message: 'client "acme": SFTP server presented another key', nonRetryable: true });
      },
    });
    const error = await (await start()).result().catch((caught: unknown) => caught);
    assert.ok(error instanceof WorkflowFailedError);
    assert.ok(error.cause instanceof ApplicationFailure);
    assert.equal(error.cause.type, 'HostKeyMismatchError');
    assert.match(error.cause.message, /client "acme"/);
    assert.deepEqual(
      calls.failed.map((failure) => [failure.cancelled, failure.errorType]),
      [[false, 'HostKeyMismatchError']],
    );
    assert.deepEqual(calls.discarded, [`period:acme/daily/${NAME}`], 'the built file is removed from its host');
  });

  it('a discard that fails does not change how the run ends', async () => {
    prepare({
      deliver: async () => {
        throw ApplicationFailure.create({ type: 'LoginRefusedError', message: 'client "acme": refused', nonRetryable: true });
      },
    });
    let discardAttempts = 0;
    scenario.discard = () => {
      discardAttempts += 1;
      throw new Error('input/output error');
    };
    const error = await (await start()).result().catch((caught: unknown) => caught);
    assert.ok(error instanceof WorkflowFailedError);
    assert.ok(error.cause instanceof ApplicationFailure);
    assert.equal(error.cause.type, 'LoginRefusedError');
    assert.equal(calls.failed.length, 1);
    assert.equal(discardAttempts, 3, 'tried a few times, then left to the sweep');
    assert.deepEqual(calls.discarded, []);
  });

  it('cancelled during delivery: the activity is cancelled, the ledger says cancelled, the workflow ends cancelled', async () => {
    prepare({
      deliver: async () => {
        try {
          // Heartbeats carry the cancellation to the activity.
          for (;;) {
            Context.current().heartbeat();
            await Context.current().sleep(200);
          }
        } finally {
          calls.order.push('delivery stopped');
        }
      },
    });
    const handle = await start();
    await waitUntil(() => calls.delivered.length > 0, { timeoutMs: 20_000, what: 'delivery to start' });
    await handle.cancel();
    const error = await handle.result().catch((caught: unknown) => caught);
    assert.ok(error instanceof WorkflowFailedError);
    assert.ok(error.cause instanceof CancelledFailure);
    assert.deepEqual(calls.failed, [{ error: 'cancelled', errorType: 'CancelledFailure', cancelled: true }]);
    assert.deepEqual(calls.order, ['delivery stopped', 'discard'], 'the run waits for the delivery to stop, then removes the built file');
    assert.deepEqual(calls.discarded, [`period:acme/daily/${NAME}`]);
  });
});
