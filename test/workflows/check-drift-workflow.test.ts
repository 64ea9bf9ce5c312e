/**
 * The drift check end to end: delivered periods on a real sshd through the project's workers on
 * a Temporal dev server and PostgreSQL, then late, deleted and changed source rows, and what
 * the check, the ledger, the notifications and the client's folder show.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { parse } from 'csv-parse/sync';
import { parseWatchSettings } from '../../src/config/env.js';
import { addDays } from '../../src/domain/local-date.js';
import { REPORT_HEADER } from '../../src/domain/report-row.js';
import { localDateOf } from '../../src/domain/time-zone.js';
import type { NotificationEvent } from '../../src/notifications/events.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../src/notifications/receiver.js';
import type { CheckDriftResult, checkDriftWorkflow } from '../../src/workflows/check-drift-workflow.js';
import type { scheduledReportWorkflow } from '../../src/workflows/scheduled-report-workflow.js';
import type { watchPeriodsWorkflow } from '../../src/workflows/watch-periods-workflow.js';
import { runCliProcess } from '../support/cli.js';
import { startPipeline, type Pipeline } from '../support/pipeline.js';
import { waitUntil } from '../support/wait.js';

const SECRET = 'whsec_drift_test_0123456789abcdef';
const TODAY = localDateOf('UTC', Date.now());
const DAY_1 = addDays(TODAY, -1);
const DAY_2 = addDays(TODAY, -2);
const RESTATE_TIMEOUT_MS = 60_000;

describe('the drift check (real Temporal dev server, PostgreSQL, sshd and a webhook receiver)', () => {
  let pipeline: Pipeline;
  let receiver: WebhookReceiver;
  let workDir: string;
  const events: NotificationEvent[] = [];
  let passes = 0;

  const knex = () => pipeline.db.knex;
  const check = () =>
    pipeline.temporal.client.workflow.execute<typeof checkDriftWorkflow>('checkDriftWorkflow', {
      taskQueue: pipeline.taskQueue,
      workflowId: `drift-pass-${(passes += 1)}`,
      args: [{}],
    }) as Promise<CheckDriftResult>;
  /** A watchdog pass: it sends what the outbox holds. */
  const sendOutbox = () =>
    pipeline.temporal.client.workflow.execute<typeof watchPeriodsWorkflow>('watchPeriodsWorkflow', {
      taskQueue: pipeline.taskQueue,
      workflowId: `watch-pass-${(passes += 1)}`,
    });
  const eventsOf = (clientId: string, periodStart: string) =>
    events.filter((event) => event.clientId === clientId && event.periodStart === periodStart && !['period.delivered', 'period.missing'].includes(event.type));
  const outboxOf = async (clientId: string, periodStart: string) =>
    ((await knex()('notification_outbox').select('event').orderBy('id')) as { event: { clientId: string; periodStart: string; type: string } }[])
      .map((row) => row.event)
      .filter((event) => event.clientId === clientId && event.periodStart === periodStart)
      .map((event) => event.type);
  const deliveredRevisions = async (clientId: string, periodStart: string) =>
    (
      (await knex()('report_files').where({ client_id: clientId, period_start: periodStart, status: 'delivered' }).orderBy('revision').select('revision')) as {
        revision: number;
      }[]
    ).map((row) => row.revision);
  const filesOf = async (clientId: string) => (await readdir(join(pipeline.sftp.rootDir, clientId))).filter((name) => !name.startsWith('.')).sort();

  async function addClient(id: string, lateData: unknown = null): Promise<void> {
    await knex()('clients').insert({ id, name: id, timezone: 'UTC', frequency: 'daily', delivery: JSON.stringify(await pipeline.deliveryTo(id)) });
    await knex()('client_watch').insert({ client_id: id, active_since: TODAY, late_data: lateData === null ? null : JSON.stringify(lateData) });
  }

  async function addEvent(clientId: string, eventTime: string, extra: Record<string, unknown> = {}): Promise<number> {
    const [row] = (await knex()('twoway_events')
      .insert({ client_id: clientId, event_name: 'twoway.agent_ping', event_time: eventTime, ccid: 'cc-1', ...extra })
      .returning('id')) as { id: number }[];
    return row?.id as number;
  }

  async function deliver(clientId: string, periodStart: string): Promise<void> {
    const outcome = await (await pipeline.startPeriod({ clientId, frequency: 'daily', periodStart })).result();
    assert.equal(outcome.status, 'delivered');
  }

  const resultOf = (result: CheckDriftResult) => ({ ...result.results, rebuilt: result.rebuilt, newlyDrifted: result.newlyDrifted });

  before(async () => {
    receiver = await startWebhookReceiver({ secret: SECRET, onEvent: (event) => void events.push(event) });
    pipeline = await startPipeline({
      webhook: { url: receiver.url, format: 'json', secret: SECRET, timeoutMs: 5_000 },
      watch: { ...parseWatchSettings({}), scheduleTime: { hour: 0, minute: 0 } },
    });
    workDir = await mkdtemp(join(tmpdir(), 'twoway-drift-cli-'));
  });

  after(async () => {
    await pipeline?.close();
    await receiver?.close();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('report: an unchanged period is judged by its fingerprint alone; a late event is recorded once over two checks, with one notification', async () => {
    await addClient('rep');
    await addEvent('rep', `${DAY_2}T10:00:00Z`);
    await deliver('rep', DAY_2);
    // The cheap path: the fingerprint read with the build still matches, so nothing is built.
    assert.deepEqual(resultOf(await check()), {
      'fingerprint-unchanged': 1,
      'rebuilt-unchanged': 0,
      drifted: 0,
      'already-recorded': 0,
      rebuilt: 0,
      newlyDrifted: 0,
    });

    await addEvent('rep', `${DAY_2}T11:00:00Z`, { ccid: 'cc-late' });
    assert.deepEqual(resultOf(await check()), {
      'fingerprint-unchanged': 0,
      'rebuilt-unchanged': 0,
      drifted: 1,
      'already-recorded': 0,
      rebuilt: 1,
      newlyDrifted: 1,
    });
    const second = await check();
    assert.deepEqual(resultOf(second), { 'fingerprint-unchanged': 0, 'rebuilt-unchanged': 0, drifted: 0, 'already-recorded': 1, rebuilt: 0, newlyDrifted: 0 });
    assert.deepEqual(second.restated, []);

    const [record, ...more] = (await knex()('period_drift').where({ client_id: 'rep' })) as {
      revision: number;
      delivered_row_count: number;
      rebuilt_row_count: number;
    }[];
    assert.equal(more.length, 0, 'one record');
    assert.deepEqual([record?.revision, record?.delivered_row_count, record?.rebuilt_row_count], [1, 1, 2]);
    assert.deepEqual(await outboxOf('rep', DAY_2), ['period.drifted']);
    await sendOutbox();
    await sendOutbox();
    assert.deepEqual(
      eventsOf('rep', DAY_2).map((event) => event.type),
      ['period.drifted'],
    );
    const drifted = eventsOf('rep', DAY_2)[0];
    assert.ok(drifted?.type === 'period.drifted');
    assert.deepEqual([drifted.data.revision, drifted.data.deliveredRowCount, drifted.data.rebuiltRowCount], [1, 1, 2]);
    assert.deepEqual(await deliveredRevisions('rep', DAY_2), [1], 'report delivers nothing');

    const cli = await runCliProcess(['drift', '--client', 'rep'], { DATABASE_URL: pipeline.db.url, TWOWAY_WORK_DIR: workDir });
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, new RegExp(`^rep {2}daily ${DAY_2} {2}r1 {2}drifted {2}1 → 2 rows {2}recorded by an earlier check$`, 'm'));
    assert.match(cli.stdout, /^checked 1 delivered periods of 1 clients: 0 unchanged by fingerprint, 0 rebuilt, 1 drifted$/m);
    const status = await runCliProcess(['status', '--client', 'rep'], { DATABASE_URL: pipeline.db.url });
    assert.match(status.stdout, new RegExp(`rep daily ${DAY_2} r1 {2}delivered .* first delivery, drifted \\(found \\S+\\)$`, 'm'));
  });

  it('restate: delivers _r2 holding the late event, its corrections file and one notification', async () => {
    await addClient('res', { policy: 'restate', corrections: true });
    await addEvent('res', `${DAY_2}T10:00:00Z`);
    await deliver('res', DAY_2);
    const lateId = await addEvent('res', `${DAY_2}T12:30:00Z`, { ccid: 'cc-late', control_tag: 'late-tag' });
    assert.ok(lateId > 0);
    const pass = await check();
    assert.deepEqual(
      pass.restated.map((restated) => [restated.clientId, restated.periodStart]),
      [['res', DAY_2]],
    );
    const outcome = await pipeline.temporal.client.workflow.getHandle(pass.restated[0]?.workflowId ?? '').result();
    assert.deepEqual([outcome.status, outcome.revision], ['delivered', 2]);
    const files = await filesOf('res');
    const r2 = files.find((name) => name.endsWith('_r2.csv'));
    const corrections = files.find((name) => name.endsWith('_r2.corrections.csv'));
    assert.ok(r2 && corrections, files.join(', '));
    assert.equal(files.length, 3, files.join(', '));
    const rows = parse(await readFile(join(pipeline.sftp.rootDir, 'res', r2), 'utf8'), { record_delimiter: '\r\n' }) as string[][];
    assert.deepEqual(
      rows.slice(1).map((row) => row[REPORT_HEADER.indexOf('control_tag')]),
      ['', 'late-tag'],
    );
    const changed = parse(await readFile(join(pipeline.sftp.rootDir, 'res', corrections), 'utf8'), { record_delimiter: '\r\n' }) as string[][];
    assert.deepEqual(changed[0], [...REPORT_HEADER, 'change']);
    assert.deepEqual(
      changed.slice(1).map((row) => [row[REPORT_HEADER.indexOf('control_tag')], row[20]]),
      [['late-tag', 'added']],
    );

    const run = (await knex()('report_runs').where({ client_id: 'res', period_start: DAY_2, revision: 2, status: 'delivered' }).first()) as {
      reason: string;
      rows_added: number;
      rows_removed: number;
      forced: boolean;
    };
    assert.deepEqual([run.reason, run.rows_added, run.rows_removed, run.forced], ['restated-for-drift', 1, 0, true]);
    await waitUntil(async () => (await outboxOf('res', DAY_2)).length > 0, { timeoutMs: RESTATE_TIMEOUT_MS, what: 'the restated notification queued' });
    assert.deepEqual(await outboxOf('res', DAY_2), ['period.restated'], 'restate sends no period.drifted');
    await sendOutbox();
    const restated = eventsOf('res', DAY_2);
    assert.deepEqual(
      restated.map((event) => event.type),
      ['period.restated'],
    );
    assert.ok(restated[0]?.type === 'period.restated');
    assert.deepEqual([restated[0].data.revision, restated[0].data.replacesRevision, restated[0].data.rowsAdded, restated[0].data.rowsRemoved], [2, 1, 1, 0]);

    // The next check finds revision 2 by its fingerprint: nothing built, nothing restated.
    const after = await check();
    assert.deepEqual(after.restated, []);
    assert.deepEqual(await deliveredRevisions('res', DAY_2), [1, 2]);
    const status = await runCliProcess(['status', '--client', 'res'], { DATABASE_URL: pipeline.db.url });
    assert.match(status.stdout, new RegExp(`res daily ${DAY_2} r2 {2}delivered \\(forced\\) .*_r2\\.csv {2}restated for drift, \\+1 −0 rows`, 'm'));
  });

  it('a late event of an excluded type, or just outside the period, changes nothing and builds nothing', async () => {
    await addClient('quiet');
    await addEvent('quiet', `${DAY_2}T10:00:00Z`);
    await deliver('quiet', DAY_2);
    await addEvent('quiet', `${DAY_2}T10:30:00Z`, { event_name: 'twoway_webhook.message_read' });
    await addEvent('quiet', `${DAY_1}T00:00:00Z`);
    // A field the file never shows changes no fingerprint either.
    await knex()('twoway_events')
      .where({ client_id: 'quiet', event_name: 'twoway.agent_ping' })
      .where('event_time', `${DAY_2}T10:00:00Z`)
      .update({ message_text: 'edited' });
    const result = await check();
    const quiet = await knex()('period_drift').where({ client_id: 'quiet' });
    assert.deepEqual(quiet, []);
    assert.ok(result.results['fingerprint-unchanged'] >= 1);
    assert.equal(result.rebuilt, 0, 'no period was rebuilt');
  });

  it('a deleted event is drift', async () => {
    await addClient('del');
    await addEvent('del', `${DAY_2}T10:00:00Z`);
    const doomed = await addEvent('del', `${DAY_2}T11:00:00Z`);
    await deliver('del', DAY_2);
    await knex()('twoway_events').where({ id: doomed }).delete();
    await check();
    const record = (await knex()('period_drift').where({ client_id: 'del' }).first()) as { delivered_row_count: number; rebuilt_row_count: number };
    assert.deepEqual([record.delivered_row_count, record.rebuilt_row_count], [2, 1]);
  });

  it('a renamed agent is drift when dimensions count, and not when the client counts events only', async () => {
    await knex()('agents').insert({ id: 'agent-renamed', email: 'ann@example.com', first_name: 'Ann' });
    await addClient('dims');
    await addClient('events-only', { dimensions: false });
    for (const clientId of ['dims', 'events-only']) {
      await addEvent(clientId, `${DAY_2}T10:00:00Z`, { agent_id: 'agent-renamed' });
      await deliver(clientId, DAY_2);
    }
    await knex()('agents').where({ id: 'agent-renamed' }).update({ first_name: 'Anne' });
    await check();
    assert.equal((await knex()('period_drift').where({ client_id: 'dims' })).length, 1);
    assert.equal((await knex()('period_drift').where({ client_id: 'events-only' })).length, 0);
  });

  it('a drift check racing a scheduled run of the same period: one delivery per revision, no second _r2', async () => {
    await addClient('race', 'restate');
    await addEvent('race', `${DAY_1}T10:00:00Z`);
    await deliver('race', DAY_1);
    await addEvent('race', `${DAY_1}T10:05:00Z`, { ccid: 'cc-late' });
    // The schedule's run of yesterday, two drift passes and an operator's unforced run, all at once.
    const scheduled = pipeline.temporal.client.workflow.execute<typeof scheduledReportWorkflow>('scheduledReportWorkflow', {
      taskQueue: pipeline.taskQueue,
      workflowId: 'twoway-scheduled/race#race',
      args: [{ clientId: 'race', frequency: 'daily', timeZone: 'UTC' }],
    });
    const operator = pipeline
      .startPeriod({ clientId: 'race', frequency: 'daily', periodStart: DAY_1 })
      .then((handle) => handle.result())
      .catch((error: unknown) => {
        // A restating run of the period is in progress: the operator's run is not started beside it.
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      });
    const [first, second] = await Promise.all([check(), check(), scheduled, operator]);
    const started = [...(first?.restated ?? []), ...(second?.restated ?? [])];
    // A pass that found the period busy leaves it for the next one.
    if (started.length === 0) await check();
    await waitUntil(async () => (await deliveredRevisions('race', DAY_1)).includes(2), { timeoutMs: RESTATE_TIMEOUT_MS, what: 'revision 2 of race' });
    // Every restating run has ended before the end state is judged.
    await waitUntil(async () => (await knex()('report_runs').where({ client_id: 'race', status: 'running' })).length === 0, {
      timeoutMs: RESTATE_TIMEOUT_MS,
      what: 'every run of race to end',
    });
    assert.deepEqual(await deliveredRevisions('race', DAY_1), [1, 2]);
    const delivered = (await knex()('report_runs').where({ client_id: 'race', status: 'delivered' }).select('revision')) as { revision: number }[];
    assert.deepEqual(delivered.map((row) => row.revision).sort(), [1, 2], 'one delivered run per revision');
    const files = await filesOf('race');
    assert.equal(files.filter((name) => name.endsWith('_r2.csv')).length, 1, files.join(', '));
    assert.equal(files.filter((name) => /_r\d+\.csv$/.test(name)).length, 1, files.join(', '));
    assert.deepEqual((await check()).restated, [], 'nothing left to restate');
  });
});
