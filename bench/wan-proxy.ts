/**
 * The WAN section's latency proxy as a process of its own, so that its timers never wait
 * behind the event loop of the delivery being measured (ours runs in the benchmark's process;
 * OpenSSH's client in processes of its own), and both clients go through the same kind of link.
 *
 * usage: node dist/bench/wan-proxy.js --target-port N --delay-ms MS [--bytes-per-second N]
 * Prints `{"port":N}` on one line once it listens; ends when its stdin closes (the benchmark ends it that way, or by exiting).
 */
import { parseArgs } from 'node:util';
import { startTcpProxy } from '../test/support/tcp-proxy.js';

const { values } = parseArgs({
  options: { 'target-port': { type: 'string' }, 'delay-ms': { type: 'string' }, 'bytes-per-second': { type: 'string' } },
  strict: true,
});
const rate = values['bytes-per-second'];
const proxy = await startTcpProxy({
  targetPort: Number(values['target-port']),
  delayMs: Number(values['delay-ms'] ?? 0),
  bytesPerSecond: rate === undefined ? null : Number(rate),
});
process.stdout.write(`${JSON.stringify({ port: proxy.port })}\n`);
process.stdin.resume();
process.stdin.once('end', () => void proxy.close().finally(() => process.exit(0)));
