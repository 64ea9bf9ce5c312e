/** The local side of a delivery: the bytes to send, their size and sha256, gzip when asked. */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { WORK_FILE_MODE } from '../report/work-folder.js';

/** zlib's default level; fixed here because the gzip bytes must be reproducible for an unchanged file. */
export const GZIP_LEVEL = 6;
const READ_CHUNK_BYTES = 1024 * 1024;
const GZIP_TEMPORARY_ID_BYTES = 4;

/** `.<name>.gz.<8 hex>.tmp` next to the CSV: hidden, and unique, so a parallel attempt on the same host never shares it. */
function gzipTemporaryName(fileName: string): string {
  return `.${fileName}.gz.${randomBytes(GZIP_TEMPORARY_ID_BYTES).toString('hex')}.tmp`;
}

/** Whether `entry` is a gzip temporary file made from the CSV `fileName` (one a crash or a cancelled attempt may leave). */
export function isGzipTemporaryOf(entry: string, fileName: string): boolean {
  const prefix = `.${fileName}.gz.`;
  return entry.startsWith(prefix) && new RegExp(`^[0-9a-f]{${GZIP_TEMPORARY_ID_BYTES * 2}}\\.tmp$`).test(entry.slice(prefix.length));
}

export interface LocalFile {
  /** The file to upload (the CSV itself, or its gzip next to it). */
  readonly path: string;
  /** Its name on the server. */
  readonly name: string;
  readonly bytes: number;
  /** Known for gzip (hashed while compressing); for a plain CSV the upload hashes it on the way. */
  readonly sha256: string | null;
  /** sha256 of the CSV before compression (gzip only). */
  readonly contentSha256: string | null;
  readonly gzip: boolean;
  /** Removes what was made for the delivery (the gzip file); leaves the CSV alone. */
  dispose(): Promise<void>;
}

/** A pass-through stream that counts and hashes what flows through it. */
function digestTap(onBytes?: (bytes: number) => void): { tap: Transform; result: () => { bytes: number; sha256: string } } {
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      onBytes?.(bytes);
      callback(null, chunk);
    },
  });
  return { tap, result: () => ({ bytes, sha256: hash.digest('hex') }) };
}

function discard(): Writable {
  return new Writable({ write: (_chunk, _encoding, callback) => callback() });
}

export interface PrepareOptions {
  readonly gzip: boolean;
  readonly signal: AbortSignal | undefined;
  /** Called with the bytes of the CSV read so far (hashing or compressing a large file takes a while). */
  readonly onBytes: (bytes: number) => void;
}

/** sha256 and size of a local file. */
export async function hashLocalFile(path: string, options: Omit<PrepareOptions, 'gzip'>): Promise<{ bytes: number; sha256: string }> {
  const digest = digestTap(options.onBytes);
  await pipeline(createReadStream(path, { highWaterMark: READ_CHUNK_BYTES }), digest.tap, discard(), { signal: options.signal });
  return digest.result();
}

/** The CSV as it is, or compressed deterministically into a temporary file next to it (gzip mtime is 0). */
export async function prepareLocalFile(localPath: string, fileName: string, options: PrepareOptions): Promise<LocalFile> {
  if (!options.gzip) {
    const { size } = await stat(localPath);
    return { path: localPath, name: fileName, bytes: size, sha256: null, contentSha256: null, gzip: false, dispose: async () => undefined };
  }
  const content = digestTap(options.onBytes);
  const name = `${fileName}.gz`;
  const path = join(dirname(localPath), gzipTemporaryName(fileName));
  const compressed = digestTap();
  try {
    await pipeline(
      createReadStream(localPath, { highWaterMark: READ_CHUNK_BYTES }),
      content.tap,
      createGzip({ level: GZIP_LEVEL }),
      compressed.tap,
      createWriteStream(path, { flags: 'wx', mode: WORK_FILE_MODE }),
      { signal: options.signal },
    );
  } catch (error) {
    await rm(path, { force: true });
    throw error;
  }
  const { bytes, sha256 } = compressed.result();
  return { path, name, bytes, sha256, contentSha256: content.result().sha256, gzip: true, dispose: () => rm(path, { force: true }) };
}
