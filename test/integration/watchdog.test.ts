import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseWatchSettings } from '../../src/config/env.js';
import { addDays } from '../../src/domain/local-date.js';
import { localDateOf, MS_PER_MINUTE } from '../../src/domain/time-zone.js';
import type { NotificationEvent } from '../../src/notifications/events.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../src/notifications/receiver.js';
import { scheduleId } from '../../src/domain/workflow-ids.js';
import { syncSchedules } from '../../src/temporal/schedules.js';
import type { ReportPeriodInput } from '../../src/workflows/report-period-workflow.js';
import type { WatchPassResult, watchPeriodsWorkflow } from '../../src/workflows/watch-periods-workflow.js';
import { startPipeline, TEST_POLICY, type Pipeline } from '../support/pipeline.js';
import { runCliProcess } from '../support/cli.js';
import { waitUntil } from '../support/wait.js';

const SECRET = 'whsec_watchdog_test_0123456789abcdef';
/** Schedules "run" at midnight, so every period before yesterday is overdue at any time of day. */
const WATCH = { ...parseWatchSettings({}), scheduleTime: { hour: 0, minute: 0 } };
const TODAY = localDateOf('UTC', Date.now());
const DAY_3 = addDays(TODAY, -3);
const DAY_2 = addDays(TODAY, -2);
const DAY_1 = addDays(TODAY, -1);

describe('the watchdog (real Temporal dev server, PostgreSQL, sshd and a webhook receiver)', () => {
  let pipeline: Pipeline;
  let receiver: WebhookReceiver;
  const events: NotificationEvent[] = [];
  /** The watchdog's clock: real time unless a test moves it. */
  let clockOffsetMs = 0;
  let passes = 0;

  const eventsOf = (clientId: string, periodStart?: string) =>
    events.filter((event) => event.clientId === clientId && (periodStart === undefined || event.periodStart === periodStart)).map((event) => event.type);
  const pass = () =>
    pipeline.temporal.client.workflow.execute<typeof watchPeriodsWorkflow>('watchPeriodsWorkflow', {
      taskQueue: pipeline.taskQueue,
      workflowId: `watch-pass-${(passes += 1)}`,
    }) as Promise<WatchPassResult>;
  const startPeriod = (input: ReportPeriodInput) => pipeline.startPeriod(input);
  /** `twoway-report problems` against this pipeline's database and Temporal, with the watchdog's schedule time. */
  const problems = (...args: string[]) =>
    runCliProcess(['problems', ...args], { DATABASE_URL: pipeline.db.url, TEMPORAL_ADDRESS: pipeline.temporal.address, TWOWAY_SCHEDULE_TIME: '00:00' });
  const stateOf = async (clientId: string, periodStart: string) =>
    (await pipeline.db.knex('period_states').where({ client_id: clientId, period_start: periodStart }).first()) as
      { state: string; last_error: string | null } | undefined;

  before(async () => {
    receiver = await startWebhookReceiver({ secret: SECRET, onEvent: (event) => void events.push(event) });
    pipeline = await startPipeline({
      policy: { ...TEST_POLICY, deliveryDeadlineMs: 5 * MS_PER_MINUTE },
      webhook: { url: receiver.url, format: 'json', secret: SECRET, timeoutMs: 5_000 },
      watch: WATCH,
      watchClock: () => Date.now() + clockOffsetMs,
    });
  });

  /** A client of one test, watched from `activeSince`: the others' passes never judged it before. */
  async function addClient(id: string, activeSince: string, delivery: Record<string, unknown> | null, extra: Record<string, unknown> = {}): Promise<void> {
    await pipeline.db.knex('clients').insert({ id, name: id, timezone: 'UTC', frequency: 'daily', delivery: delivery && JSON.stringify(delivery), ...extra });
    await pipeline.db.knex('client_watch').insert({ client_id: id, active_since: activeSince });
  }

  after(async () => {
    await pipeline?.close();
    await receiver?.close();
  });

  it('a paused schedule: its periods go missing, with one webhook each however many passes run', async () => {
    await addClient('paused', DAY_3, await pipeline.deliveryTo('paused'));
    await addClient('sandbox', DAY_3, null, { environment: 'sandbox' });
    const synced = await syncSchedules(pipeline.db.knex, pipeline.temporal.client, WATCH.scheduleTime, pipeline.taskQueue);
    assert.equal(synced.find((result) => result.clientId === 'paused')?.action, 'created');
    await pipeline.temporal.client.schedule.getHandle(scheduleId('paused')).pause('test: a schedule an operator forgot');
    await pass();
    await pass();
    assert.deepEqual(eventsOf('paused', DAY_3), ['period.missing']);
    assert.deepEqual(eventsOf('paused', DAY_2), ['period.missing']);
    assert.equal((await stateOf('paused', DAY_3))?.state, 'missing');
    const listed = await problems('--client', 'paused');
    assert.equal(listed.status, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`^paused  daily ${DAY_3}  missing  since ${DAY_2}T00:30:00Z  due ${DAY_2}T09:00:00Z$`, 'm'));
    assert.match(listed.stdout, new RegExp(`^paused  daily ${DAY_2}  missing  since ${DAY_1}T00:30:00Z`, 'm'));
    assert.match(listed.stdout, /^\d+ periods need action \(\d+ missing\)$/m);
    const unknown = await problems('--client', 'nosuch');
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /client "nosuch" does not exist/);
    assert.deepEqual(eventsOf('sandbox'), [], 'a sandbox client is not watched');
    const unsent = await pipeline.db.knex('notification_outbox').whereNull('sent_at').count<{ count: number }[]>('* as count');
    assert.equal(Number(unsent[0]?.count), 0, 'every event settled');
  });

  it('a failing delivery: failed with one notification naming the error, then recovered after the fix', async () => {
    await addClient('hooli', DAY_2, await pipeline.deliveryTo('hooli', { password: { env: 'TWOWAY_SECRET_TEST_WRONG_PASSWORD' } }));
    const handle = await startPeriod({ clientId: 'hooli', frequency: 'daily', periodStart: DAY_2 });
    await assert.rejects(handle.result());
    const first = await pass();
    assert.ok(first.problems.failed >= 1);
    await pass();
    assert.deepEqual(eventsOf('hooli', DAY_2), ['period.failed']);
    const failed = events.find((event) => event.clientId === 'hooli' && event.type === 'period.failed');
    assert.ok(failed?.type === 'period.failed');
    assert.equal(failed.data.errorType, 'AuthenticationFailedError');
    assert.match(failed.data.errorMessage, /client "hooli"/);
    assert.match((await stateOf('hooli', DAY_2))?.last_error ?? '', /password/);
    const failedList = await problems('--client', 'hooli');
    assert.match(
      failedList.stdout,
      new RegExp(
        `^hooli  daily ${DAY_2}  failed   since \\S+  due ${DAY_1}T09:00:00Z  twoway-report/hooli/daily/${DAY_2}  AuthenticationFailedError: client "hooli": SFTP server \\S+ refused password login`,
        'm',
      ),
    );

    // The fix, then a rerun: the period is delivered and the failure recovers.
    const fixed = await pipeline.deliveryTo('hooli', { password: { env: 'TWOWAY_SECRET_TEST_SFTP_PASSWORD' } });
    await pipeline.db
      .knex('clients')
      .where({ id: 'hooli' })
      .update({ delivery: JSON.stringify(fixed) });
    const rerun = await startPeriod({ clientId: 'hooli', frequency: 'daily', periodStart: DAY_2 });
    assert.equal((await rerun.result()).status, 'delivered');
    await pass();
    await pass();
    assert.deepEqual(eventsOf('hooli', DAY_2), ['period.failed', 'period.recovered']);
    const recovered = events.find((event) => event.clientId === 'hooli' && event.type === 'period.recovered');
    assert.ok(recovered?.type === 'period.recovered');
    assert.equal(recovered.data.previousState, 'failed');
    assert.equal((await stateOf('hooli', DAY_2))?.state, 'delivered');
    const afterFix = await problems('--client', 'hooli');
    assert.equal(afterFix.status, 0, afterFix.stderr);
    assert.doesNotMatch(afterFix.stdout, new RegExp(`hooli  daily ${DAY_2}`), 'a delivered period leaves the list');
  });

  it('a deadline passing while a run still retries: late once, not on every pass', async () => {
    // Nothing listens on port 1: every upload attempt is refused and retried.
    await addClient('slow', DAY_1, await pipeline.deliveryTo('slow', { port: 1 }));
    const handle = await startPeriod({ clientId: 'slow', frequency: 'daily', periodStart: DAY_1 });
    try {
      await waitUntil(async () => (await pipeline.db.knex('report_runs').where({ client_id: 'slow', status: 'running' }).first()) !== undefined, {
        timeoutMs: 30_000,
        what: 'the slow run to be recorded running',
      });
      // Due at 09:00 UTC on the day after the period (the default): judge just before it, then after.
      const dueAt = Date.parse(`${TODAY}T09:00:00Z`);
      clockOffsetMs = dueAt - 60_000 - Date.now();
      await pass();
      assert.equal((await stateOf('slow', DAY_1))?.state, 'running');
      assert.deepEqual(eventsOf('slow'), []);
      clockOffsetMs = dueAt + 1_000 - Date.now();
      await pass();
      clockOffsetMs = dueAt + 5 * MS_PER_MINUTE - Date.now();
      await pass();
      await pass();
      assert.deepEqual(eventsOf('slow', DAY_1), ['period.late']);
      const late = events.find((event) => event.clientId === 'slow' && event.type === 'period.late');
      assert.ok(late?.type === 'period.late');
      assert.equal(late.data.dueAt, new Date(dueAt).toISOString());
      assert.equal((await stateOf('slow', DAY_1))?.state, 'late');
    } finally {
      clockOffsetMs = 0;
      await handle.terminate('test over');
    }
  });
});
