import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import { deliverFile } from '../../src/delivery/sftp-delivery.js';
import { SftpSession } from '../../src/delivery/sftp-session.js';
import { PARALLEL_UPLOAD_MIN_BYTES, upload, UPLOAD_STREAMS } from '../../src/delivery/sftp-transfer.js';
import { SftpTransientError } from '../../src/domain/errors.js';
import type { SftpDeliverySettings } from '../../src/domain/types.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { expectError, makeRemoteDir, settingsFor, sha256OfFile, startFixture, type Fixture } from './sftp-fixture.js';

/** 50 ms round trip: a server in another region. */
const ONE_WAY_DELAY_MS = 25;
const SMALL_FILE_BYTES = 4 * 1024 * 1024;
const LARGE_FILE_BYTES = PARALLEL_UPLOAD_MIN_BYTES + 8 * 1024 * 1024;
const GENERATOR_CHUNK_BYTES = 1024 * 1024;
/** Past the first window's worth, so the parallel streams have joined when the connection is cut. */
const CUT_AFTER_BYTES = PARALLEL_UPLOAD_MIN_BYTES - 8 * 1024 * 1024;
const FILE_NAME = 'twoway_activity_acme_daily_20261101.csv';

async function writeRandomFile(path: string, bytes: number): Promise<string> {
  async function* chunks() {
    for (let written = 0; written < bytes; written += GENERATOR_CHUNK_BYTES) yield randomBytes(Math.min(GENERATOR_CHUNK_BYTES, bytes - written));
  }
  await pipeline(Readable.from(chunks()), createWriteStream(path));
  return path;
}

async function openSession(fixture: Fixture, settings: SftpDeliverySettings): Promise<SftpSession> {
  return SftpSession.open(
    { clientId: 'acme', settings },
    { method: 'privateKey', privateKey: await readFile(fixture.server.userKeyPath), passphrase: undefined },
    { connectTimeoutMs: 10_000, operationTimeoutMs: 10_000, signal: undefined, logger: fixture.log.logger },
  );
}

describe('deliverFile to a server far away (a proxy delays every chunk each way)', () => {
  let fixture: Fixture;
  let proxy: TcpProxy;
  let smallPath: string;
  let largePath: string;

  before(async () => {
    fixture = await startFixture('delivery-wan');
    proxy = await startTcpProxy({ targetPort: fixture.server.port, delayMs: ONE_WAY_DELAY_MS });
    smallPath = await writeRandomFile(join(fixture.localDir, 'small.csv'), SMALL_FILE_BYTES);
    largePath = await writeRandomFile(join(fixture.localDir, 'large.csv'), LARGE_FILE_BYTES);
  });

  after(async () => {
    await proxy.close();
    await fixture.dispose();
  });

  it('delivers a file whose copy on the server hashes like the local one', async () => {
    const dir = await makeRemoteDir(fixture.server, 'small');
    const settings = { ...settingsFor(fixture.server, dir, { method: 'privateKey', privateKey: fixture.keyRef }), port: proxy.port };
    const result = await deliverFile(
      { clientId: 'acme', settings, localPath: smallPath, fileName: 'twoway_activity_acme_daily_20261101.csv' },
      { env: fixture.env, logger: fixture.log.logger },
    );
    const local = await sha256OfFile(smallPath);
    assert.equal(result.bytes, SMALL_FILE_BYTES);
    assert.equal(result.sha256, local);
    assert.equal(await sha256OfFile(result.remotePath), local, 'the file sshd wrote is byte for byte the local one');
  });

  it('spreads a large upload over parallel streams into the one file, written out of file order, byte for byte', async () => {
    const dir = await makeRemoteDir(fixture.server, 'large');
    const session = await openSession(fixture, { ...settingsFor(fixture.server, dir, { method: 'privateKey', privateKey: fixture.keyRef }), port: proxy.port });
    try {
      assert.ok(await session.stat(dir), 'one request first: the session learns its round trip');
      assert.ok(session.roundTripMs >= 2 * ONE_WAY_DELAY_MS, `round trip ${session.roundTripMs} ms`);
      const remotePath = join(dir, '.large.csv.0000aaaa.part');
      const progress: number[] = [];
      const uploaded = await upload(session, { path: largePath }, remotePath, (bytes) => progress.push(bytes));
      assert.equal(uploaded.streams, UPLOAD_STREAMS, 'every stream carried bytes');
      // Each SFTP channel is a server process of its own: pieces land in the order those processes get to them.
      assert.ok(uploaded.acknowledgedOutOfOrder > 0, 'the server answered pieces out of file order');
      assert.equal(uploaded.bytes, LARGE_FILE_BYTES);
      assert.equal((await stat(remotePath)).size, LARGE_FILE_BYTES);
      const local = await sha256OfFile(largePath);
      assert.equal(uploaded.sha256, local);
      assert.equal(await sha256OfFile(remotePath), local, 'every stream wrote its pieces at their offsets');
      assert.equal(progress.at(-1), LARGE_FILE_BYTES);
    } finally {
      await session.close();
    }
  });

  it('keeps a large upload to a near server on one stream', async () => {
    const dir = await makeRemoteDir(fixture.server, 'near');
    const session = await openSession(fixture, settingsFor(fixture.server, dir, { method: 'privateKey', privateKey: fixture.keyRef }));
    try {
      // The quickest of a few requests is the round trip, even on a busy machine.
      for (let request = 0; request < 3; request++) await session.stat(dir);
      const remotePath = join(dir, '.large.csv.0000bbbb.part');
      const uploaded = await upload(session, { path: largePath }, remotePath, () => undefined);
      assert.equal(uploaded.streams, 1);
      assert.equal(uploaded.acknowledgedOutOfOrder, 0);
      assert.equal(await sha256OfFile(remotePath), await sha256OfFile(largePath));
    } finally {
      await session.close();
    }
  });

  it('delivers a large file exactly once over parallel streams when the connection is cut in the middle and the delivery retried', async () => {
    const dir = await makeRemoteDir(fixture.server, 'cut');
    const cutting = await startTcpProxy({ targetPort: fixture.server.port, delayMs: ONE_WAY_DELAY_MS, cutAfterBytes: CUT_AFTER_BYTES });
    try {
      const request = {
        clientId: 'acme',
        settings: { ...settingsFor(fixture.server, dir, { method: 'privateKey', privateKey: fixture.keyRef }), port: cutting.port },
        localPath: largePath,
        fileName: FILE_NAME,
      };
      await expectError(fixture, deliverFile(request, { env: fixture.env, logger: fixture.log.logger }), SftpTransientError);
      assert.equal(cutting.cuts, 1);
      const leftBehind = await readdir(dir);
      assert.ok(!leftBehind.includes(FILE_NAME), 'nothing under the final name');
      assert.ok(
        leftBehind.every((entry) => entry.startsWith(`.${FILE_NAME}.`) && entry.endsWith('.part')),
        `only temporary files: ${leftBehind.join(', ')}`,
      );

      cutting.cutAfter(null);
      const result = await deliverFile(request, { env: fixture.env, logger: fixture.log.logger });
      const local = await sha256OfFile(largePath);
      assert.equal(result.alreadyPresent, false);
      assert.equal(result.sha256, local);
      assert.deepEqual(await readdir(dir), [FILE_NAME], 'one file, the stale temporary one removed');
      assert.equal(await sha256OfFile(join(dir, FILE_NAME)), local, 'the delivered file is byte for byte the local one');
      const uploads = fixture.log
        .text()
        .split('\n')
        .filter((line) => line.includes('uploaded; size verified') && line.includes(`/cut/.${FILE_NAME}.`))
        .map((line) => JSON.parse(line) as { streams: number });
      assert.deepEqual(
        uploads.map((upload) => upload.streams),
        [UPLOAD_STREAMS],
        'the retry uploaded once, over parallel streams',
      );
    } finally {
      await cutting.close();
    }
  });
});
