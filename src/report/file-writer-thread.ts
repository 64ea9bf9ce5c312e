// Entry of the thread that encodes, hashes and writes a large report file (see hashing-file-writer.ts).
import { createHash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

if (!parentPort) throw new Error('file-writer-thread runs only as a worker thread');
const port = parentPort;
const hash = createHash('sha256');
let bytes = 0;
let fd: number | null = null;

try {
  const { path, mode } = workerData as { path: string; mode: number };
  fd = openSync(path, 'w', mode);
} catch (error) {
  port.postMessage({ type: 'error', message: error instanceof Error ? error.message : String(error) });
}

port.on('message', (message: { type: 'write'; text: string } | { type: 'close' }) => {
  try {
    if (fd === null) return;
    if (message.type === 'write') {
      const chunk = Buffer.from(message.text, 'utf8');
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
