import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { periodWorkflowId } from '../../src/domain/workflow-ids.js';
import { listRuns } from '../../src/db/ledger.js';
import { rootCause } from '../../src/workflows/failures.js';
import type { ReportPeriodInput } from '../../src/workflows/report-period-workflow.js';
import { CLIENT_ATTRIBUTE, FREQUENCY_ATTRIBUTE, PERIOD_ATTRIBUTE } from '../../src/workflows/search-attributes.js';
import { startPipeline, type Pipeline } from '../support/pipeline.js';
import { waitUntil } from '../support/wait.js';

const CUSTOMER_MARKER = 'Marker-Customer-Name';

describe('reportPeriodWorkflow (real Temporal dev server, PostgreSQL and sshd)', () => {
  let pipeline: Pipeline;

  const start = (input: ReportPeriodInput) => pipeline.startPeriod(input);
  const run = async (input: ReportPeriodInput) => (await start(input)).result();
  const remoteFiles = async (folder: string) => (await readdir(join(pipeline.sftp.rootDir, folder))).sort();
  const sha256 = async (path: string) =>
    createHash('sha256')
      .update(await readFile(path))
      .digest('hex');
  const addEvent = (clientId: string, at: string, tag: string) =>
    pipeline.db.knex('twoway_events').insert({
      client_id: clientId,
      event_name: 'twoway_webhook.customer_message_sent',
      event_time: at,
      ccid: 'cc-1',
      agent_id: null,
      control_tag: tag,
      message_text: 'never exported',
    });

  before(async () => {
    pipeline = await startPipeline();
    const { knex } = pipeline.db;
    await knex('clients').insert([
      { id: 'acme', name: 'Acme', timezone: 'America/Chicago', frequency: 'daily', delivery: JSON.stringify(await pipeline.deliveryTo('acme')) },
      {
        id: 'beta',
        name: 'Beta',
        timezone: 'Europe/Berlin',
        frequency: 'daily',
        delivery: JSON.stringify(await pipeline.deliveryTo('beta', { password: { env: 'TWOWAY_SECRET_TEST_WRONG_PASSWORD' } })),
      },
      {
        id: 'gamma',
        name: 'Gamma',
        timezone: 'UTC',
        frequency: 'daily',
        delivery: JSON.stringify(await pipeline.deliveryTo('gamma', { gzip: true, checksumFile: true })),
      },
      {
        id: 'delta',
        name: 'Delta',
        timezone: 'America/Chicago',
        frequency: 'daily',
        delivery: JSON.stringify(await pipeline.deliveryTo('delta', { manifest: true, maxRowsPerFile: 1 })),
      },
    ]);
    await knex('customers').insert({ client_id: 'acme', ccid: 'cc-1', first_name: CUSTOMER_MARKER, last_name: 'Chen' });
    await addEvent('acme', '2026-11-24T15:00:00Z', 'first');
    await addEvent('acme', '2026-11-24T16:00:00Z', 'second');
    await addEvent('acme', '2026-11-23T15:00:00Z', 'sunday');
    await addEvent('beta', '2026-11-24T10:00:00Z', 'beta');
    await addEvent('gamma', '2026-11-24T10:00:00Z', 'gamma');
    await addEvent('delta', '2026-11-24T15:00:00Z', 'delta-1');
    await addEvent('delta', '2026-11-24T16:00:00Z', 'delta-2');
  });

  after(async () => {
    await pipeline?.close();
  });

  it('delivers a period end to end, carrying only references, counts and checksums through history', async () => {
    const handle = await start({ clientId: 'acme', frequency: 'daily', periodStart: '2026-11-24' });
    const outcome = await handle.result();
    const remotePath = join(pipeline.sftp.rootDir, 'acme', 'twoway_activity_acme_daily_20261124.csv');
    assert.deepEqual(outcome, {
      status: 'delivered',
      clientId: 'acme',
      frequency: 'daily',
      periodStart: '2026-11-24',
      revision: 1,
      fileName: 'twoway_activity_acme_daily_20261124.csv',
      remotePath,
      rowCount: 2,
      bytes: outcome.bytes,
      sha256: await sha256(remotePath),
    });
    assert.deepEqual(await remoteFiles('acme'), ['twoway_activity_acme_daily_20261124.csv']);
    const text = await readFile(remotePath, 'utf8');
    assert.equal(Buffer.byteLength(text), outcome.bytes);
    assert.ok(text.includes(CUSTOMER_MARKER));

    // Payloads are bytes in history: decode them all, then look for row data.
    // History events serialise payload bytes as base64 `data`: decode every one, then look for row data.
    const history = JSON.stringify((await handle.fetchHistory()).events, (key, value: unknown) =>
      key === 'data' && typeof value === 'string' ? Buffer.from(value, 'base64').toString('utf8') : value,
    );
    assert.ok(history.includes(outcome.sha256), 'decoded payloads are searched (the checksum passes through history)');
    assert.ok(!history.includes(CUSTOMER_MARKER), 'no row data in history');

    const description = await handle.describe();
    assert.equal(description.typedSearchAttributes.get(CLIENT_ATTRIBUTE), 'acme');
    assert.equal(description.typedSearchAttributes.get(FREQUENCY_ATTRIBUTE), 'daily');
    assert.equal(description.typedSearchAttributes.get(PERIOD_ATTRIBUTE), '2026-11-24');

    const [ledger] = await listRuns(pipeline.db.knex, { clientId: 'acme', limit: 1 });
    assert.deepEqual(
      [
        ledger?.status,
        ledger?.revision,
        ledger?.row_count,
        ledger?.bytes,
        ledger?.sha256,
        ledger?.remote_path,
        ledger?.workflow_id,
        ledger?.attempts,
        ledger?.period_end,
      ],
      ['delivered', 1, 2, outcome.bytes, outcome.sha256, remotePath, 'twoway-report/acme/daily/2026-11-24', 1, '2026-11-25'],
    );
    assert.ok(ledger?.finished_at instanceof Date);
  });

  it('does nothing when a delivered period is run again without force', async () => {
    const before = await sha256(join(pipeline.sftp.rootDir, 'acme', 'twoway_activity_acme_daily_20261124.csv'));
    await addEvent('acme', '2026-11-24T17:00:00Z', 'late arrival');
    const outcome = await run({ clientId: 'acme', frequency: 'daily', periodStart: '2026-11-24' });
    assert.equal(outcome.status, 'already-delivered');
    assert.equal(outcome.revision, 1);
    assert.deepEqual(await remoteFiles('acme'), ['twoway_activity_acme_daily_20261124.csv']);
    assert.equal(await sha256(join(pipeline.sftp.rootDir, 'acme', 'twoway_activity_acme_daily_20261124.csv')), before);
    const [ledger] = await listRuns(pipeline.db.knex, { clientId: 'acme', limit: 1 });
    assert.equal(ledger?.status, 'skipped');
  });

  it('delivers a changed file as a revision when forced, never over the delivered one', async () => {
    const first = join(pipeline.sftp.rootDir, 'acme', 'twoway_activity_acme_daily_20261124.csv');
    const before = await sha256(first);
    const outcome = await run({ clientId: 'acme', frequency: 'daily', periodStart: '2026-11-24', force: true });
    assert.equal(outcome.status, 'delivered');
    assert.equal(outcome.revision, 2);
    assert.equal(outcome.rowCount, 3);
    assert.equal(outcome.fileName, 'twoway_activity_acme_daily_20261124_r2.csv');
    assert.deepEqual(await remoteFiles('acme'), ['twoway_activity_acme_daily_20261124.csv', 'twoway_activity_acme_daily_20261124_r2.csv']);
    assert.equal(await sha256(first), before);
  });

  it('does not deliver again when a forced rerun builds the same file', async () => {
    const outcome = await run({ clientId: 'acme', frequency: 'daily', periodStart: '2026-11-24', force: true });
    assert.equal(outcome.status, 'unchanged');
    assert.equal(outcome.revision, 2);
    assert.equal((await remoteFiles('acme')).length, 2);
    const [ledger] = await listRuns(pipeline.db.knex, { clientId: 'acme', limit: 1 });
    assert.deepEqual([ledger?.status, ledger?.forced], ['unchanged', true]);
  });

  it('retries delivery while the SFTP server is down and delivers once it is back', async () => {
    await pipeline.sftp.stop();
    const handle = await start({ clientId: 'acme', frequency: 'daily', periodStart: '2026-11-23' });
    const workflowId = periodWorkflowId('acme', 'daily', '2026-11-23');
    const attemptsSoFar = async () => Number((await pipeline.db.knex('report_runs').where({ workflow_id: workflowId }).first())?.attempts ?? 0);
    // Counted when an attempt starts: a fourth has started once three have failed.
    await waitUntil(async () => (await attemptsSoFar()) >= 4, { timeoutMs: 30_000, what: 'three failed delivery attempts while the server is down' });
    await pipeline.sftp.start();
    const outcome = await handle.result();
    assert.equal(outcome.status, 'delivered');
    assert.deepEqual(await remoteFiles('acme'), [
      'twoway_activity_acme_daily_20261123.csv',
      'twoway_activity_acme_daily_20261124.csv',
      'twoway_activity_acme_daily_20261124_r2.csv',
    ]);
    const ledger = await pipeline.db.knex('report_runs').where({ workflow_id: workflowId }).first();
    assert.equal(ledger.status, 'delivered');
    assert.ok(ledger.attempts >= 4);
  });

  it('fails a period with a refused login at once, findable in the UI, and reruns it after the fix', async () => {
    const input = { clientId: 'beta', frequency: 'daily', periodStart: '2026-11-24' } as const;
    const workflowId = periodWorkflowId(input.clientId, input.frequency, input.periodStart);
    await assert.rejects(run(input), (error: unknown) => {
      assert.ok(error instanceof WorkflowFailedError);
      assert.match(String(error.cause?.message), /client "beta": SFTP server 127\.0\.0\.1:\d+ refused password login for user "twsftp\w+"/);
      assert.ok(!String((rootCause(error) as Error).stack).includes('not-the-password'));
      return true;
    });
    const ledger = await pipeline.db.knex('report_runs').where({ workflow_id: workflowId }).first();
    assert.equal(ledger.status, 'failed');
    assert.equal(ledger.attempts, 1, 'a refused login is not retried');
    assert.match(ledger.last_error, /refused password login/);

    const listFailed = async () => {
      const found: string[] = [];
      for await (const execution of pipeline.temporal.client.workflow.list({
        query: 'TwowayClient = "beta" AND TwowayPeriod = "2026-11-24" AND ExecutionStatus = "Failed"',
      })) {
        found.push(execution.workflowId);
      }
      return found.length > 0 ? found : null;
    };
    // Visibility catches up within moments.
    assert.deepEqual(await waitUntil(listFailed, { timeoutMs: 20_000, what: 'the failed run to be listed' }), [workflowId]);

    await pipeline.db
      .knex('clients')
      .where({ id: 'beta' })
      .update({ delivery: JSON.stringify(await pipeline.deliveryTo('beta', { password: { env: 'TWOWAY_SECRET_TEST_SFTP_PASSWORD' } })) });
    const outcome = await run(input);
    assert.equal(outcome.status, 'delivered');
    assert.deepEqual(await remoteFiles('beta'), ['twoway_activity_beta_daily_20261124.csv']);
  });

  it('refuses a period that has not ended, delivering nothing', async () => {
    await assert.rejects(run({ clientId: 'acme', frequency: 'daily', periodStart: '2030-01-01' }), (error: unknown) => {
      assert.ok(error instanceof WorkflowFailedError);
      assert.match(String(error.cause?.message), /^client "acme": daily period 2030-01-01 ends at 2030-01-02T06:00:00\.000Z; allowed: periods that have ended/);
      return true;
    });
    assert.ok(!(await remoteFiles('acme')).some((name) => name.includes('2030')));
  });

  it('delivers gzip with a .sha256 companion when the client asks for them', async () => {
    const outcome = await run({ clientId: 'gamma', frequency: 'daily', periodStart: '2026-11-24' });
    assert.equal(outcome.status, 'delivered');
    assert.deepEqual(await remoteFiles('gamma'), ['twoway_activity_gamma_daily_20261124.csv.gz', 'twoway_activity_gamma_daily_20261124.csv.gz.sha256']);
    const gz = join(pipeline.sftp.rootDir, 'gamma', 'twoway_activity_gamma_daily_20261124.csv.gz');
    assert.equal(await readFile(`${gz}.sha256`, 'utf8'), `${await sha256(gz)}  twoway_activity_gamma_daily_20261124.csv.gz\n`);
    assert.equal(outcome.remotePath, gz);
  });

  it('delivers a split period as parts and then their manifest, which names the period in the client zone', async () => {
    const outcome = await run({ clientId: 'delta', frequency: 'daily', periodStart: '2026-11-24' });
    const manifestName = 'twoway_activity_delta_daily_20261124.csv.manifest.json';
    assert.deepEqual(
      [outcome.status, outcome.fileName, outcome.remotePath, outcome.rowCount],
      ['delivered', manifestName, join(pipeline.sftp.rootDir, 'delta', manifestName), 2],
    );
    assert.deepEqual(await remoteFiles('delta'), [
      manifestName,
      'twoway_activity_delta_daily_20261124_part001.csv',
      'twoway_activity_delta_daily_20261124_part002.csv',
    ]);
    const manifest = JSON.parse(await readFile(outcome.remotePath, 'utf8')) as {
      timeZone: string;
      period: { startUtc: string };
      files: { rowCount: number }[];
    };
    assert.deepEqual(
      [manifest.timeZone, manifest.period.startUtc, manifest.files.map((file) => file.rowCount)],
      ['America/Chicago', '2026-11-24T06:00:00.000Z', [1, 1]],
    );
  });
});
