/**
 * Captures workflow histories from real runs (Temporal dev server, PostgreSQL, sshd and the
 * project's own workers) into test/workflows/histories/, for the replay test. Run it with
 * `npm run histories` after a deliberate, replay-safe workflow change (see the README's
 * "Changing workflows"), and commit the new files beside the old ones: old histories stay,
 * because runs started by the old code may still be in flight when the new code deploys.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { PROJECT_ROOT } from '../../src/config/paths.js';
import { findTemporalCli } from '../../src/devstack/temporal-dev-server.js';
import { periodWorkflowId } from '../../src/domain/workflow-ids.js';
import type { backfillReportsWorkflow } from '../../src/workflows/backfill-reports-workflow.js';
import type { ReportPeriodInput, reportPeriodWorkflow } from '../../src/workflows/report-period-workflow.js';
import type { scheduledReportWorkflow } from '../../src/workflows/scheduled-report-workflow.js';
import type { watchPeriodsWorkflow } from '../../src/workflows/watch-periods-workflow.js';
import { startWebhookReceiver } from '../../src/notifications/receiver.js';
import { randomBytes } from 'node:crypto';
import { periodSearchAttributes } from '../../src/workflows/search-attributes.js';
import { startPipeline, type Pipeline } from './pipeline.js';
import { waitUntil } from './wait.js';

const HISTORIES_DIR = join(PROJECT_ROOT, 'test', 'workflows', 'histories');
const MAX_HISTORY_BYTES = 16 * 1024 * 1024;
const run = promisify(execFile);

/**
 * Files are named `<workflow type>--<scenario>--<capture date>.json`; a second capture on the
 * same day gets `.2`, `.3`, … so the histories of the earlier code stay beside the new ones.
 */
function historyFile(type: string, scenario: string, captured: string): string {
  const base = join(HISTORIES_DIR, `${type}--${scenario}--${captured}`);
  let path = `${base}.json`;
  for (let copy = 2; existsSync(path); copy += 1) path = `${base}.${copy}.json`;
  return path;
}

/**
 * The history as the Temporal CLI exports it (`temporal workflow show -o json`, the format
 * operators use too). The SDK's historyToJSON fails here: @temporalio/common carries its own
 * copy of protobufjs, whose protojson does not accept @temporalio/proto's types.
 */
async function save(pipeline: Pipeline, handle: WorkflowHandle, type: string, scenario: string, captured: string, runId?: string): Promise<string> {
  const path = historyFile(type, scenario, captured);
  const { stdout } = await run(
    findTemporalCli(),
    [
      'workflow',
      'show',
      '--address',
      pipeline.temporal.address,
      '--namespace',
      pipeline.temporal.namespace ?? 'default',
      '--workflow-id',
      handle.workflowId,
      ...(runId ? ['--run-id', runId] : []),
      '--output',
      'json',
    ],
    { maxBuffer: MAX_HISTORY_BYTES },
  );
  await writeFile(path, stdout);
  return path;
}

async function capturePeriodRuns(pipeline: Pipeline, captured: string): Promise<string[]> {
  const { knex } = pipeline.db;
  // A server that accepts connections and never answers: a delivery that hangs until cancelled.
  const sockets = new Set<Socket>();
  const silent = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const silentPort = (silent.address() as { port: number }).port;
  try {
    await knex('clients').insert([
      { id: 'acme', name: 'Acme', timezone: 'America/Chicago', delivery: JSON.stringify(await pipeline.deliveryTo('acme', { checksumFile: true })) },
      {
        id: 'badkey',
        name: 'Bad key',
        timezone: 'UTC',
        delivery: JSON.stringify(await pipeline.deliveryTo('badkey', { password: { env: 'TWOWAY_SECRET_TEST_WRONG_PASSWORD' } })),
      },
      { id: 'silent', name: 'Silent', timezone: 'UTC', delivery: JSON.stringify(await pipeline.deliveryTo('silent', { port: silentPort })) },
    ]);
    for (const clientId of ['acme', 'badkey', 'silent']) {
      await knex('twoway_events').insert({ client_id: clientId, event_name: 'twoway.agent_ping', event_time: '2026-11-24T15:00:00Z', ccid: 'cc-1' });
    }
    let runs = 0;
    const start = (input: ReportPeriodInput) => {
      runs += 1;
      return pipeline.temporal.client.workflow.start<typeof reportPeriodWorkflow>('reportPeriodWorkflow', {
        taskQueue: pipeline.taskQueue,
        // Unique per capture (a rerun of one id would be a second run under the same id).
        workflowId: `${periodWorkflowId(input.clientId, input.frequency, input.periodStart)}#${runs}`,
        args: [input],
        typedSearchAttributes: periodSearchAttributes(input.clientId, input.frequency, input.periodStart),
      });
    };
    const period = { frequency: 'daily', periodStart: '2026-11-24' } as const;
    const paths: string[] = [];
    const finished = async (scenario: string, handle: WorkflowHandle) => {
      await handle.result().catch(() => undefined);
      paths.push(await save(pipeline, handle, 'reportPeriodWorkflow', scenario, captured));
    };

    await finished('delivered', await start({ clientId: 'acme', ...period }));
    await finished('already-delivered', await start({ clientId: 'acme', ...period }));
    await finished('forced-unchanged', await start({ clientId: 'acme', ...period, force: true }));
    await knex('twoway_events').insert({ client_id: 'acme', event_name: 'twoway.agent_invite', event_time: '2026-11-24T16:00:00Z', ccid: 'cc-1' });
    await finished('forced-revision', await start({ clientId: 'acme', ...period, force: true }));
    await finished('failed-login', await start({ clientId: 'badkey', ...period }));

    const hanging = await start({ clientId: 'silent', ...period });
    await waitUntil(async () => ((await knex('report_runs').where({ client_id: 'silent' }).max({ attempts: 'attempts' }))[0]?.attempts ?? 0) >= 1, {
      timeoutMs: 30_000,
      what: "the silent client's delivery to start",
    });
    await hanging.cancel();
    await finished('cancelled', hanging);
    return paths;
  } finally {
    for (const socket of sockets) socket.destroy();
    silent.close();
  }
}

/** A scheduled run (started directly: the period comes from its start time) and a backfill that continues as new. */
async function captureParentRuns(pipeline: Pipeline, captured: string): Promise<string[]> {
  const paths: string[] = [];
  const scheduled = await pipeline.temporal.client.workflow.start<typeof scheduledReportWorkflow>('scheduledReportWorkflow', {
    taskQueue: pipeline.taskQueue,
    workflowId: 'twoway-schedule/acme/daily#capture',
    args: [{ clientId: 'acme', frequency: 'daily', timeZone: 'America/Chicago' }],
  });
  await scheduled.result();
  paths.push(await save(pipeline, scheduled, 'scheduledReportWorkflow', 'delivered-previous-day', captured));

  const backfill = await pipeline.temporal.client.workflow.start<typeof backfillReportsWorkflow>('backfillReportsWorkflow', {
    taskQueue: pipeline.taskQueue,
    workflowId: 'twoway-backfill/acme/daily/2026-11-18/2026-11-26#capture',
    args: [{ clientId: 'acme', from: '2026-11-18', to: '2026-11-26', frequency: 'daily', concurrency: 2, periodsPerRun: 4 }],
  });
  await backfill.result();
  paths.push(await save(pipeline, backfill, 'backfillReportsWorkflow', 'first-run-continued-as-new', captured, backfill.firstExecutionRunId));
  paths.push(await save(pipeline, backfill, 'backfillReportsWorkflow', 'last-run', captured));
  return paths;
}

/** A watchdog pass that records a failed and a missing period and sends both events (one refused for good by the receiver). */
async function captureWatchdogPass(pipeline: Pipeline, captured: string): Promise<string[]> {
  const today = new Date().toISOString().slice(0, 10);
  await pipeline.db.knex('client_watch').insert([
    { client_id: 'badkey', active_since: '2026-11-24' },
    { client_id: 'acme', active_since: today },
  ]);
  await pipeline.db.knex('clients').insert({ id: 'paused', name: 'Paused', timezone: 'UTC', delivery: JSON.stringify(await pipeline.deliveryTo('paused')) });
  await pipeline.db.knex('client_watch').insert({ client_id: 'paused', active_since: '2026-11-30' });
  const handle = await pipeline.temporal.client.workflow.start<typeof watchPeriodsWorkflow>('watchPeriodsWorkflow', {
    taskQueue: pipeline.taskQueue,
    workflowId: 'twoway-watchdog#capture',
  });
  await handle.result();
  return [await save(pipeline, handle, 'watchPeriodsWorkflow', 'failed-and-missing-notified', captured)];
}

async function main(): Promise<void> {
  const captured = new Date().toISOString().slice(0, 10);
  await mkdir(HISTORIES_DIR, { recursive: true });
  const secret = randomBytes(16).toString('hex');
  let answered = 0;
  // The first event is accepted, the next refused for good: both branches of a send are in the history.
  const receiver = await startWebhookReceiver({ secret, onEvent: () => ((answered += 1) === 1 ? 200 : 400) });
  const pipeline = await startPipeline({ webhook: { url: receiver.url, format: 'json', secret, timeoutMs: 5_000 } });
  try {
    const paths = [
      ...(await capturePeriodRuns(pipeline, captured)),
      ...(await captureParentRuns(pipeline, captured)),
      ...(await captureWatchdogPass(pipeline, captured)),
    ];
    for (const path of paths) process.stdout.write(`captured ${path}\n`);
  } finally {
    await pipeline.close();
    await receiver.close();
  }
}

await main();
