import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { freePort } from '../../src/devstack/ports.js';
import { backfillWorkflowId, periodWorkflowId, TASK_QUEUE } from '../../src/domain/workflow-ids.js';
import type { SftpServer } from '../../src/devstack/sftp-server.js';
import { runCliProcess, startCliProcess, startWorkerProcess, type WorkerProcess } from '../support/cli.js';
import { startCliStack, type CliStack } from '../support/cli-stack.js';
import type { TestDatabase } from '../support/database.js';
import { deliveryFor } from '../support/delivery.js';

describe('the command line against a running worker (real Temporal, PostgreSQL, sshd)', () => {
  let stack: CliStack;
  let db: TestDatabase;
  let sftp: SftpServer;
  let client: Client;
  let worker: WorkerProcess;
  let metricsPort: number;
  let env: NodeJS.ProcessEnv;

  const cli = (...args: string[]) => runCliProcess(args, env);

  before(async () => {
    stack = await startCliStack('cli');
    ({ db, sftp, client } = stack);
    metricsPort = await freePort();
    env = { ...stack.env, TWOWAY_METRICS_ADDRESS: `127.0.0.1:${metricsPort}`, TWOWAY_SECRET_CLI_TEST_SFTP_PASSWORD: sftp.password, LOG_LEVEL: 'info' };
    await db.knex('clients').insert([
      {
        id: 'acme',
        name: 'Acme',
        timezone: 'America/Chicago',
        frequency: 'daily',
        delivery: JSON.stringify(await deliveryFor(sftp, 'acme', { password: { env: 'TWOWAY_SECRET_CLI_TEST_SFTP_PASSWORD' } })),
      },
      { id: 'sandy', name: 'Sandbox', environment: 'sandbox' },
      {
        id: 'busy',
        name: 'Busy',
        timezone: 'UTC',
        frequency: 'daily',
        delivery: JSON.stringify(await deliveryFor(sftp, 'busy', { password: { env: 'TWOWAY_SECRET_CLI_TEST_SFTP_PASSWORD' } })),
      },
    ]);
    for (const day of ['20', '21', '22', '23', '24']) {
      await db
        .knex('twoway_events')
        .insert({ client_id: 'acme', event_name: 'twoway.agent_ping', event_time: `2026-11-${day}T18:00:00Z`, control_tag: `day-${day}` });
    }
    worker = await startWorkerProcess({ ...env });
  });

  after(async () => {
    worker?.kill();
    await stack?.close();
  });

  it('runs a period, reruns it as a no-op, and forces it without a duplicate', async () => {
    const first = await cli('run', '--client', 'acme', '--period', '2026-11-24');
    assert.equal(first.status, 0, first.stderr);
    assert.match(
      first.stdout,
      /^delivered twoway_activity_acme_daily_20261124\.csv \(revision 1\): 1 rows, \d+ bytes, sha256 [0-9a-f]{64}, remote path \/.*\/acme\/twoway_activity_acme_daily_20261124\.csv\n$/,
    );
    assert.match(first.stderr, /running twoway-report\/acme\/daily\/2026-11-24/);

    const again = await cli('run', '--client', 'acme', '--period', '2026-11-24');
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /^already delivered, nothing done/);

    const forced = await cli('run', '--client', 'acme', '--period', '2026-11-24', '--force');
    assert.equal(forced.status, 0, forced.stderr);
    assert.match(forced.stdout, /^unchanged, not delivered again/);
    assert.deepEqual(await readdir(join(sftp.rootDir, 'acme')), ['twoway_activity_acme_daily_20261124.csv']);
  });

  it('backfills a range, skipping the delivered period, and shows the ledger', async () => {
    const backfill = await cli('backfill', '--client', 'acme', '--from', '2026-11-20', '--to', '2026-11-24', '--concurrency', '2');
    assert.equal(backfill.status, 0, backfill.stderr);
    assert.match(backfill.stdout, /backfill of acme \(daily\): 5\/5 periods — 4 delivered, 0 unchanged, 1 skipped, 0 failed/);
    assert.match(backfill.stderr, /backfill acme: 5\/5 periods/);
    assert.equal((await readdir(join(sftp.rootDir, 'acme'))).length, 5);

    const status = await cli('status', '--client', 'acme');
    assert.equal(status.status, 0, status.stderr);
    const lines = status.stdout.trim().split('\n');
    assert.equal(lines.filter((line) => / delivered /.test(line)).length, 5);
    assert.ok(
      lines.some((line) => /acme daily 2026-11-24 r1 {2}unchanged \(forced\)/.test(line)),
      status.stdout,
    );
  });

  it('refuses what cannot work with exit 1 or 2 and a one-line reason', async () => {
    const sandbox = await cli('run', '--client', 'sandy', '--period', '2026-11-24');
    assert.deepEqual([sandbox.status, sandbox.stderr.trim().split('\n').length], [1, 1]);
    assert.match(sandbox.stderr, /client "sandy": environment is "sandbox"/);
    const reversed = await cli('backfill', '--client', 'acme', '--from', '2026-11-24', '--to', '2026-11-20');
    assert.equal(reversed.status, 2);
    assert.match(reversed.stderr, /--from 2026-11-24 is after --to 2026-11-20/);
    const noTemporal = await runCliProcess(['run', '--client', 'acme', '--period', '2026-11-23'], {
      ...env,
      TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`,
    });
    assert.equal(noTemporal.status, 1);
    assert.match(noTemporal.stderr, /^twoway-report: cannot reach Temporal at 127\.0\.0\.1:\d+ \(TEMPORAL_ADDRESS\)/);
  });

  /** Another run of a busy period, in progress: it holds the period's workflow id on a queue nobody polls. */
  const runInProgress = (periodStart: string) =>
    client.workflow.start('reportPeriodWorkflow', {
      taskQueue: `${TASK_QUEUE}-nobody-polls`,
      workflowId: periodWorkflowId('busy', 'daily', periodStart),
      args: [{ clientId: 'busy', frequency: 'daily', periodStart }],
    });

  it('run --force waits for a run of the period in progress, says so, and then runs it forced', { timeout: 90_000 }, async () => {
    const first = await cli('run', '--client', 'busy', '--period', '2026-11-24');
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /^delivered /);
    const other = await runInProgress('2026-11-24');
    const forced = startCliProcess(['run', '--client', 'busy', '--period', '2026-11-24', '--force'], env);
    try {
      await forced.stderrMatches(/is in progress/);
      await other.terminate('the other run ends');
      const result = await forced.done;
      assert.equal(result.status, 0, result.stderr);
      assert.match(
        result.stderr,
        new RegExp(
          `^a run of twoway-report/busy/daily/2026-11-24 is in progress \\(run id ${other.firstExecutionRunId}\\); waiting for it to finish, then running it forced$`,
          'm',
        ),
      );
      // Only a forced run compares with the delivered file; joining the other run would have said "already delivered".
      assert.match(result.stdout, /^unchanged, not delivered again: the file equals delivered twoway_activity_busy_daily_20261124\.csv/);
    } finally {
      forced.kill();
    }
  });

  it('backfill refuses a range over the bound with exit 2, before starting anything', { timeout: 60_000 }, async () => {
    const huge = await cli('backfill', '--client', 'acme', '--from', '2020-01-01', '--to', '9999-12-31');
    assert.equal(huge.status, 2, huge.stderr);
    assert.match(
      huge.stderr,
      /^twoway-report: --from 2020-01-01 --to 9999-12-31 covers 2914635 daily periods; allowed: at most 10000 periods in one backfill \(split the range\)$/m,
    );
    await assert.rejects(client.workflow.getHandle(backfillWorkflowId('acme', 'daily', '2020-01-01', '9999-12-31')).describe(), /not found/i);
  });

  it('backfill reports a backfill whose progress queries keep failing, with exit 1', { timeout: 90_000 }, async () => {
    // A backfill nobody answers for: its id is held by a run on a queue no worker polls.
    const wedged = await client.workflow.start('backfillReportsWorkflow', {
      taskQueue: `${TASK_QUEUE}-nobody-polls`,
      workflowId: backfillWorkflowId('acme', 'daily', '2026-11-21', '2026-11-22'),
      args: [{ clientId: 'acme', from: '2026-11-21', to: '2026-11-22' }],
    });
    try {
      const result = await cli('backfill', '--client', 'acme', '--from', '2026-11-21', '--to', '2026-11-22');
      assert.equal(result.status, 1, result.stderr);
      const lines = result.stderr.trim().split('\n');
      assert.match(
        lines.at(-1) ?? '',
        /^twoway-report: backfill twoway-backfill\/acme\/daily\/2026-11-21\.\.2026-11-22: 3 progress queries in a row failed \(last: .+\); it is stuck or has no worker/,
        result.stderr,
      );
    } finally {
      await wedged.terminate('test over');
    }
  });

  it('backfill reports a backfill workflow that failed, with exit 1 and the reason on one line', { timeout: 90_000 }, async () => {
    const other = await runInProgress('2026-11-23');
    // Forced, the backfill waits for that run (a minute between tries); meanwhile it is cancelled.
    const backfill = startCliProcess(['backfill', '--client', 'busy', '--from', '2026-11-23', '--to', '2026-11-23', '--force'], env);
    try {
      await backfill.stderrMatches(/backfill \S+ started/);
      await client.workflow.getHandle(backfillWorkflowId('busy', 'daily', '2026-11-23', '2026-11-23')).cancel();
      const result = await backfill.done;
      assert.equal(result.status, 1, result.stderr);
      assert.match(result.stderr, /^twoway-report: backfill twoway-backfill\/busy\/daily\/2026-11-23\.\.2026-11-23 failed: cancelled$/m);
    } finally {
      backfill.kill();
      await other.terminate('test over');
    }
  });

  it('syncs and lists schedules', async () => {
    const sync = await cli('schedules', 'sync');
    assert.equal(sync.status, 0, sync.stderr);
    assert.match(sync.stdout, /^created {3}acme: Two-Way Activity Report v\d+: daily at 03:00 America\/Chicago/m);
    assert.match(sync.stdout, /^skipped {3}sandy: sandbox client$/m);
    assert.match(sync.stdout, /^created {3}\(watchdog\): Two-Way Activity Report watchdog: every 5m on twoway-report;/m);
    // The interval follows TWOWAY_WATCH_INTERVAL; the schedule is updated in place.
    const faster = await runCliProcess(['schedules', 'sync'], { ...env, TWOWAY_WATCH_INTERVAL: '2m' });
    assert.equal(faster.status, 0, faster.stderr);
    assert.match(faster.stdout, /^updated {3}\(watchdog\): Two-Way Activity Report watchdog: every 2m /m);
    assert.match(faster.stdout, /^unchanged acme: /m);
    const list = await cli('schedules', 'list');
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, /^twoway-report-schedule\/acme {2}daily America\/Chicago {2}next: \d{4}-\d\d-\d\dT(08|09):00:00\.000Z, /m);
  });

  it("serves Prometheus metrics: Temporal's own and the pipeline's", async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(metrics, /^temporal_activity_execution_latency/m);
    assert.match(metrics, /^twoway_rows_written\S* \d+/m);
    assert.match(metrics, /^twoway_deliveries\S*\{[^}]*outcome="delivered"[^}]*\} [1-9]/m);
    assert.match(metrics, /^twoway_build_duration\S*_bucket/m);
  });

  it('logs JSON lines with client, period and workflow id, and never the password', () => {
    const lines = worker
      .log()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const built = lines.find((line) => line.msg === 'built report file' && line.period === '2026-11-24');
    assert.deepEqual([built?.client, built?.frequency, built?.workflowId], ['acme', 'daily', 'twoway-report/acme/daily/2026-11-24']);
    assert.ok(!worker.log().includes(sftp.password));
  });

  it('stops gracefully on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => worker.child.once('exit', (code) => resolve(code)));
    worker.child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.match(worker.log(), /"worker stopped"/);
  });
});
