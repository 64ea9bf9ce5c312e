import { periodContaining } from '../../src/domain/periods.js';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { recordRunStarted } from '../../src/db/ledger.js';
import { withPeriodLock } from '../../src/db/period-lock.js';
import { createPublicationLedger, listPeriodFiles } from '../../src/db/report-files.js';
import { publishPeriodFile, type PeriodPublishResult } from '../../src/delivery/period-publisher.js';
import { decryptMessage } from '../../src/devstack/pgp-keys.js';
import { UnusablePgpKeyError } from '../../src/domain/errors.js';
import type { PublicationLedger } from '../../src/domain/publication.js';
import type { PgpSettings, SftpDeliverySettings } from '../../src/domain/types.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createTestKeys, SIGNING_PASSPHRASE, type TestKeys } from '../support/pgp.js';
import {
  assertNoSecrets,
  expectError,
  makeRemoteDir,
  privateKeySecrets,
  settingsFor,
  sha256OfBytes,
  startFixture,
  writeLocalFile,
  type Fixture,
} from './sftp-fixture.js';

const PERIOD = { clientId: 'acme', frequency: 'daily' as const, periodStart: '2026-11-24' };
const NAME = 'twoway_activity_acme_daily_20261124.csv';
const CSV = 'agent_email,customer_first_name\r\nana@support.example,"Mary, Jr."\r\nwei@support.example,李\r\n';
const PASSPHRASE_VARIABLE = 'TWOWAY_SECRET_TEST_PGP_SIGNING_PASSPHRASE';
const LOCK_WAIT_MS = 20_000;

describe('PGP delivery end to end: publishPeriodFile with gpg, the real sshd and PostgreSQL', () => {
  let fixture: Fixture;
  let db: TestDatabase;
  let keys: TestKeys;
  let remoteDir: string;
  let folderCount = 0;
  let attempts = 0;

  before(async () => {
    fixture = await startFixture('pgp-delivery');
    db = await createTestDatabase();
    keys = await createTestKeys(join(fixture.env.TWOWAY_SECRETS_DIR as string, 'pgp-keys'));
  });

  after(async () => {
    await keys?.dispose();
    await fixture?.dispose();
    await db?.drop();
  });

  beforeEach(async () => {
    folderCount += 1;
    remoteDir = await makeRemoteDir(fixture.server, `pgp-${folderCount}`);
    await db.knex('report_files').delete();
    await db.knex('report_runs').delete();
  });

  const pgp = (patch: Partial<PgpSettings> = {}): PgpSettings => ({
    recipients: [{ file: keys.files.alicePublic }, { file: keys.files.bobPublic }],
    signingKey: { file: keys.files.protectedSignerSecret },
    signingPassphrase: { env: PASSPHRASE_VARIABLE },
    armor: false,
    ...patch,
  });

  const settings = (extra: Partial<SftpDeliverySettings> = {}): SftpDeliverySettings =>
    settingsFor(fixture.server, remoteDir, { method: 'privateKey', privateKey: fixture.keyRef }, { pgp: pgp(), ...extra });

  async function attempt(spec: {
    runId: string;
    content?: string;
    force?: boolean;
    settings?: SftpDeliverySettings;
    ledger?: (ledger: PublicationLedger) => PublicationLedger;
  }): Promise<PeriodPublishResult> {
    const run = { workflowId: `twoway-report/acme/daily/${PERIOD.periodStart}`, runId: spec.runId };
    await recordRunStarted(db.knex, { ...PERIOD, ...run, periodEnd: '2026-11-25', forced: spec.force ?? false });
    attempts += 1;
    const content = spec.content ?? CSV;
    const localPath = await writeLocalFile(fixture, `built-${attempts}.csv`, content);
    return withPeriodLock(db.knex, db.url, PERIOD, { waitTimeoutMs: LOCK_WAIT_MS }, (lock) => {
      const ledger = createPublicationLedger(lock, PERIOD);
      return publishPeriodFile(
        {
          clientId: 'acme',
          period: periodContaining('daily', PERIOD.periodStart, 'UTC'),
          settings: spec.settings ?? settings(),
          localPath,
          baseFileName: NAME,
          sha256: sha256OfBytes(content),
          rowCount: 2,
          run,
          force: spec.force ?? false,
        },
        spec.ledger ? spec.ledger(ledger) : ledger,
        { env: { ...fixture.env, [PASSPHRASE_VARIABLE]: SIGNING_PASSPHRASE }, logger: fixture.log.logger, connectTimeoutMs: 5_000, operationTimeoutMs: 5_000 },
      );
    });
  }

  const crashAfterRename = (ledger: PublicationLedger): PublicationLedger => ({
    ...ledger,
    markDelivered: () => Promise.reject(new Error('worker killed after the rename')),
  });
  const stopBeforeRename = (ledger: PublicationLedger): PublicationLedger => ({
    ...ledger,
    recordPublishing: async (file) => {
      await ledger.recordPublishing(file);
      throw new Error('worker killed before the rename');
    },
  });
  const files = async () => (await readdir(remoteDir)).sort();
  const ledgerFiles = () => listPeriodFiles(db.knex, PERIOD);
  const remote = (name: string) => readFile(join(remoteDir, name));

  it('delivers <name>.csv.pgp that each recipient decrypts to the built CSV byte for byte, signed by us; the ledger has both sha256s', async () => {
    const result = await attempt({ runId: 'r1' });
    assert.equal(result.status, 'delivered');
    assert.deepEqual(await files(), [`${NAME}.pgp`]);
    const bytes = await remote(`${NAME}.pgp`);
    for (const home of [keys.aliceHome, keys.bobHome]) {
      const decrypted = await decryptMessage(home, bytes);
      assert.deepEqual(decrypted.plaintext, Buffer.from(CSV), 'byte for byte');
      assert.equal(decrypted.signedBy, keys.protectedSignerFingerprint);
    }
    const [file] = await ledgerFiles();
    assert.deepEqual(
      [file?.fileName, file?.status, file?.sha256, file?.deliveredSha256, file?.bytes],
      [`${NAME}.pgp`, 'delivered', sha256OfBytes(CSV), sha256OfBytes(bytes), bytes.length],
    );
    assertNoSecrets(fixture, [SIGNING_PASSPHRASE, ...privateKeySecrets(keys.files.protectedSignerSecret)]);
  });

  it('gzip, PGP and a .sha256 companion: a retry after the rename finds that very upload in place, uploads nothing and sends nothing twice', async () => {
    const gzipped = settings({ gzip: true, checksumFile: true });
    await assert.rejects(attempt({ runId: 'r1', settings: gzipped, ledger: crashAfterRename }), /worker killed after the rename/);
    const name = `${NAME}.gz.pgp`;
    const first = await remote(name);
    assert.equal((await ledgerFiles())[0]?.status, 'publishing');

    const retry = await attempt({ runId: 'r1', settings: gzipped });
    assert.equal(retry.status, 'delivered');
    assert.equal(retry.uploaded, false);
    assert.deepEqual(await files(), [name, `${name}.sha256`]);
    assert.deepEqual(await remote(name), first, 'the first upload stays; nothing was encrypted and sent again');
    assert.equal((await remote(`${name}.sha256`)).toString('utf8'), `${sha256OfBytes(first)}  ${name}\n`);
    assert.equal(gunzipSync((await decryptMessage(keys.aliceHome, first)).plaintext).toString('utf8'), CSV);
    const [file] = await ledgerFiles();
    assert.deepEqual([file?.status, file?.sha256, file?.deliveredSha256], ['delivered', sha256OfBytes(CSV), sha256OfBytes(first)]);
  });

  it('finishes the rename of the recorded encrypted upload when an attempt died before renaming it', async () => {
    await assert.rejects(attempt({ runId: 'r1', ledger: stopBeforeRename }), /killed before the rename/);
    const [temporary] = await files();
    assert.match(temporary ?? '', /^\.twoway_activity_acme_daily_20261124\.csv\.pgp\.[0-9a-f]{8}\.part$/);
    const uploaded = await remote(temporary as string);

    const retry = await attempt({ runId: 'r1' });
    assert.equal(retry.uploaded, false);
    assert.deepEqual(await files(), [`${NAME}.pgp`]);
    assert.deepEqual(await remote(`${NAME}.pgp`), uploaded);
  });

  it('a forced rerun of an unchanged CSV is unchanged (judged by the CSV, not by the new encryption); a changed one is _r2.csv.pgp', async () => {
    await attempt({ runId: 'r1' });
    const unchanged = await attempt({ runId: 'r2', force: true });
    assert.equal(unchanged.status, 'unchanged');
    assert.deepEqual(await files(), [`${NAME}.pgp`]);

    const changed = `${CSV}zoe@support.example,Zoë\r\n`;
    const forced = await attempt({ runId: 'r3', force: true, content: changed });
    assert.equal(forced.file.revision, 2);
    const revised = NAME.replace('.csv', '_r2.csv.pgp');
    assert.deepEqual(await files(), [`${NAME}.pgp`, revised]);
    assert.equal((await decryptMessage(keys.bobHome, await remote(revised))).plaintext.toString('utf8'), changed);
  });

  it('an unusable key stops the delivery before anything is uploaded or recorded, naming client and field', async () => {
    const error = await expectError(
      fixture,
      attempt({ runId: 'r1', settings: settings({ pgp: pgp({ recipients: [{ file: keys.files.alicePublic }, { file: keys.files.aliceSecret }] }) }) }),
      UnusablePgpKeyError,
    );
    assert.match(error.message, /^client "acme": delivery\.pgp\.recipients\[1\] refers to file .*alice\.sec\.asc, which holds the secret key/);
    assert.deepEqual(await files(), []);
    assert.deepEqual(await ledgerFiles(), []);
    assertNoSecrets(fixture, privateKeySecrets(keys.files.aliceSecret));
  });
});
