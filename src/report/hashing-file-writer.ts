import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';

const THREAD_ENTRY = new URL('./file-writer-thread.js', import.meta.url);
/** Bytes handed to the thread and not yet written: a few MB of memory at most. */
const MAX_BYTES_IN_FLIGHT = 4 * 1024 * 1024;
/** The thread holds only the few texts in flight: a small heap keeps the process's memory flat. */
const THREAD_RESOURCE_LIMITS = { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 16 };
/** Files up to this many bytes are kept in memory and written at once: a thread would cost more than it saves. */
const THREAD_AFTER_BYTES = 4 * 1024 * 1024;

export interface WrittenFile {
  readonly bytes: number;
  /** Lower-case hex SHA-256 of the file's bytes. */
  readonly sha256: string;
}

type ThreadMessage = { type: 'written' } | ({ type: 'closed' } & WrittenFile) | { type: 'error'; message: string };

/** The thread of a large file: it hashes and writes while the caller produces the next records. */
class WriterThread {
  private readonly worker: Worker;
  /** Sizes of the pieces handed over and not yet written, oldest first. */
  private readonly inFlight: number[] = [];
  private inFlightBytes = 0;
  private failure: Error | null = null;
  private readonly waiters: Array<() => void> = [];
  private closing: { resolve: (file: WrittenFile) => void; reject: (error: Error) => void } | null = null;

  constructor(path: string) {
    this.worker = new Worker(THREAD_ENTRY, { workerData: { path }, resourceLimits: THREAD_RESOURCE_LIMITS });
    this.worker.on('message', (message: ThreadMessage) => this.receive(message));
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => this.fail(new Error(`the report file writer thread stopped early with exit code ${code}`)));
  }

  async write(bytes: Uint8Array): Promise<void> {
    while (this.inFlightBytes >= MAX_BYTES_IN_FLIGHT && !this.failure) await new Promise<void>((resolve) => this.waiters.push(resolve));
    if (this.failure) throw this.failure;
    this.inFlight.push(bytes.length);
    this.inFlightBytes += bytes.length;
    // Posting copies the bytes: the caller may reuse its buffer.
    this.worker.postMessage({ type: 'write', bytes });
  }

  async close(): Promise<WrittenFile> {
    try {
      if (this.failure) throw this.failure;
      const closed = new Promise<WrittenFile>((resolve, reject) => {
        this.closing = { resolve, reject };
      });
      this.worker.postMessage({ type: 'close' });
      return await closed;
    } finally {
      await this.worker.terminate();
    }
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }

  private receive(message: ThreadMessage): void {
    if (message.type === 'written') {
      this.inFlightBytes -= this.inFlight.shift() ?? 0;
      this.waiters.shift()?.();
    } else if (message.type === 'closed') {
      const closing = this.closing;
      this.closing = null;
      closing?.resolve({ bytes: message.bytes, sha256: message.sha256 });
    } else {
      this.fail(new Error(`writing the report file failed: ${message.message}`));
    }
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const wake of this.waiters.splice(0)) wake();
    this.closing?.reject(this.failure);
    this.closing = null;
    // Nothing more can be written; a thread left running would keep the process alive.
    void this.worker.terminate();
  }
}

/**
 * Writes bytes to a file and returns the file's size and SHA-256. A small file is kept in
 * memory and written at once on close; a large one goes to a thread of its own after its
 * first few MB, so hashing and writing overlap with producing the next records.
 */
export class HashingFileWriter {
  private buffered: Uint8Array[] = [];
  private bufferedBytes = 0;
  private thread: WriterThread | null = null;

  constructor(private readonly path: string) {}

  /** Appends bytes to the file; the caller may reuse `bytes` once this returns. */
  async write(bytes: Uint8Array): Promise<void> {
    if (this.thread) return this.thread.write(bytes);
    this.buffered.push(Buffer.from(bytes));
    this.bufferedBytes += bytes.length;
    if (this.bufferedBytes < THREAD_AFTER_BYTES) return;
    this.thread = new WriterThread(this.path);
    await this.thread.write(Buffer.concat(this.buffered.splice(0)));
  }

  async close(): Promise<WrittenFile> {
    if (this.thread) return this.thread.close();
    const bytes = Buffer.concat(this.buffered.splice(0));
    await writeFile(this.path, bytes);
    return { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  }

  /** Stops without finishing the file (the caller removes it). */
  async abort(): Promise<void> {
    this.buffered = [];
    await this.thread?.terminate();
  }
}
