import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';
import { waitUntil } from './wait.js';

const ONE_WAY_DELAY_MS = 30;
const RATE_BYTES_PER_SECOND = 4_000_000;
const THROTTLED_BYTES = 1_000_000;
/** Two ticks' worth of the rate may pass as a burst (tcp-proxy.ts). */
const BURST_BYTES = (RATE_BYTES_PER_SECOND * 2 * 20) / 1000;

/** An echo server that ends its side when the client ends its. */
async function startEchoServer(): Promise<{ server: Server; port: number }> {
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('data', (data: Buffer) => socket.write(data));
    socket.on('end', () => socket.end());
    socket.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('the echo server has no port');
  return { server, port: address.port };
}

async function connectTo(port: number): Promise<{ socket: Socket; received: () => Buffer }> {
  const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  const chunks: Buffer[] = [];
  socket.on('data', (data: Buffer) => chunks.push(data));
  await once(socket, 'connect');
  return { socket, received: () => Buffer.concat(chunks) };
}

describe('the test TCP proxy', () => {
  let echo: { server: Server; port: number };

  before(async () => {
    echo = await startEchoServer();
  });

  after(() => {
    echo.server.close();
  });

  it('holds every chunk the one-way delay in each direction, so each exchange takes a round trip', async () => {
    const proxy: TcpProxy = await startTcpProxy({ targetPort: echo.port, delayMs: ONE_WAY_DELAY_MS });
    const { socket, received } = await connectTo(proxy.port);
    try {
      for (let exchange = 1; exchange <= 3; exchange++) {
        const message = Buffer.from(`ping ${exchange}\n`);
        const expected = received().length + message.length;
        const sent = performance.now();
        socket.write(message);
        await waitUntil(() => received().length >= expected, { timeoutMs: 5_000, intervalMs: 1, what: `echo ${exchange}` });
        const roundTripMs = performance.now() - sent;
        assert.ok(roundTripMs >= 2 * ONE_WAY_DELAY_MS - 1, `exchange ${exchange} took ${roundTripMs.toFixed(1)} ms; two delays are ${2 * ONE_WAY_DELAY_MS} ms`);
      }
    } finally {
      socket.destroy();
      await proxy.close();
    }
  });

  it('keeps the order of the chunks it delays, and forwards the end of the stream after them', async () => {
    const proxy = await startTcpProxy({ targetPort: echo.port, delayMs: ONE_WAY_DELAY_MS });
    const { socket, received } = await connectTo(proxy.port);
    try {
      const sent: Buffer[] = [];
      for (let chunk = 0; chunk < 200; chunk++) {
        const data = randomBytes(1 + (chunk % 7) * 1000);
        sent.push(data);
        socket.write(data);
        // Separate turns of the event loop, so the proxy sees separate chunks with separate due times.
        if (chunk % 10 === 0) await nextTurn();
      }
      socket.end();
      await once(socket, 'end');
      assert.ok(received().equals(Buffer.concat(sent)), 'the echo holds every byte sent, in order');
    } finally {
      socket.destroy();
      await proxy.close();
    }
  });

  it('lets a throttled link carry no more than its rate after the first burst', async () => {
    const proxy = await startTcpProxy({ targetPort: echo.port, bytesPerSecond: RATE_BYTES_PER_SECOND });
    const { socket, received } = await connectTo(proxy.port);
    try {
      const data = randomBytes(THROTTLED_BYTES);
      const started = performance.now();
      socket.write(data);
      await waitUntil(() => received().length >= data.length, { timeoutMs: 10_000, intervalMs: 5, what: 'the echo of the whole buffer' });
      const seconds = (performance.now() - started) / 1000;
      const fastest = (THROTTLED_BYTES - BURST_BYTES) / RATE_BYTES_PER_SECOND;
      assert.ok(
        seconds >= fastest * 0.95,
        `${THROTTLED_BYTES} bytes at ${RATE_BYTES_PER_SECOND} B/s took ${seconds.toFixed(3)} s; at least ${fastest.toFixed(3)} s`,
      );
      assert.ok(received().equals(data));
    } finally {
      socket.destroy();
      await proxy.close();
    }
  });

  it("delays and throttles at once (as on the benchmark's capped link): the first bytes back take a round trip, all of them the rate and a round trip", async () => {
    const proxy = await startTcpProxy({ targetPort: echo.port, delayMs: ONE_WAY_DELAY_MS, bytesPerSecond: RATE_BYTES_PER_SECOND });
    const { socket, received } = await connectTo(proxy.port);
    try {
      const data = randomBytes(THROTTLED_BYTES);
      const started = performance.now();
      socket.write(data);
      await waitUntil(() => received().length > 0, { timeoutMs: 5_000, intervalMs: 1, what: 'the first bytes of the echo' });
      const firstMs = performance.now() - started;
      await waitUntil(() => received().length >= data.length, { timeoutMs: 10_000, intervalMs: 5, what: 'the echo of the whole buffer' });
      const seconds = (performance.now() - started) / 1000;
      const fastest = ((THROTTLED_BYTES - BURST_BYTES) / RATE_BYTES_PER_SECOND) * 0.95 + (2 * ONE_WAY_DELAY_MS) / 1000;
      assert.ok(firstMs >= 2 * ONE_WAY_DELAY_MS - 1, `the first bytes came back after ${firstMs.toFixed(1)} ms; two delays are ${2 * ONE_WAY_DELAY_MS} ms`);
      assert.ok(seconds >= fastest, `${THROTTLED_BYTES} bytes took ${seconds.toFixed(3)} s; at least ${fastest.toFixed(3)} s`);
      assert.ok(received().equals(data));
    } finally {
      socket.destroy();
      await proxy.close();
    }
  });

  it('refuses a delay that is not a number of milliseconds', async () => {
    await assert.rejects(startTcpProxy({ targetPort: echo.port, delayMs: -1 }), { message: 'delay is -1; allowed: a number of milliseconds ≥ 0' });
  });
});
