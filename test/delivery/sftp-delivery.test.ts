import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, copyFile, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { deliverFile, type DeliveryRequest } from '../../src/delivery/sftp-delivery.js';
import { SftpSession } from '../../src/delivery/sftp-session.js';
import {
  AuthenticationFailedError,
  HostKeyMismatchError,
  NON_RETRYABLE_ERROR_TYPES,
  RemoteDirectoryMissingError,
  RemoteFileConflictError,
  SecretReferenceRefusedError,
  SecretUnavailableError,
  UploadVerificationError,
} from '../../src/domain/errors.js';
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

const CSV = 'client_id,event_name\nacme,message_sent\nacme,message_received\n';
const PASSPHRASE = 'correct horse battery staple 42';
const WRONG_PASSWORD = 'wrong-password-7f3a9c';

describe('deliverFile against OpenSSH sshd', () => {
  let fixture: Fixture;
  let csvPath: string;
  let encryptedKeyPath: string;

  before(async () => {
    fixture = await startFixture('delivery');
    csvPath = await writeLocalFile(fixture, 'report.csv', CSV);
    // The harness's user key, encrypted with a passphrase: the same key, so already authorized.
    encryptedKeyPath = join(fixture.server.secretsDir, 'user_key_encrypted');
    await copyFile(fixture.server.userKeyPath, encryptedKeyPath);
    execFileSync('ssh-keygen', ['-q', '-p', '-f', encryptedKeyPath, '-P', '', '-N', PASSPHRASE]);
  });

  after(async () => {
    await fixture.dispose();
  });

  const request = (remoteDir: string, extra: Partial<DeliveryRequest> & { auth?: 'password' | 'key' } = {}): DeliveryRequest => {
    const auth =
      extra.auth === 'key' ? { method: 'privateKey' as const, privateKey: fixture.keyRef } : { method: 'password' as const, password: fixture.passwordRef };
    return {
      clientId: 'acme',
      settings: settingsFor(fixture.server, remoteDir, auth),
      localPath: csvPath,
      fileName: 'twoway_activity_acme_daily_20261124.csv',
      ...extra,
    };
  };
  const options = () => ({ env: fixture.env, logger: fixture.log.logger });

  it('logs in with a password and puts the file in place under its final name, nothing else left', async () => {
    const dir = await makeRemoteDir(fixture.server, 'password');
    const result = await deliverFile(request(dir), options());
    assert.equal(result.remotePath, `${dir}/twoway_activity_acme_daily_20261124.csv`);
    assert.equal(result.bytes, Buffer.byteLength(CSV));
    assert.equal(result.sha256, sha256OfBytes(CSV));
    assert.equal(result.alreadyPresent, false);
    assert.equal(result.checksumPath, null);
    assert.equal(await readFile(result.remotePath, 'utf8'), CSV);
    assert.deepEqual(await readdir(dir), ['twoway_activity_acme_daily_20261124.csv']);
  });

  it('logs in with a private key, and with a passphrase-protected one', async () => {
    const dir = await makeRemoteDir(fixture.server, 'key');
    const plain = await deliverFile(request(dir, { auth: 'key', fileName: 'plain.csv' }), options());
    assert.equal(await readFile(plain.remotePath, 'utf8'), CSV);

    const settings = settingsFor(fixture.server, dir, {
      method: 'privateKey',
      privateKey: { file: encryptedKeyPath },
      passphrase: { env: 'TWOWAY_SECRET_TEST_PASSPHRASE' },
    });
    const encrypted = await deliverFile(
      { ...request(dir), settings, fileName: 'encrypted.csv' },
      { ...options(), env: { ...fixture.env, TWOWAY_SECRET_TEST_PASSPHRASE: PASSPHRASE } },
    );
    assert.equal(await readFile(encrypted.remotePath, 'utf8'), CSV);
  });

  it('refuses a wrong password as AuthenticationFailedError (not retried), naming client, host and user', async () => {
    const dir = await makeRemoteDir(fixture.server, 'wrong-password');
    const error = await expectError(
      fixture,
      deliverFile(request(dir), { ...options(), env: { ...fixture.env, TWOWAY_SECRET_TEST_SFTP_PASSWORD: WRONG_PASSWORD } }),
      AuthenticationFailedError,
    );
    assert.ok(NON_RETRYABLE_ERROR_TYPES.includes(error.name));
    assert.match(error.message, /client "acme"/);
    assert.ok(error.message.includes(`127.0.0.1:${fixture.server.port}`));
    assert.ok(error.message.includes(fixture.server.username));
    assert.deepEqual(await readdir(dir), []);
  });

  it('refuses a wrong passphrase as SecretUnavailableError naming the passphrase reference', async () => {
    const dir = await makeRemoteDir(fixture.server, 'wrong-passphrase');
    const settings = settingsFor(fixture.server, dir, {
      method: 'privateKey',
      privateKey: { file: encryptedKeyPath },
      passphrase: { env: 'TWOWAY_SECRET_TEST_PASSPHRASE' },
    });
    const error = await expectError(
      fixture,
      deliverFile({ ...request(dir), settings }, { ...options(), env: { ...fixture.env, TWOWAY_SECRET_TEST_PASSPHRASE: 'not the passphrase' } }),
      SecretUnavailableError,
    );
    assert.equal(error.field, 'delivery.passphrase');
    assert.match(error.message, /environment variable TWOWAY_SECRET_TEST_PASSPHRASE/);
  });

  it('refuses a server whose host key does not match the pin, reporting the presented fingerprint', async () => {
    const dir = await makeRemoteDir(fixture.server, 'host-key');
    const pinned = `SHA256:${randomBytes(32).toString('base64').replace(/=+$/, '')}`;
    const req = request(dir);
    const error = await expectError(fixture, deliverFile({ ...req, settings: { ...req.settings, hostKeySha256: pinned } }, options()), HostKeyMismatchError);
    assert.equal(error.presented, fixture.server.hostKeySha256);
    assert.deepEqual(error.expected, [pinned]);
    assert.ok(NON_RETRYABLE_ERROR_TYPES.includes(error.name));
    assert.ok(error.message.includes(`127.0.0.1:${fixture.server.port}`));
    assert.deepEqual(await readdir(dir), []);
  });

  it('connects while the pin list holds an old key beside the one the server presents (a host key rotation)', async () => {
    const dir = await makeRemoteDir(fixture.server, 'host-key-rotation');
    const old = `SHA256:${randomBytes(32).toString('base64').replace(/=+$/, '')}`;
    const req = request(dir);
    for (const pins of [
      [old, fixture.server.hostKeySha256],
      [fixture.server.hostKeySha256, old],
    ]) {
      const result = await deliverFile({ ...req, settings: { ...req.settings, hostKeySha256: pins }, fileName: `${pins.indexOf(old)}.csv` }, options());
      assert.equal(await readFile(result.remotePath, 'utf8'), CSV);
    }
  });

  it('refuses a server whose key matches none of several pins, not retried, listing every pin', async () => {
    const dir = await makeRemoteDir(fixture.server, 'host-key-none');
    const pins = [1, 2].map(() => `SHA256:${randomBytes(32).toString('base64').replace(/=+$/, '')}`);
    const req = request(dir);
    const error = await expectError(fixture, deliverFile({ ...req, settings: { ...req.settings, hostKeySha256: pins } }, options()), HostKeyMismatchError);
    assert.ok(NON_RETRYABLE_ERROR_TYPES.includes(error.name));
    assert.deepEqual(error.expected, pins);
    assert.equal(error.presented, fixture.server.hostKeySha256);
    assert.ok(
      error.message.endsWith(`presented host key ${fixture.server.hostKeySha256}; allowed: one of the pinned delivery.hostKeySha256 ${pins[0]}, ${pins[1]}`),
      error.message,
    );
    assert.deepEqual(await readdir(dir), []);
  });

  it("never sends the worker's own secrets: DATABASE_URL and /proc/self/environ as a password are refused before connecting", async () => {
    const dir = await makeRemoteDir(fixture.server, 'own-secrets');
    const req = request(dir);
    // The worker's database URL happens to be the server's password here: were it resolved, the login would succeed.
    const workerEnv = { ...fixture.env, DATABASE_URL: fixture.server.password, TWOWAY_SECRET_ACME_PASSWORD: fixture.server.password };
    const withPassword = (password: { env: string } | { file: string }) => ({
      ...req,
      settings: { ...req.settings, auth: { method: 'password' as const, password } },
    });
    const allowed = await deliverFile({ ...withPassword({ env: 'TWOWAY_SECRET_ACME_PASSWORD' }), fileName: 'allowed.csv' }, { ...options(), env: workerEnv });
    assert.equal(await readFile(allowed.remotePath, 'utf8'), CSV, 'the same value under an allowed name logs in');

    const database = await expectError(
      fixture,
      deliverFile({ ...withPassword({ env: 'DATABASE_URL' }), fileName: 'database.csv' }, { ...options(), env: workerEnv }),
      SecretReferenceRefusedError,
    );
    assert.equal(
      database.message,
      `client "acme": delivery.password refers to environment variable DATABASE_URL, which is one of the worker's own settings; allowed: an environment variable named TWOWAY_SECRET_<NAME> (TWOWAY_SECRET_ENV_PREFIX) that is not one of the worker's own settings`,
    );
    const environ = await expectError(
      fixture,
      deliverFile({ ...withPassword({ file: '/proc/self/environ' }), fileName: 'environ.csv' }, { ...options(), env: workerEnv }),
      SecretReferenceRefusedError,
    );
    assert.equal(
      environ.message,
      `client "acme": delivery.password refers to file /proc/self/environ, which is outside the secrets folder ${fixture.server.secretsDir}; allowed: a file inside ${fixture.server.secretsDir} (TWOWAY_SECRETS_DIR) that only its owner can read (chmod 600), not one of the worker's own files`,
    );
    for (const error of [database, environ]) assert.ok(NON_RETRYABLE_ERROR_TYPES.includes(error.name));
    assert.deepEqual(await readdir(dir), ['allowed.csv'], 'nothing delivered with a refused reference');
  });

  it('refuses a key file others can read, naming the field and its mode', async () => {
    const dir = await makeRemoteDir(fixture.server, 'key-mode');
    const readableKey = join(fixture.server.secretsDir, 'user_key_readable');
    await copyFile(fixture.server.userKeyPath, readableKey);
    await chmod(readableKey, 0o644);
    const req = request(dir);
    const error = await expectError(
      fixture,
      deliverFile({ ...req, settings: { ...req.settings, auth: { method: 'privateKey', privateKey: { file: readableKey } } } }, options()),
      SecretReferenceRefusedError,
    );
    assert.equal(error.field, 'delivery.privateKey');
    assert.match(
      error.message,
      /^client "acme": delivery\.privateKey refers to file \S+user_key_readable, which can be read or written by group or others \(mode 644\); allowed: /,
    );
    assert.deepEqual(await readdir(dir), []);
  });

  it('reports a missing remote folder as RemoteDirectoryMissingError', async () => {
    const missing = join(fixture.server.rootDir, 'no-such-folder');
    const error = await expectError(fixture, deliverFile(request(missing), options()), RemoteDirectoryMissingError);
    assert.equal(error.remoteDir, missing);
    assert.ok(NON_RETRYABLE_ERROR_TYPES.includes(error.name));
  });

  it('reports a secret reference that cannot be resolved, naming the reference and nothing else', async () => {
    const dir = await makeRemoteDir(fixture.server, 'secret');
    const unset = await expectError(fixture, deliverFile(request(dir), { ...options(), env: {} }), SecretUnavailableError);
    assert.match(unset.message, /delivery\.password refers to environment variable TWOWAY_SECRET_TEST_SFTP_PASSWORD, which is not set/);
    const req = request(dir);
    const missingKey = join(fixture.server.secretsDir, 'no-such-key');
    const missingFile = { ...req.settings, auth: { method: 'privateKey' as const, privateKey: { file: missingKey } } };
    const unreadable = await expectError(fixture, deliverFile({ ...req, settings: missingFile }, options()), SecretUnavailableError);
    assert.ok(unreadable.message.includes(`file ${missingKey}, which cannot be read by the delivering process (ENOENT)`), unreadable.message);
  });

  it('finds an identical file already delivered and uploads nothing (alreadyPresent)', async () => {
    const dir = await makeRemoteDir(fixture.server, 'same');
    const first = await deliverFile(request(dir), options());
    const before = await stat(first.remotePath);
    const again = await deliverFile(request(dir), options());
    assert.equal(again.alreadyPresent, true);
    assert.equal(again.sha256, first.sha256);
    assert.equal(again.bytes, first.bytes);
    const afterwards = await stat(first.remotePath);
    assert.equal(afterwards.ino, before.ino, 'the delivered file was not replaced');
    assert.equal(afterwards.mtimeMs, before.mtimeMs);
  });

  it('never replaces a delivered file with different content: RemoteFileConflictError, same size or not', async () => {
    const dir = await makeRemoteDir(fixture.server, 'conflict');
    const delivered = await deliverFile(request(dir), options());
    const sameSize = await writeLocalFile(fixture, 'same-size.csv', CSV.replace('acme,message_sent', 'acme,message_SENT'));
    const longer = await writeLocalFile(fixture, 'longer.csv', `${CSV}acme,closed\n`);
    for (const localPath of [sameSize, longer]) {
      const error = await expectError(fixture, deliverFile({ ...request(dir), localPath }, options()), RemoteFileConflictError);
      assert.equal(error.remotePath, delivered.remotePath);
      assert.ok(NON_RETRYABLE_ERROR_TYPES.includes(error.name));
    }
    assert.equal(await readFile(delivered.remotePath, 'utf8'), CSV);
    assert.deepEqual(await readdir(dir), ['twoway_activity_acme_daily_20261124.csv']);
  });

  it('removes a stale temporary file an earlier attempt left behind', async () => {
    const dir = await makeRemoteDir(fixture.server, 'stale');
    const stale = join(dir, '.twoway_activity_acme_daily_20261124.csv.0badf00d.part');
    await writeFile(stale, 'half an upload');
    const unrelated = join(dir, '.other.csv.0badf00d.part');
    await writeFile(unrelated, 'another file in flight');
    await deliverFile(request(dir), options());
    assert.deepEqual((await readdir(dir)).sort(), ['.other.csv.0badf00d.part', 'twoway_activity_acme_daily_20261124.csv']);
  });

  it('delivers gzip and a .sha256 companion, written after the data file; a rerun finds both in place', async () => {
    const dir = await makeRemoteDir(fixture.server, 'gzip');
    const req = request(dir, { auth: 'key' });
    const gzipRequest = { ...req, settings: { ...req.settings, gzip: true, checksumFile: true } };
    const result = await deliverFile(gzipRequest, options());
    const name = 'twoway_activity_acme_daily_20261124.csv.gz';
    assert.equal(result.remotePath, join(dir, name));
    assert.equal(result.checksumPath, join(dir, `${name}.sha256`));
    const gz = await readFile(result.remotePath);
    assert.equal(gunzipSync(gz).toString('utf8'), CSV);
    assert.equal(result.sha256, sha256OfBytes(gz));
    assert.equal(result.bytes, gz.length);
    assert.equal(await readFile(result.checksumPath, 'utf8'), `${result.sha256}  ${name}\n`);
    assert.ok((await stat(result.checksumPath)).mtimeMs >= (await stat(result.remotePath)).mtimeMs);
    assert.deepEqual((await readdir(dir)).sort(), [name, `${name}.sha256`]);
    assert.deepEqual(
      (await readdir(fixture.localDir)).filter((entry) => entry.endsWith('.tmp')),
      [],
      'the local gzip file is removed',
    );

    const again = await deliverFile(gzipRequest, options());
    assert.equal(again.alreadyPresent, true, 'gzip output is reproducible: an unchanged CSV is already delivered');
    assert.equal(again.sha256, result.sha256);
  });

  it('counts a delivered gzip made by another compressor as the same when its content is the same', async () => {
    const dir = await makeRemoteDir(fixture.server, 'gzip-other');
    const name = 'twoway_activity_acme_daily_20261124.csv.gz';
    const otherGzip = gzipSync(CSV);
    otherGzip.writeUInt32LE(1_700_000_000, 4); // another mtime in the header: other bytes, same content
    await writeFile(join(dir, name), otherGzip);
    const req = request(dir);
    const gzipRequest = { ...req, settings: { ...req.settings, gzip: true } };
    const result = await deliverFile(gzipRequest, options());
    assert.equal(result.alreadyPresent, true);
    assert.equal(result.sha256, sha256OfBytes(otherGzip), 'the result describes the file that is there');

    await writeFile(join(dir, name), gzipSync(`${CSV}acme,closed\n`));
    await expectError(fixture, deliverFile(gzipRequest, options()), RemoteFileConflictError);
    await writeFile(join(dir, name), 'not gzip at all');
    await expectError(fixture, deliverFile(gzipRequest, options()), RemoteFileConflictError);
  });

  it('puts a missing checksum companion in place when the data file is already there', async () => {
    const dir = await makeRemoteDir(fixture.server, 'companion');
    const req = request(dir);
    await deliverFile(req, options());
    const result = await deliverFile({ ...req, settings: { ...req.settings, checksumFile: true } }, options());
    assert.equal(result.alreadyPresent, true);
    assert.equal(await readFile(result.checksumPath ?? '', 'utf8'), `${sha256OfBytes(CSV)}  twoway_activity_acme_daily_20261124.csv\n`);
  });

  it('refuses to publish a local file that does not match the built file checksum', async () => {
    const dir = await makeRemoteDir(fixture.server, 'expected-sha');
    await expectError(fixture, deliverFile({ ...request(dir), sha256: sha256OfBytes('something else') }, options()), UploadVerificationError);
    assert.deepEqual(await readdir(dir), []);
  });

  it('stops promptly when aborted: rejects with the abort reason and leaves nothing under the final name', async () => {
    const dir = await makeRemoteDir(fixture.server, 'abort');
    const bigPath = await writeLocalFile(fixture, 'big.csv', randomBytes(64 * 1024 * 1024));
    const controller = new AbortController();
    const reason = new Error('activity cancelled');
    let progressCalls = 0;
    const started = Date.now();
    const delivering = deliverFile(
      { ...request(dir), localPath: bigPath },
      {
        ...options(),
        onProgress: () => {
          progressCalls += 1;
          controller.abort(reason);
        },
        signal: controller.signal,
      },
    );
    const error = await delivering.then(
      () => assert.fail('expected the delivery to be aborted'),
      (caught: unknown) => caught,
    );
    fixture.errors.push(error);
    assert.equal(error, reason);
    assert.ok(progressCalls >= 1);
    assert.ok(Date.now() - started < 10_000);
    assert.ok(!(await readdir(dir)).includes('twoway_activity_acme_daily_20261124.csv'));

    const already = new AbortController();
    already.abort(reason);
    await assert.rejects(deliverFile(request(dir), { ...options(), signal: already.signal }), (caught) => caught === reason);
  });

  it('calls onProgress during an upload, at most twice a second', async () => {
    const dir = await makeRemoteDir(fixture.server, 'progress');
    const bigPath = await writeLocalFile(fixture, 'progress.csv', randomBytes(96 * 1024 * 1024));
    const calls: { at: number; bytes: number }[] = [];
    const result = await deliverFile(
      { ...request(dir, { auth: 'key' }), localPath: bigPath },
      { ...options(), onProgress: (bytes) => calls.push({ at: Date.now(), bytes }) },
    );
    assert.equal(result.bytes, 96 * 1024 * 1024);
    for (let i = 1; i < calls.length; i += 1) {
      assert.ok((calls[i]?.at ?? 0) - (calls[i - 1]?.at ?? 0) >= 450, 'progress calls are throttled');
      assert.ok((calls[i]?.bytes ?? 0) > (calls[i - 1]?.bytes ?? 0));
    }
    assert.ok(calls.length >= 1);
  });

  it('shows no password, private key or passphrase in any log line or error', () => {
    assert.match(fixture.log.text(), /delivered file/);
    assert.ok(fixture.errors.length >= 8);
    assertNoSecrets(fixture, [
      fixture.server.password,
      WRONG_PASSWORD,
      PASSPHRASE,
      ...privateKeySecrets(fixture.server.userKeyPath),
      ...privateKeySecrets(encryptedKeyPath),
    ]);
  });
});

/**
 * Publishing never replaces a file, whichever operation the server offers: OpenSSH's
 * hardlink@openssh.com, or (denied here with `-P hardlink`) plain SFTP rename.
 */
for (const mode of [
  { name: 'hardlink', sftpServerArguments: [] as string[], publishedWith: 'hardlink' },
  { name: 'plain rename (hardlink denied)', sftpServerArguments: ['-P', 'hardlink'], publishedWith: 'rename' },
]) {
  describe(`publishing with ${mode.name} against OpenSSH sshd`, () => {
    let fixture: Fixture;
    before(async () => {
      fixture = await startFixture(`delivery-${mode.publishedWith}`, { sftpServerArguments: mode.sftpServerArguments });
    });
    after(async () => {
      await fixture.dispose();
    });

    it(`delivers with ${mode.publishedWith}, and refuses to put another file over a delivered one`, async () => {
      const dir = await makeRemoteDir(fixture.server, 'publish');
      const localPath = await writeLocalFile(fixture, 'report.csv', CSV);
      const settings = settingsFor(fixture.server, dir, { method: 'privateKey', privateKey: fixture.keyRef });
      const result = await deliverFile({ clientId: 'acme', settings, localPath, fileName: 'published.csv' }, { env: fixture.env, logger: fixture.log.logger });
      assert.equal(await readFile(result.remotePath, 'utf8'), CSV);
      assert.match(fixture.log.text(), new RegExp(`"publish":"${mode.publishedWith}"`));
      assert.deepEqual(await readdir(dir), ['published.csv'], 'no temporary file left');

      await writeFile(join(dir, '.other.part'), 'another file with other bytes');
      const session = await SftpSession.open(
        { clientId: 'acme', settings },
        { method: 'privateKey', privateKey: await readFile(fixture.server.userKeyPath), passphrase: undefined },
        {
          connectTimeoutMs: 5_000,
          operationTimeoutMs: 5_000,
          signal: undefined,
          logger: fixture.log.logger,
        },
      );
      try {
        assert.equal(await session.publish(join(dir, '.other.part'), result.remotePath), 'exists');
        assert.equal(await readFile(result.remotePath, 'utf8'), CSV, 'the delivered file is untouched');
        assert.equal(await readFile(join(dir, '.other.part'), 'utf8'), 'another file with other bytes', 'the refused file is left for its owner to remove');
      } finally {
        await session.close();
      }
    });
  });
}
