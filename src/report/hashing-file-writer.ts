import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { WORK_FILE_MODE } from './work-folder.js';

export interface WrittenFile {
  readonly bytes: number;
  /** Lower-case hex SHA-256 of the file's bytes. */
  readonly sha256: string;
}

/**
 * Writes bytes to a file as they come and returns the file's size and SHA-256. Each piece is
 * hashed and written before write() resolves, so the caller may reuse its buffer and memory
 * holds nothing but the piece at hand. (A writer thread, needed while the records were text to
 * encode, cost memory once they were bytes: each piece copied into the thread's heap, freed
 * only by that heap's garbage collector; render's 5M-row peak RSS went over 200 MB with it.)
 */
export class HashingFileWriter {
  private readonly hash = createHash('sha256');
  private bytes = 0;
  private handle: Promise<FileHandle> | null = null;

  constructor(private readonly path: string) {}

  /** Appends bytes to the file; the caller may reuse `bytes` once this resolves. */
  async write(bytes: Uint8Array): Promise<void> {
    const handle = await this.open();
    this.hash.update(bytes);
    this.bytes += bytes.length;
    for (let written = 0; written < bytes.length;) written += (await handle.write(bytes, written)).bytesWritten;
  }

  async close(): Promise<WrittenFile> {
    const handle = await this.open();
    this.handle = null;
    await handle.close();
    return { bytes: this.bytes, sha256: this.hash.digest('hex') };
  }

  /** Stops without finishing the file (the caller removes it). */
  async abort(): Promise<void> {
    const handle = this.handle;
    this.handle = null;
    await (await handle?.catch(() => null))?.close();
  }

  private open(): Promise<FileHandle> {
    this.handle ??= open(this.path, 'w', WORK_FILE_MODE);
    return this.handle;
  }
}
