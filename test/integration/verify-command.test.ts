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
import { createManifestSigner, stopGpgAgent } from '../../src/delivery/pgp.js';
import { createGnupgHome, exportKey, generateKey, verifyDetachedSignature } from '../../src/devstack/pgp-keys.js';
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
  /** The PGP client's keyring (its key signs too): it checks the manifest's signature. */
  let gnupgHome: string;

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
    const settings = requireDelivery(plan.client);
    const deliveryEnv = { TWOWAY_SECRETS_DIR: sftp.secretsDir };
    const published = await withPeriodLock(db.knex, db.url, key, { waitTimeoutMs: LOCK_WAIT_MS }, (lock) =>
      publishPeriodFile(
        {
          clientId,
          period: plan.period,
          settings,
          signManifest: createManifestSigner(clientId, settings, deliveryEnv),
          localPath: built.path,
          baseFileName: plan.fileName,
          sha256: built.sha256,
          rowCount: built.rowCount,
          run,
          force,
        },
        createPublicationLedger(lock, key),
        { env: deliveryEnv, connectTimeoutMs: 5_000, operationTimeoutMs: 10_000 },
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
    // One key pair: its public key is the PGP client's recipient, its secret key signs (key files inside the secrets folder).
    gnupgHome = await createGnupgHome(join(baseDir, 'gnupg'));
    const fingerprint = await generateKey(gnupgHome, { userId: 'Split Co <reports@split.example>' });
    const pgp = {
      recipients: [{ file: await exportKey(gnupgHome, fingerprint, join(sftp.secretsDir, 'splitco.pub.asc')) }],
      signingKey: { file: await exportKey(gnupgHome, fingerprint, join(sftp.secretsDir, 'signing.sec.asc'), { secret: true }) },
    };
    await db.knex('clients').insert([
      {
        id: 'splitco',
        name: 'Split Co',
        timezone: 'UTC',
        frequency: 'daily',
        delivery: JSON.stringify(await deliveryFor(sftp, 'splitco', { manifest: true, maxRowsPerFile: 1, checksumFile: true, pgp })),
      },
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
    if (gnupgHome) await stopGpgAgent(gnupgHome);
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

  /** A split, encrypted delivery of splitco's day (two rows, so two parts), with a signed manifest. */
  async function deliverSplit(day: LocalDate): Promise<PeriodFile> {
    await event('splitco', `${day}T09:00:00Z`, 'one');
    await event('splitco', `${day}T10:00:00Z`, 'two');
    const file = await deliver('splitco', day);
    assert.deepEqual(
      file.parts.map((part) => part.kind),
      ['data', 'data', 'signature', 'manifest'],
    );
    return file;
  }
  const splitNames = (day: string) => {
    const stem = `twoway_activity_splitco_daily_${day.replaceAll('-', '')}`;
    return {
      part1: `${stem}_part001.csv.pgp`,
      part2: `${stem}_part002.csv.pgp`,
      signature: `${stem}.csv.pgp.manifest.json.sig`,
      manifest: `${stem}.csv.pgp.manifest.json`,
    };
  };

  it(
    'a split, encrypted revision with a signed manifest: every part, checksum file, the signature and the manifest ok, exit 0',
    { timeout: 60_000 },
    async () => {
      const file = await deliverSplit('2026-11-10');
      const names = splitNames('2026-11-10');
      const verified = await verifyDetachedSignature(gnupgHome, remote('splitco', names.signature), remote('splitco', names.manifest));
      assert.ok(verified.signedBy, verified.status);

      const result = await verify('--client', 'splitco', '--period', '2026-11-10');
      assert.deepEqual([result.status, result.stderr], [0, '']);
      assert.deepEqual(verdicts(result.stdout), [
        ['ok', names.part1],
        ['ok', `${names.part1}.sha256`],
        ['ok', names.part2],
        ['ok', `${names.part2}.sha256`],
        ['ok', names.signature],
        ['ok', names.manifest],
      ]);
      const manifest = await readFile(remote('splitco', names.manifest));
      const [, , , , signatureLine, manifestLine] = result.stdout.trim().split('\n');
      assert.match(signatureLine ?? '', / {2}manifest signature of revision 1: \d+ bytes, sha256 \w{64}$/);
      assert.equal(
        manifestLine,
        `ok        ${remote('splitco', names.manifest)}  manifest of revision 1: ${manifest.length} bytes, sha256 ${sha256(manifest)}`,
      );
      assert.equal(file.parts[3]?.deliveredSha256, sha256(manifest));
    },
  );

  it('a split revision with a tampered part: different; with its manifest deleted: missing; exit 1', { timeout: 60_000 }, async () => {
    await deliverSplit('2026-11-11');
    const names = splitNames('2026-11-11');
    const part = remote('splitco', names.part2);
    const tampered = Buffer.from(await readFile(part));
    tampered.writeUInt8(tampered.readUInt8(tampered.length - 1) ^ 0xff, tampered.length - 1);
    await writeFile(part, tampered);

    const different = await verify('--client', 'splitco', '--period', '2026-11-11');
    assert.equal(different.status, 1);
    assert.deepEqual(
      verdicts(different.stdout).map(([verdict]) => verdict),
      ['ok', 'ok', 'different', 'ok', 'ok', 'ok'],
    );
    assert.match(different.stdout, new RegExp(`^different +\\S+/${names.part2.replaceAll('.', '\\.')}  part 2 of revision 1: the ledger says \\d+ bytes`, 'm'));
    assert.match(different.stderr, /1 of 6 files do not match the ledger \(1 different\)\n$/);

    await rm(remote('splitco', names.manifest));
    const missing = await verify('--client', 'splitco', '--period', '2026-11-11');
    assert.equal(missing.status, 1);
    assert.deepEqual(verdicts(missing.stdout).slice(-1), [['missing', names.manifest]]);
    assert.match(missing.stdout, /manifest of revision 1: the ledger says delivered \(\d+ bytes, sha256 \w{64}\); the server does not have it/);
    assert.match(missing.stderr, /2 of 6 files do not match the ledger \(1 missing, 1 different\)\n$/);
  });

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
