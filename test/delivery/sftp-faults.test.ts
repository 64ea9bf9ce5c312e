import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deliverFile, type DeliveryOptions, type DeliveryRequest } from '../../src/delivery/sftp-delivery.js';
import { END_TIMEOUT_MS, SftpSession } from '../../src/delivery/sftp-session.js';
import { NON_RETRYABLE_ERROR_TYPES, SftpTransientError } from '../../src/domain/errors.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { waitUntil } from '../support/wait.js';
import {
  assertNoSecrets,
  expectError,
  makeRemoteDir,
  privateKeySecrets,
  settingsFor,
  sha256OfFile,
  startFixture,
  writeLocalFile,
  type Fixture,
} from './sftp-fixture.js';

const FILE_NAME = 'twoway_activity_acme_daily_20261124.csv';
const UPLOAD_BYTES = 16 * 1024 * 1024;
const CUT_AFTER_BYTES = 4 * 1024 * 1024;
const RETRY_WINDOW_MS = 60_000;
const RETRY_BACKOFF_MS = 200;

/** A TCP server on loopback that does something unhelpful with every connection. */
async function startRudeServer(onConnection: (socket: Socket) => void): Promise<{ port: number; server: Server; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return { port: address.port, server, sockets };
}

async function stopRudeServer(rude: { server: Server; sockets: Set<Socket> }): Promise<void> {
  for (const socket of rude.sockets) socket.destroy();
  await new Promise<void>((resolve) => rude.server.close(() => resolve()));
}

describe('deliverFile when the network or the server fails', () => {
  let fixture: Fixture;
  let bigPath: string;

  before(async () => {
    fixture = await startFixture('delivery-faults');
    bigPath = await writeLocalFile(fixture, 'big.csv', randomBytes(UPLOAD_BYTES));
  });

  after(async () => {
    await fixture.dispose();
  });

  const request = (remoteDir: string, port = fixture.server.port): DeliveryRequest => ({
    clientId: 'acme',
    settings: { ...settingsFor(fixture.server, remoteDir, { method: 'password', password: fixture.passwordRef }), port },
    localPath: bigPath,
    fileName: FILE_NAME,
  });
  const options = (extra: Partial<DeliveryOptions> = {}): DeliveryOptions => ({ env: fixture.env, logger: fixture.log.logger, ...extra });

  /** What the workflow's retry policy does, in small: retry SftpTransientError with a pause, up to a deadline. */
  function deliverWithRetries(req: DeliveryRequest, opts: DeliveryOptions) {
    return waitUntil(
      async () => {
        try {
          return await deliverFile(req, opts);
        } catch (error) {
          fixture.errors.push(error);
          if (!(error instanceof SftpTransientError)) throw error;
          return null;
        }
      },
      {
        timeoutMs: RETRY_WINDOW_MS,
        intervalMs: RETRY_BACKOFF_MS,
        what: () => `a delivery without SftpTransientError; the last: ${String(fixture.errors.at(-1))}`,
      },
    );
  }

  it('fails with a retryable SftpTransientError while the server is down, and delivers once it is back', async () => {
    const dir = await makeRemoteDir(fixture.server, 'down-and-back');
    await fixture.server.stop();
    try {
      const error = await expectError(fixture, deliverFile(request(dir), options()), SftpTransientError);
      assert.ok(!NON_RETRYABLE_ERROR_TYPES.includes(error.name));
      assert.equal(error.operation, 'connect');
      assert.match(error.message, /ECONNREFUSED/);
    } finally {
      await fixture.server.start();
    }
    const result = await deliverWithRetries(request(dir), options());
    assert.equal(result.sha256, await sha256OfFile(bigPath));
    assert.equal(await sha256OfFile(result.remotePath), result.sha256);
  });

  it('leaves no partial file under the final name when the connection is cut mid-upload, and succeeds on retry', async () => {
    const dir = await makeRemoteDir(fixture.server, 'cut');
    const proxy: TcpProxy = await startTcpProxy({ targetPort: fixture.server.port, cutAfterBytes: CUT_AFTER_BYTES });
    try {
      const error = await expectError(fixture, deliverFile(request(dir, proxy.port), options()), SftpTransientError);
      assert.ok(!NON_RETRYABLE_ERROR_TYPES.includes(error.name));
      assert.equal(proxy.cuts, 1);
      const leftBehind = await readdir(dir);
      assert.ok(!leftBehind.includes(FILE_NAME), 'nothing under the final name');
      assert.ok(
        leftBehind.every((entry) => entry.startsWith(`.${FILE_NAME}.`) && entry.endsWith('.part')),
        `only a temporary file: ${leftBehind.join(', ')}`,
      );

      proxy.cutAfter(null);
      const result = await deliverWithRetries(request(dir, proxy.port), options());
      assert.equal(proxy.connections, 2);
      assert.equal(result.alreadyPresent, false);
      assert.deepEqual(await readdir(dir), [FILE_NAME], 'the stale temporary file is gone');
      assert.equal(await sha256OfFile(join(dir, FILE_NAME)), await sha256OfFile(bigPath));
    } finally {
      await proxy.close();
    }
  });

  it('gives up on an upload that stops making progress after the operation timeout', async () => {
    const dir = await makeRemoteDir(fixture.server, 'stall');
    const proxy = await startTcpProxy({ targetPort: fixture.server.port });
    proxy.stallAfter(CUT_AFTER_BYTES);
    const operationTimeoutMs = 1_000;
    const started = Date.now();
    try {
      const error = await expectError(fixture, deliverFile(request(dir, proxy.port), options({ operationTimeoutMs })), SftpTransientError);
      assert.match(error.message, /no answer within 1000 ms/);
      assert.ok(Date.now() - started < operationTimeoutMs + 5_000);
      assert.ok(!(await readdir(dir)).includes(FILE_NAME));
    } finally {
      await proxy.close();
    }
  });

  it('ends a connection whose server went silent after END_TIMEOUT_MS instead of waiting for it', async () => {
    const proxy = await startTcpProxy({ targetPort: fixture.server.port });
    try {
      const { settings } = request(fixture.server.rootDir, proxy.port);
      const session = await SftpSession.open(
        { clientId: 'acme', settings },
        { method: 'password', password: fixture.server.password },
        {
          connectTimeoutMs: 5_000,
          operationTimeoutMs: 5_000,
          signal: undefined,
          logger: fixture.log.logger,
        },
      );
      assert.ok(await session.stat(fixture.server.rootDir));
      proxy.stallAfter(0);
      const started = Date.now();
      await session.close();
      const took = Date.now() - started;
      assert.ok(took >= END_TIMEOUT_MS - 50 && took < END_TIMEOUT_MS + 1_000, `close took ${took} ms`);
    } finally {
      await proxy.close();
    }
  });

  it('times out connecting to a server that accepts but never speaks SSH', async () => {
    const silent = await startRudeServer(() => undefined);
    const connectTimeoutMs = 500;
    const started = Date.now();
    try {
      const error = await expectError(fixture, deliverFile(request('/unused', silent.port), options({ connectTimeoutMs })), SftpTransientError);
      assert.equal(error.operation, 'connect');
      assert.ok(Date.now() - started < connectTimeoutMs + 3_000);
    } finally {
      await stopRudeServer(silent);
    }
  });

  it('treats a server that hangs up at once (busy, overloaded) as transient', async () => {
    const hangUp = await startRudeServer((socket) => socket.destroy());
    try {
      const error = await expectError(fixture, deliverFile(request('/unused', hangUp.port), options()), SftpTransientError);
      assert.equal(error.operation, 'connect');
    } finally {
      await stopRudeServer(hangUp);
    }
  });

  it('treats a server that reports "too many connections" during the handshake as transient', async () => {
    // sshd's MaxStartups refusal: a banner-less close or a disconnect message; here the banner, then a hang-up.
    const busy = await startRudeServer((socket) => socket.end('SSH-2.0-OpenSSH_9.2 busy\r\n'));
    try {
      await expectError(fixture, deliverFile(request('/unused', busy.port), options()), SftpTransientError);
    } finally {
      await stopRudeServer(busy);
    }
  });

  it('shows no secret in any log line or error', () => {
    assert.ok(fixture.errors.length >= 6);
    assertNoSecrets(fixture, [fixture.server.password, ...privateKeySecrets(fixture.server.userKeyPath)]);
  });
});
