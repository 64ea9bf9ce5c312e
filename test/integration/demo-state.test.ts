import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import type { Knex } from 'knex';
import { createKnex } from '../../src/db/knex.js';
import { DEMO_CLIENTS } from '../../src/db/seed.js';
import { DEMO_SECRET_VARIABLES, pointDeliveriesAt } from '../../src/devstack/demo-state.js';
import type { SftpServer } from '../../src/devstack/sftp-server.js';
import { WebhookRejectedError } from '../../src/domain/errors.js';
import { WEBHOOK_REQUEST_TIMEOUT_MS } from '../../src/notifications/policy.js';
import { createNotificationEvent, postWebhook } from '../../src/notifications/webhook.js';
import { runCliProcess, startCliProcess } from '../support/cli.js';
import { createTestDatabase } from '../support/database.js';
import { demoTestSetting } from '../support/demo.js';

// Few events over few days: the demo's backfill is what is tested, not the seed's size.
const DEMO_ARGS = ['--events', '2000', '--days', '10'];
const DEMO_EVENTS = 2000;
const DEMO_CLIENT_IDS = DEMO_CLIENTS.map((client) => client.id);
// Set for the demo, so the test can sign an event its receiver accepts (the random default never leaves the demo).
const RECEIVER_SECRET = 'demo-state-test-receiver-secret';

interface RunningDemo {
  readonly out: string;
  readonly databaseUrl: string;
  readonly knex: Knex;
  readonly temporal: Client;
  readonly process: ReturnType<typeof startCliProcess>;
}

interface DeliveredFile {
  readonly id: string;
  readonly client_id: string;
  readonly frequency: string;
  readonly period_start: string;
}

async function demoEventCount(knex: Knex): Promise<number> {
  const [row] = await knex('twoway_events').whereIn('client_id', DEMO_CLIENT_IDS).count<{ count: string }[]>({ count: '*' });
  return Number(row?.count);
}

async function deliveredFiles(knex: Knex): Promise<DeliveredFile[]> {
  return knex('report_files')
    .where({ status: 'delivered' })
    .whereIn('client_id', DEMO_CLIENT_IDS)
    .orderBy('id')
    .select('id', 'client_id', 'frequency', 'period_start');
}

async function hooliDelivery(knex: Knex): Promise<{ port: number; username: string; hostKeySha256: string; password: { env: string } }> {
  const row = (await knex('clients').where({ id: 'hooli' }).first('delivery')) as {
    delivery: { port: number; username: string; hostKeySha256: string; password: { env: string } };
  };
  return row.delivery;
}

describe('demo keeps its state between starts unless --fresh (every real part)', () => {
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let temporalPort: number;

  before(async () => {
    const setting = await demoTestSetting('demo-state-test');
    dataDir = setting.dataDir;
    temporalPort = setting.ports.temporal;
    env = { ...setting.env, TWOWAY_WEBHOOK_SECRET: RECEIVER_SECRET };
  });

  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  /** Starts `demo ARGS…`, runs `work` once it keeps running, then stops it with Ctrl-C; returns everything it printed. */
  async function withDemo(args: readonly string[], work: (demo: RunningDemo) => Promise<void>): Promise<string> {
    const demo = startCliProcess(['demo', ...args], env);
    let knex: Knex | undefined;
    let connection: Connection | undefined;
    try {
      await demo.stdoutMatches(/^the demo keeps running/m);
      const out = demo.stdout();
      const databaseUrl = /DATABASE_URL=(\S+) npx/.exec(out)?.[1];
      assert.ok(databaseUrl, out);
      knex = createKnex(databaseUrl);
      connection = await Connection.connect({ address: `127.0.0.1:${temporalPort}` });
      await work({ out, databaseUrl, knex, temporal: new Client({ connection }), process: demo });
    } finally {
      await knex?.destroy();
      await connection?.close();
      demo.interrupt();
    }
    const result = await demo.done;
    assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /^everything stopped$/m);
    return result.stdout;
  }

  let firstFiles: DeliveredFile[] = [];
  let firstRun: { workflow_id: string; run_id: string };
  let firstHooli: Awaited<ReturnType<typeof hooliDelivery>>;

  it('a first start seeds, delivers and prints the events its webhook receiver verifies', async () => {
    await withDemo(DEMO_ARGS, async ({ out, databaseUrl, knex, process: demo }) => {
      assert.doesNotMatch(out, /keeping the demo's state/);
      assert.match(out, /^acme \(daily\): 3 delivered, 0 skipped, 0 failed of 3$/m);
      assert.match(out, /^hooli \(daily\): 0 delivered, 0 skipped, 3 failed of 3$/m);
      assert.ok(out.includes(`\nTemporal database: ${join(dataDir, 'demo', 'temporal.db')}\n`), out);
      assert.equal(await demoEventCount(knex), DEMO_EVENTS);
      firstFiles = await deliveredFiles(knex);
      assert.ok(firstFiles.length >= 5, JSON.stringify(firstFiles));
      firstRun = (await knex('report_runs').where({ client_id: 'acme', status: 'delivered' }).first('workflow_id', 'run_id')) as typeof firstRun;
      firstHooli = await hooliDelivery(knex);

      const url = /^webhook receiver: {2}(http:\/\/127\.0\.0\.1:\d+\/)/m.exec(out)?.[1];
      assert.ok(url, out);
      const event = createNotificationEvent({
        type: 'period.failed',
        clientId: 'hooli',
        frequency: 'daily',
        periodStart: '2026-11-30',
        occurredAt: new Date().toISOString(),
        change: 'demo-state-test',
        data: { errorType: 'AuthenticationFailedError', errorMessage: 'refused password login' },
      });
      const settings = { url, format: 'json', secret: RECEIVER_SECRET, timeoutMs: WEBHOOK_REQUEST_TIMEOUT_MS } as const;
      assert.equal((await postWebhook(settings, event)).status, 200);
      await demo.stdoutMatches(/^webhook {2}period\.failed {2}hooli daily 2026-11-30 {2}AuthenticationFailedError: refused password login$/m);
      await assert.rejects(
        postWebhook({ ...settings, secret: 'not-the-receiver-secret' }, event),
        (error) => error instanceof WebhookRejectedError && error.status === 401,
      );
      await demo.stdoutMatches(/^webhook {2}refused \(HTTP 401\): signature mismatch$/m);

      // The README's fix of the broken client, while the demo runs.
      const fixed = await runCliProcess(['clients', 'set', '--client', 'hooli', '--set', 'delivery.password.env=TWOWAY_SECRET_DEMO_SFTP_PASSWORD'], {
        DATABASE_URL: databaseUrl,
      });
      assert.equal(fixed.status, 0, fixed.stderr);
    });
  });

  it("a second start seeds nothing, keeps the ledger, files, Temporal history and the operator's fix, and delivers nothing twice", async () => {
    assert.ok(existsSync(join(dataDir, 'demo', 'temporal.db')), "Temporal's database outlives the demo");
    await withDemo(DEMO_ARGS, async ({ out, knex, temporal }) => {
      assert.match(out, /^keeping the demo's state: 2000 events seeded /m);
      assert.equal(await demoEventCount(knex), DEMO_EVENTS, 'no second seed');
      assert.match(out, /^schedule unchanged acme: /m);
      // Delivered periods are skipped; hooli, fixed, delivers all of its periods now.
      const acme = /^acme \(daily\): (\d+) delivered, (\d+) skipped, 0 failed of 3$/m.exec(out);
      assert.ok(acme && Number(acme[2]) >= 2 && Number(acme[1]) + Number(acme[2]) === 3, out);
      assert.match(out, /^hooli \(daily\): 3 delivered, 0 skipped, 0 failed of 3$/m);
      assert.doesNotMatch(out, /^ {2}FAILED /m);

      const files = await deliveredFiles(knex);
      const ids = new Set(files.map((file) => file.id));
      for (const file of firstFiles) assert.ok(ids.has(file.id), `first start's file ${file.client_id} ${file.period_start} kept`);
      const periodKey = (file: DeliveredFile) => `${file.client_id}/${file.frequency}/${file.period_start}`;
      const firstPeriods = new Set(firstFiles.map(periodKey));
      assert.deepEqual(
        files.filter((file) => !firstFiles.some((first) => first.id === file.id) && firstPeriods.has(periodKey(file))),
        [],
        'no period delivered twice',
      );
      assert.equal(files.filter((file) => file.client_id === 'hooli').length, 3);

      const hooli = await hooliDelivery(knex);
      assert.equal(hooli.password.env, 'TWOWAY_SECRET_DEMO_SFTP_PASSWORD', "the operator's fix survives the restart");
      assert.notEqual(hooli.hostKeySha256, firstHooli.hostKeySha256, "pointed at the new sshd's host key");
      assert.notEqual(hooli.username, firstHooli.username, "and at the new sshd's user");

      const described = await temporal.workflow.getHandle(firstRun.workflow_id, firstRun.run_id).describe();
      assert.equal(described.status.name, 'COMPLETED', "the first start's workflow is still in Temporal");
    });
  });

  it('demo --fresh wipes the demo and starts as on a new machine', async () => {
    await withDemo(['--fresh', ...DEMO_ARGS], async ({ out, knex, temporal }) => {
      assert.doesNotMatch(out, /keeping the demo's state/);
      assert.match(out, /^schedule created {3}acme: /m);
      assert.match(out, /^acme \(daily\): 3 delivered, 0 skipped, 0 failed of 3$/m);
      assert.match(out, /^hooli \(daily\): 0 delivered, 0 skipped, 3 failed of 3$/m);
      assert.equal(await demoEventCount(knex), DEMO_EVENTS);
      const ids = new Set((await deliveredFiles(knex)).map((file) => file.id));
      assert.deepEqual(
        firstFiles.filter((file) => ids.has(file.id)),
        [],
        'the old ledger is gone',
      );
      assert.equal((await hooliDelivery(knex)).password.env, 'TWOWAY_SECRET_HOOLI_SFTP_PASSWORD', 'hooli is broken again');
      await assert.rejects(temporal.workflow.getHandle(firstRun.workflow_id, firstRun.run_id).describe(), WorkflowNotFoundError);
    });
  });
});

describe("a kept demo's delivery settings, pointed at a new sshd (real PostgreSQL)", () => {
  it("renames references of earlier demo versions to the demo's TWOWAY_SECRET_ variables, and leaves an operator's own alone", async () => {
    const db = await createTestDatabase();
    try {
      const sshdDir = '/tmp/demo-home/sshd';
      const earlier = { protocol: 'sftp', host: '127.0.0.1', port: 1, username: 'old', remoteDir: '/in', hostKeySha256: `SHA256:${'A'.repeat(43)}` };
      await db.knex('clients').insert([
        { id: 'acme', name: 'Acme', delivery: JSON.stringify({ ...earlier, privateKey: { file: `${sshdDir}/user_ed25519_key` } }) },
        { id: 'globex', name: 'Globex', delivery: JSON.stringify({ ...earlier, password: { env: 'DEMO_SFTP_PASSWORD' } }) },
        { id: 'hooli', name: 'Hooli', delivery: JSON.stringify({ ...earlier, password: { env: 'HOOLI_SFTP_PASSWORD' } }) },
        { id: 'initech', name: 'Initech', delivery: JSON.stringify({ ...earlier, password: { env: 'TWOWAY_SECRET_OPERATOR_CHOICE' } }) },
      ]);
      const sftp = { host: '127.0.0.1', port: 2222, username: 'new', hostKeySha256: `SHA256:${'B'.repeat(43)}` } as SftpServer;
      await pointDeliveriesAt(db.knex, ['acme', 'globex', 'hooli', 'initech'], sftp, sshdDir);
      const rows = (await db.knex('clients').orderBy('id').select('id', 'delivery')) as { id: string; delivery: Record<string, unknown> }[];
      assert.deepEqual(
        rows.map((row) => [row.id, row.delivery.privateKey ?? row.delivery.password, row.delivery.port, row.delivery.hostKeySha256]),
        [
          ['acme', { env: DEMO_SECRET_VARIABLES.privateKey }, 2222, sftp.hostKeySha256],
          ['globex', { env: DEMO_SECRET_VARIABLES.password }, 2222, sftp.hostKeySha256],
          ['hooli', { env: DEMO_SECRET_VARIABLES.wrongPassword }, 2222, sftp.hostKeySha256],
          ['initech', { env: 'TWOWAY_SECRET_OPERATOR_CHOICE' }, 2222, sftp.hostKeySha256],
        ],
      );
    } finally {
      await db.drop();
    }
  });
});
