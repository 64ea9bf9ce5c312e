import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { recordRunStarted } from '../../src/db/ledger.js';
import { withPeriodLock } from '../../src/db/period-lock.js';
import { createPublicationLedger } from '../../src/db/report-files.js';
import { publishPeriodFile } from '../../src/delivery/period-publisher.js';
import { startSftpServer, type SftpServer } from '../../src/devstack/sftp-server.js';
import { requireDelivery } from '../../src/domain/client-config.js';
import type { PeriodFile } from '../../src/domain/publication.js';
import type { LocalDate } from '../../src/domain/types.js';
import { periodWorkflowId } from '../../src/domain/workflow-ids.js';
import { buildPlannedFile, planPeriodFile } from '../../src/report/period-file.js';
import { runCliProcess } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { deliveryFor } from '../support/delivery.js';

const LOCK_WAIT_MS = 20_000;
const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

describe('verify: what the server holds of a period against the ledger (real sshd, PostgreSQL, delivered periods, the CLI as a process)', () => {
  let db: TestDatabase;
  let sftp: SftpServer;
  let baseDir: string;
  let env: NodeJS.ProcessEnv;

  const verify = (...args: string[]) => runCliProcess(['verify', ...args], env);
  const remote = (clientId: string, name: string) => join(sftp.rootDir, clientId, name);
  /** stdout as [verdict, file name] per line. */
  const verdicts = (stdout: string) =>
    stdout
      .trim()
      .split('\n')
      .map((line) => {
        const [verdict, path] = line.split(/\s+/);
        return [verdict, path?.slice(path.lastIndexOf('/') + 1)];
      });

  /** Builds and publishes the period with the pipeline's own code, as a worker's deliverReport does; returns its ledger row. */
  async function deliver(clientId: string, date: LocalDate, force = false): Promise<PeriodFile> {
    const plan = await planPeriodFile(db.knex, { clientId, date, purpose: 'deliver' });
    const built = await buildPlannedFile(db.url, plan, join(baseDir, 'work'));
    const key = { clientId, frequency: plan.period.frequency, periodStart: plan.period.start };
    const run = { workflowId: periodWorkflowId(clientId, key.frequency, key.periodStart), runId: randomUUID() };
    await recordRunStarted(db.knex, { ...key, ...run, periodEnd: plan.period.end, forced: force });
    const published = await withPeriodLock(db.knex, db.url, key, { waitTimeoutMs: LOCK_WAIT_MS }, (lock) =>
      publishPeriodFile(
        {
          clientId,
          period: plan.period,
          settings: requireDelivery(plan.client),
          localPath: built.path,
          baseFileName: plan.fileName,
          sha256: built.sha256,
          rowCount: built.rowCount,
          run,
          force,
        },
        createPublicationLedger(lock, key),
        { env: { TWOWAY_SECRETS_DIR: sftp.secretsDir }, connectTimeoutMs: 5_000, operationTimeoutMs: 10_000 },
      ),
    );
    assert.equal(published.status, 'delivered');
    return published.file;
  }

  const event = (clientId: string, eventTime: string, tag: string) =>
    db.knex('twoway_events').insert({ client_id: clientId, event_name: 'twoway.agent_ping', event_time: eventTime, control_tag: tag });

  before(async () => {
    baseDir = await mkdtemp(join(tmpdir(), 'twoway-verify-'));
    db = await createTestDatabase();
    sftp = await startSftpServer({ baseDir: join(baseDir, 'sftp') });
    env = { DATABASE_URL: db.url, LOG_LEVEL: 'warn', TWOWAY_SFTP_CONNECT_TIMEOUT: '5s', TWOWAY_SECRETS_DIR: sftp.secretsDir };
    await db.knex('clients').insert([
      { id: 'acme', name: 'Acme', timezone: 'UTC', frequency: 'daily', delivery: JSON.stringify(await deliveryFor(sftp, 'acme', { checksumFile: true })) },
      {
        id: 'gzco',
        name: 'Gzip Co',
        timezone: 'America/Chicago',
        frequency: 'weekly',
        file_name_template: '{client}.{end}.csv',
        delivery: JSON.stringify(await deliveryFor(sftp, 'gzco', { gzip: true })),
      },
    ]);
  });

  after(async () => {
    await sftp?.dispose();
    await db?.drop();
    if (baseDir) await rm(baseDir, { recursive: true, force: true });
  });

  it('every revision and companion as the ledger recorded it: one ok line each, exit 0', { timeout: 60_000 }, async () => {
    await event('acme', '2026-11-24T10:00:00Z', 'first');
    const first = await deliver('acme', '2026-11-24');
    await event('acme', '2026-11-24T11:00:00Z', 'late');
    const second = await deliver('acme', '2026-11-24', true);
    assert.equal(second.revision, 2);

    const result = await verify('--client', 'acme', '--period', '2026-11-24');
    assert.deepEqual([result.status, result.stderr], [0, '']);
    assert.deepEqual(verdicts(result.stdout), [
      ['ok', 'twoway_activity_acme_daily_20261124.csv'],
      ['ok', 'twoway_activity_acme_daily_20261124.csv.sha256'],
      ['ok', 'twoway_activity_acme_daily_20261124_r2.csv'],
      ['ok', 'twoway_activity_acme_daily_20261124_r2.csv.sha256'],
    ]);
    const delivered = await readFile(remote('acme', first.fileName));
    assert.equal(
      result.stdout.split('\n')[0],
      `ok        ${remote('acme', first.fileName)}  revision 1: ${delivered.length} bytes, sha256 ${sha256(delivered)}`,
    );
  });

  it('a gzip client with its own template (weekly, any day of the week given): ok', { timeout: 60_000 }, async () => {
    await event('gzco', '2026-11-25T18:00:00Z', 'week');
    const file = await deliver('gzco', '2026-11-23');
    assert.equal(file.fileName, 'gzco.20261129.csv.gz');
    const result = await verify('--client', 'gzco', '--period', '2026-11-27');
    assert.deepEqual([result.status, result.stderr, verdicts(result.stdout)], [0, '', [['ok', 'gzco.20261129.csv.gz']]]);
  });

  it('a file whose bytes changed on the server: different, with both sizes and sha256, exit 1', { timeout: 60_000 }, async () => {
    await event('acme', '2026-11-20T10:00:00Z', 'tamper');
    const file = await deliver('acme', '2026-11-20');
    const path = remote('acme', file.fileName);
    const tampered = Buffer.from(await readFile(path));
    tampered[tampered.length - 3] = 'X'.charCodeAt(0);
    await writeFile(path, tampered);

    const result = await verify('--client', 'acme', '--period', '2026-11-20');
    assert.equal(result.status, 1);
    assert.deepEqual(verdicts(result.stdout), [
      ['different', file.fileName],
      ['ok', `${file.fileName}.sha256`],
    ]);
    assert.match(
      result.stdout,
      new RegExp(`the ledger says ${file.bytes} bytes, sha256 ${file.deliveredSha256}; the server has ${tampered.length} bytes, sha256 ${sha256(tampered)}\n`),
    );
    assert.match(result.stderr, /^twoway-report: acme daily 2026-11-20 on 127\.0\.0\.1:\d+: 1 of 2 files do not match the ledger \(1 different\)\n$/);
  });

  it('a delivered file no longer on the server: missing, saying a receiver may have picked it up, exit 1', { timeout: 60_000 }, async () => {
    const file = await deliver('acme', '2026-11-21');
    await rm(remote('acme', file.fileName));

    const result = await verify('--client', 'acme', '--period', '2026-11-21');
    assert.equal(result.status, 1);
    assert.deepEqual(verdicts(result.stdout), [
      ['missing', file.fileName],
      ['ok', `${file.fileName}.sha256`],
    ]);
    assert.match(result.stdout, /revision 1: the ledger says delivered \(\d+ bytes, sha256 \w{64}\); the server does not have it\. .*receiver pick files up/);
    assert.match(result.stderr, /1 of 2 files do not match the ledger \(1 missing\)\n$/);
  });

  it(
    "a leftover temporary upload and a revision the ledger does not know: unknown; another period's file is not listed; exit 1",
    { timeout: 60_000 },
    async () => {
      const file = await deliver('acme', '2026-11-22');
      const leftover = `.${file.fileName}.0badf00d.part`;
      await writeFile(remote('acme', leftover), 'half a fi');
      await writeFile(remote('acme', 'twoway_activity_acme_daily_20261122_r7.csv'), 'not ours\r\n');
      await writeFile(remote('acme', 'twoway_activity_acme_daily_20261123.csv'), 'the next day\r\n');

      const result = await verify('--client', 'acme', '--period', '2026-11-22');
      assert.equal(result.status, 1);
      assert.deepEqual(verdicts(result.stdout), [
        ['ok', file.fileName],
        ['ok', `${file.fileName}.sha256`],
        ['unknown', leftover],
        ['unknown', 'twoway_activity_acme_daily_20261122_r7.csv'],
      ]);
      assert.match(
        result.stdout,
        new RegExp(`unknown +\\S+  9 bytes, sha256 ${sha256('half a fi')}: a temporary upload of ${file.fileName} the ledger does not know`),
      );
      assert.match(result.stdout, new RegExp(`_r7\\.csv  10 bytes, sha256 ${sha256('not ours\r\n')}: not in the ledger`));
      assert.match(result.stderr, /2 of 4 files do not match the ledger \(2 unknown\)\n$/);
    },
  );

  it('bad usage exits 2; an unknown client or a client without delivery settings exits 1 with the reason', { timeout: 60_000 }, async () => {
    for (const args of [
      ['--client', 'acme'],
      ['--period', '2026-11-24'],
      ['--client', 'acme', '--period', '2026-11-24', '--frequency', 'hourly'],
      ['--bogus'],
    ]) {
      const result = await verify(...args);
      assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, /run `twoway-report verify --help` for its usage/);
    }
    const unknown = await verify('--client', 'nosuch', '--period', '2026-11-24');
    assert.deepEqual([unknown.status, unknown.stderr], [1, 'twoway-report: client "nosuch" does not exist in the clients table\n']);

    await db.knex('clients').insert({ id: 'nodelivery', name: 'No delivery', timezone: 'UTC', frequency: 'daily', enabled: false });
    const noDelivery = await verify('--client', 'nodelivery', '--period', '2026-11-24');
    assert.equal(noDelivery.status, 1);
    assert.match(noDelivery.stderr, /client "nodelivery".*delivery/);
  });
});
