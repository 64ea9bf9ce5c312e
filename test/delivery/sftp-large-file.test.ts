import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import { deliverFile } from '../../src/delivery/sftp-delivery.js';
import { makeRemoteDir, settingsFor, sha256OfFile, startFixture, type Fixture } from './sftp-fixture.js';

const LARGE_FILE_BYTES = 320 * 1024 * 1024;
const GENERATOR_CHUNK_BYTES = 1024 * 1024;

/** Writes `bytes` of random data chunk by chunk: the file never sits in memory. */
async function writeRandomFile(path: string, bytes: number): Promise<void> {
  async function* chunks() {
    for (let written = 0; written < bytes; written += GENERATOR_CHUNK_BYTES) yield randomBytes(Math.min(GENERATOR_CHUNK_BYTES, bytes - written));
  }
  await pipeline(Readable.from(chunks()), createWriteStream(path));
}

describe('deliverFile with a large file', () => {
  let fixture: Fixture;
  let localPath: string;

  before(async () => {
    fixture = await startFixture('delivery-large');
    localPath = join(fixture.localDir, 'large.csv');
    await writeRandomFile(localPath, LARGE_FILE_BYTES);
  });

  after(async () => {
    await rm(localPath, { force: true });
    await fixture.dispose();
  });

  it(`delivers ${LARGE_FILE_BYTES / 1024 / 1024} MiB whose copy on the server hashes like the local file`, async (t) => {
    const dir = await makeRemoteDir(fixture.server, 'large');
    const progress: number[] = [];
    const settings = settingsFor(fixture.server, dir, { method: 'privateKey', privateKey: fixture.keyRef });
    const started = Date.now();
    const result = await deliverFile(
      { clientId: 'acme', settings, localPath, fileName: 'twoway_activity_acme_monthly_20261101.csv' },
      { env: fixture.env, logger: fixture.log.logger, onProgress: (bytes) => progress.push(bytes) },
    );
    const seconds = (Date.now() - started) / 1000;
    t.diagnostic(`delivered ${LARGE_FILE_BYTES / 1e6} MB in ${seconds.toFixed(2)} s (${(LARGE_FILE_BYTES / 1e6 / seconds).toFixed(0)} MB/s)`);
    try {
      const local = await sha256OfFile(localPath);
      assert.equal(result.bytes, LARGE_FILE_BYTES);
      assert.equal(result.sha256, local);
      assert.equal(await sha256OfFile(result.remotePath), local, 'the file sshd wrote is byte for byte the local one');
      assert.ok(progress.length >= 1);
      assert.ok(progress.every((bytes, i) => bytes <= LARGE_FILE_BYTES && (i === 0 || bytes > (progress[i - 1] ?? 0))));

      // A rerun reads the delivered file back to compare it: that has to be quick too.
      const rerunStarted = Date.now();
      const again = await deliverFile(
        { clientId: 'acme', settings, localPath, fileName: 'twoway_activity_acme_monthly_20261101.csv' },
        { env: fixture.env, logger: fixture.log.logger },
      );
      t.diagnostic(`compared with the delivered copy in ${((Date.now() - rerunStarted) / 1000).toFixed(2)} s`);
      assert.equal(again.alreadyPresent, true);
      assert.equal(again.sha256, local);
    } finally {
      await rm(result.remotePath, { force: true });
    }
  });
});
