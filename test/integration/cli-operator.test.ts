import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { freePort } from '../../src/devstack/ports.js';
import type { SftpServer } from '../../src/devstack/sftp-server.js';
import { periodWorkflowId, TASK_QUEUE } from '../../src/domain/workflow-ids.js';
import { runCliProcess, startCliProcess, startWorkerProcess, type WorkerProcess } from '../support/cli.js';
import { startCliStack, type CliStack } from '../support/cli-stack.js';
import type { TestDatabase } from '../support/database.js';
import { deliveryFor } from '../support/delivery.js';

describe('the command line for operators: run progress, --no-wait, unknown clients, the Temporal CLI (real Temporal, PostgreSQL, sshd)', () => {
  let stack: CliStack;
  let db: TestDatabase;
  let sftp: SftpServer;
  let baseDir: string;
  let client: Client;
  let worker: WorkerProcess;
  let env: NodeJS.ProcessEnv;

  const cli = (...args: string[]) => runCliProcess(args, env);

  before(async () => {
    stack = await startCliStack('cli-operator');
    ({ db, sftp, baseDir, client } = stack);
    env = { ...stack.env, TEMPORAL_NAMESPACE: 'default', TWOWAY_METRICS_ADDRESS: 'off', LOG_LEVEL: 'warn' };
    // "down" delivers to a port where nothing listens: refused connections are retried until the deadline.
    await db.knex('clients').insert([
      { id: 'acme', name: 'Acme', timezone: 'UTC', frequency: 'daily', delivery: JSON.stringify(await deliveryFor(sftp, 'acme')) },
      { id: 'down', name: 'Down', timezone: 'UTC', frequency: 'daily', delivery: JSON.stringify(await deliveryFor(sftp, 'down', { port: await freePort() })) },
    ]);
    for (const clientId of ['acme', 'down']) {
      await db
        .knex('twoway_events')
        .insert({ client_id: clientId, event_name: 'twoway.agent_ping', event_time: '2026-11-24T18:00:00Z', control_tag: `${clientId}-24` });
    }
    worker = await startWorkerProcess({ ...env, LOG_LEVEL: 'info' });
  });

  after(async () => {
    worker?.kill();
    await stack?.close();
  });

  it('run shows each new attempt and the last error while delivery retries', { timeout: 90_000 }, async () => {
    const workflowId = periodWorkflowId('down', 'daily', '2026-11-24');
    const run = startCliProcess(['run', '--client', 'down', '--period', '2026-11-24'], env);
    try {
      // Bounded by the test's timeout; rejects at once if the command ends first.
      await run.stderrMatches(/retrying: [^\n]*\n[\s\S]*retrying: [^\n]*\n/);
      run.kill();
      const { stderr } = await run.done;
      const retries = stderr.split('\n').filter((line) => line.includes(' retrying: '));
      for (const line of retries)
        assert.match(
          line,
          new RegExp(
            `^${workflowId} retrying: deliverReport attempt \\d+, last error: client "down": SFTP connect on 127\\.0\\.0\\.1:\\d+ failed: .*ECONNREFUSED`,
          ),
        );
      assert.notEqual(retries[0], retries[1], 'a line only when the attempt or the error changed');
    } finally {
      run.kill();
      await client.workflow.getHandle(workflowId).terminate('test over');
    }
  });

  it('run --no-wait starts the run, prints its workflow id and run id, and exits 0', { timeout: 60_000 }, async () => {
    const result = await cli('run', '--client', 'acme', '--period', '2026-11-24', '--no-wait');
    assert.equal(result.status, 0, result.stderr);
    const workflowId = periodWorkflowId('acme', 'daily', '2026-11-24');
    const [printedId, runId, ...rest] = result.stdout.trim().split(' ');
    assert.deepEqual([printedId, rest], [workflowId, []]);
    assert.match(runId ?? '', /^[0-9a-f-]{36}$/);
    const outcome = (await client.workflow.getHandle(workflowId, runId).result()) as { status: string };
    assert.equal(outcome.status, 'delivered');
  });

  it('refuses an unknown client with exit 1 and a one-line reason in every command that takes one', { timeout: 60_000 }, async () => {
    const commands = [
      ['status', '--client', 'nosuch'],
      ['run', '--client', 'nosuch', '--period', '2026-11-24'],
      ['run', '--client', 'nosuch', '--period', '2026-11-24', '--no-wait'],
      ['render', '--client', 'nosuch', '--period', '2026-11-24', '--out-dir', baseDir],
      ['backfill', '--client', 'nosuch', '--from', '2026-11-20', '--to', '2026-11-24'],
    ];
    for (const args of commands) {
      const result = await cli(...args);
      assert.deepEqual([result.status, result.stderr], [1, 'twoway-report: client "nosuch" does not exist in the clients table\n'], args.join(' '));
    }
    const known = await cli('status', '--client', 'acme', '--limit', '1');
    assert.equal(known.status, 0, known.stderr);
  });

  it("passes `temporal …` to the installed Temporal CLI on the project's server and namespace, with its exit status", { timeout: 60_000 }, async () => {
    const workflowId = 'twoway-cli-operator/listed';
    const listed = await client.workflow.start('reportPeriodWorkflow', { taskQueue: `${TASK_QUEUE}-nobody-polls`, workflowId, args: [{}] });
    try {
      const list = await cli('temporal', 'workflow', 'list', '--query', `WorkflowId = "${workflowId}"`);
      assert.equal(list.status, 0, list.stderr);
      assert.match(list.stdout, new RegExp(`\\b${workflowId}\\b`));

      const missing = await cli('temporal', 'workflow', 'describe', '--workflow-id', 'twoway-cli-operator/nosuch');
      assert.equal(missing.status, 1);
      assert.match(missing.stderr, /not found/i);

      const otherNamespace = await runCliProcess(['temporal', 'workflow', 'list'], { ...env, TEMPORAL_NAMESPACE: 'nosuch-namespace' });
      assert.equal(otherNamespace.status, 1);
      assert.match(otherNamespace.stderr, /nosuch-namespace/);

      // A flag the user gives wins over the environment.
      const closedPort = await freePort();
      const elsewhere = await cli('temporal', 'workflow', 'list', '--address', `127.0.0.1:${closedPort}`);
      assert.equal(elsewhere.status, 1);
      assert.match(elsewhere.stderr, new RegExp(`127\\.0\\.0\\.1:${closedPort}`));

      const help = await cli('temporal', 'workflow', '--help');
      assert.equal(help.status, 0, help.stderr);
      assert.match(help.stdout, /^Usage:\n {2}temporal workflow \[command\]/m);
    } finally {
      await listed.terminate('test over');
    }
  });
});
