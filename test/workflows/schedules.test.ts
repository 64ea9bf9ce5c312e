import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { scheduleId } from '../../src/domain/workflow-ids.js';
import { listSchedules, syncSchedules, type SyncResult } from '../../src/temporal/schedules.js';
import { runCliProcess } from '../support/cli.js';
import { startPipeline, type Pipeline } from '../support/pipeline.js';
import { waitUntil } from '../support/wait.js';

const AT_0300 = { hour: 3, minute: 0 };

/** Wall-clock reading of an instant in a zone, independent of the code under test. */
function wallClock(instant: Date, timeZone: string): { weekday: string; day: number; time: string } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(instant)
      .map((part) => [part.type, part.value]),
  );
  return { weekday: parts.weekday ?? '', day: Number(parts.day), time: `${parts.hour}:${parts.minute}` };
}

function byClient(results: SyncResult[]): Record<string, string> {
  return Object.fromEntries(results.map((result) => [result.clientId, result.action]));
}

describe('schedules (real Temporal dev server, PostgreSQL and sshd)', () => {
  let pipeline: Pipeline;
  const sync = () => syncSchedules(pipeline.db.knex, pipeline.temporal.client, AT_0300, pipeline.taskQueue);

  /** Waits until the ledger has `count` rows of the period with the status. */
  async function ledgerRows(clientId: string, periodStart: string, status: string, count: number): Promise<number> {
    const rows = async () =>
      Number((await pipeline.db.knex('report_runs').where({ client_id: clientId, period_start: periodStart, status }).count({ n: '*' }))[0]?.n ?? 0);
    await waitUntil(async () => (await rows()) >= count, { timeoutMs: 30_000, what: `${count} ${status} ledger rows of ${clientId} ${periodStart}` });
    return rows();
  }

  /** Listing goes through Temporal's visibility store, which catches up within moments. */
  async function listedSchedules(expected: number) {
    return waitUntil(
      async () => {
        const schedules = await listSchedules(pipeline.temporal.client);
        return schedules.length === expected ? schedules : null;
      },
      { timeoutMs: 10_000, what: `${expected} schedules listed` },
    );
  }

  before(async () => {
    pipeline = await startPipeline();
    const { knex } = pipeline.db;
    await knex('clients').insert([
      { id: 'day', name: 'Daily', timezone: 'America/Chicago', frequency: 'daily', delivery: JSON.stringify(await pipeline.deliveryTo('day')) },
      { id: 'week', name: 'Weekly', timezone: 'Europe/Berlin', frequency: 'weekly', delivery: JSON.stringify(await pipeline.deliveryTo('week')) },
      { id: 'month', name: 'Monthly', timezone: 'Asia/Tokyo', frequency: 'monthly', delivery: JSON.stringify(await pipeline.deliveryTo('month')) },
      { id: 'sand', name: 'Sandbox', environment: 'sandbox', delivery: JSON.stringify(await pipeline.deliveryTo('sand')) },
      { id: 'off', name: 'Disabled', enabled: false, delivery: JSON.stringify(await pipeline.deliveryTo('off')) },
      { id: 'nodelivery', name: 'No delivery' },
      { id: 'broken', name: 'Broken', timezone: 'Mars/Olympus' },
    ]);
    await knex('twoway_events').insert([
      { client_id: 'month', event_name: 'twoway.agent_ping', event_time: '2026-10-15T00:00:00Z' },
      { client_id: 'week', event_name: 'twoway.agent_ping', event_time: '2026-11-11T12:00:00Z' },
    ]);
  });

  after(async () => {
    await pipeline?.close();
  });

  it('creates one schedule per enabled production client with delivery, and reports the rest', async () => {
    const results = await sync();
    assert.deepEqual(byClient(results), {
      broken: 'failed',
      day: 'created',
      month: 'created',
      nodelivery: 'failed',
      off: 'skipped',
      sand: 'skipped',
      week: 'created',
    });
    assert.match(results.find((result) => result.clientId === 'broken')?.detail ?? '', /client "broken": timezone is "Mars\/Olympus"/);
    assert.match(results.find((result) => result.clientId === 'nodelivery')?.detail ?? '', /client "nodelivery": delivery is null/);
    assert.deepEqual(byClient(await sync()), {
      broken: 'failed',
      day: 'unchanged',
      month: 'unchanged',
      nodelivery: 'failed',
      off: 'skipped',
      sand: 'skipped',
      week: 'unchanged',
    });
  });

  it("reports next run times at 03:00 in each client's zone: daily, Mondays, first and second Saturdays", async () => {
    const schedules = Object.fromEntries((await listedSchedules(3)).map((schedule) => [schedule.clientId, schedule]));
    assert.deepEqual(Object.keys(schedules).sort(), ['day', 'month', 'week']);
    const now = Date.now();

    const daily = schedules.day?.nextRuns ?? [];
    assert.ok(daily.length >= 3);
    assert.ok(daily[0]!.getTime() > now && daily[0]!.getTime() <= now + 25 * 3_600_000);
    for (const run of daily) assert.equal(wallClock(run, 'America/Chicago').time, '03:00');
    for (let index = 1; index < daily.length; index++) {
      const hours = (daily[index]!.getTime() - daily[index - 1]!.getTime()) / 3_600_000;
      assert.ok([23, 24, 25].includes(hours), `daily runs ${hours} h apart`);
    }

    const weekly = schedules.week?.nextRuns ?? [];
    assert.ok(weekly.length >= 2);
    for (const run of weekly) assert.deepEqual([wallClock(run, 'Europe/Berlin').weekday, wallClock(run, 'Europe/Berlin').time], ['Mon', '03:00']);

    const monthly = schedules.month?.nextRuns ?? [];
    assert.ok(monthly.length >= 2);
    for (const run of monthly) {
      const local = wallClock(run, 'Asia/Tokyo');
      assert.deepEqual([local.weekday, local.time], ['Sat', '03:00']);
      assert.ok(local.day >= 1 && local.day <= 14, `monthly run on day ${local.day}`);
    }
    assert.equal(schedules.month?.timeZone, 'Asia/Tokyo');
  });

  it('derives the period from the nominal time: a monthly run on the second Saturday does nothing after the first delivered', async () => {
    const handle = pipeline.temporal.client.schedule.getHandle(scheduleId('month'));
    // Saturday 7 November 2026 (the first of the month), 03:00 in Tokyo is 18:00 UTC the day before.
    await handle.backfill({ start: new Date('2026-11-06T17:59:00Z'), end: new Date('2026-11-06T18:01:00Z'), overlap: ScheduleOverlapPolicy.ALLOW_ALL });
    assert.equal(await ledgerRows('month', '2026-10-01', 'delivered', 1), 1);
    // The second Saturday, 14 November.
    await handle.backfill({ start: new Date('2026-11-13T17:59:00Z'), end: new Date('2026-11-13T18:01:00Z'), overlap: ScheduleOverlapPolicy.ALLOW_ALL });
    assert.equal(await ledgerRows('month', '2026-10-01', 'skipped', 1), 1);
    assert.deepEqual(await readdir(join(pipeline.sftp.rootDir, 'month')), ['twoway_activity_month_monthly_20261001.csv']);
    const delivered = await pipeline.db.knex('report_runs').where({ client_id: 'month', status: 'delivered' }).first();
    assert.equal(delivered.workflow_id, 'twoway-report/month/monthly/2026-10-01');
    assert.equal(delivered.row_count, 1);
  });

  it("derives the previous ISO week from a Monday run in the client's zone", async () => {
    // Monday 16 November 2026, 03:00 in Berlin is 02:00 UTC.
    await pipeline.temporal.client.schedule
      .getHandle(scheduleId('week'))
      .backfill({ start: new Date('2026-11-16T01:59:00Z'), end: new Date('2026-11-16T02:01:00Z'), overlap: ScheduleOverlapPolicy.ALLOW_ALL });
    assert.equal(await ledgerRows('week', '2026-11-09', 'delivered', 1), 1);
    assert.deepEqual(await readdir(join(pipeline.sftp.rootDir, 'week')), ['twoway_activity_week_weekly_20261109.csv']);
  });

  it('follows the clients table: a new zone updates the schedule, a disabled client loses it', async () => {
    await pipeline.db.knex('clients').where({ id: 'day' }).update({ timezone: 'Asia/Kolkata' });
    await pipeline.db.knex('clients').where({ id: 'week' }).update({ enabled: false });
    const results = byClient(await sync());
    assert.equal(results.day, 'updated');
    assert.equal(results.week, 'deleted');
    const schedules = await listedSchedules(2);
    assert.deepEqual(schedules.map((schedule) => schedule.clientId).sort(), ['day', 'month']);
    const daily = schedules.find((schedule) => schedule.clientId === 'day');
    assert.equal(daily?.timeZone, 'Asia/Kolkata');
    for (const run of daily?.nextRuns ?? []) {
      assert.equal(wallClock(run, 'Asia/Kolkata').time, '03:00');
      assert.equal(run.getUTCHours() * 60 + run.getUTCMinutes(), 21 * 60 + 30, '03:00 in Kolkata (UTC+05:30) is 21:30 UTC');
    }
  });

  it('syncs each client on its own: a broken client keeps its schedule, the others are updated, the CLI exits 1 naming it', async () => {
    const { knex } = pipeline.db;
    const before = await pipeline.temporal.client.schedule.getHandle(scheduleId('month')).describe();
    await knex('clients').where({ id: 'month' }).update({ timezone: 'est' });
    await knex('clients').where({ id: 'day' }).update({ timezone: 'Europe/Paris' });
    const results = await sync();
    const actions = byClient(results);
    assert.equal(actions.month, 'failed');
    assert.equal(actions.day, 'updated');
    assert.match(
      results.find((result) => result.clientId === 'month')?.detail ?? '',
      /client "month": timezone is "est"; .*did you mean "America\/Panama"\?.*left as it was/,
    );
    const after = await pipeline.temporal.client.schedule.getHandle(scheduleId('month')).describe();
    assert.equal(after.spec.timezone, 'Asia/Tokyo');
    assert.equal(after.state.note, before.state.note);
    const day = await pipeline.temporal.client.schedule.getHandle(scheduleId('day')).describe();
    assert.equal(day.spec.timezone, 'Europe/Paris');

    const env = { DATABASE_URL: pipeline.db.url, TEMPORAL_ADDRESS: pipeline.temporal.address };
    const cli = await runCliProcess(['schedules', 'sync'], env);
    assert.equal(cli.status, 1, cli.stderr);
    assert.match(cli.stdout, /^failed {4}month: client "month": timezone is "est"/m);
    assert.match(cli.stdout, /^updated {3}day: /m);
    assert.equal(cli.stderr, 'twoway-report: schedules sync failed for "broken", "month", "nodelivery" (reasons above); every other client was synced\n');
    assert.equal((await pipeline.temporal.client.schedule.getHandle(scheduleId('month')).describe()).spec.timezone, 'Asia/Tokyo');
  });
});
