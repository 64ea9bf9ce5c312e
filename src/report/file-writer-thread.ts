// Entry of the thread that hashes and writes a large report file (see hashing-file-writer.ts).
import { createHash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

if (!parentPort) throw new Error('file-writer-thread runs only as a worker thread');
const port = parentPort;
const hash = createHash('sha256');
let bytes = 0;
let fd: number | null = null;

try {
  fd = openSync((workerData as { path: string }).path, 'w');
} catch (error) {
  port.postMessage({ type: 'error', message: error instanceof Error ? error.message : String(error) });
}

port.on('message', (message: { type: 'write'; bytes: Uint8Array } | { type: 'close' }) => {
  try {
    if (fd === null) return;
    if (message.type === 'write') {
      const chunk = message.bytes;
      hash.update(chunk);
      bytes += chunk.length;
      for (let written = 0; written < chunk.length;) written += writeSync(fd, chunk, written);
      port.postMessage({ type: 'written' });
    } else {
      closeSync(fd);
      fd = null;
      port.postMessage({ type: 'closed', bytes, sha256: hash.digest('hex') });
    }
  } catch (error) {
    port.postMessage({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  }
});
