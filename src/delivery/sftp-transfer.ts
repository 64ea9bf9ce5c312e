/**
 * Moving bytes over an SftpSession.
 *
 * Uploads are a streamed put with several WRITE requests in flight, always sent in file
 * order at consecutive offsets, which is what OpenSSH's own `sftp` client does. Unlike
 * ssh2's `fastPut`, which sends chunks in the order its parallel local reads complete (and
 * so out of order, which servers that ignore or mishandle offsets silently turn into a
 * corrupt file), a server that processes requests in arrival order cannot misplace a chunk.
 * ssh2-sftp-client's `put` (ssh2's write stream) waits a round trip per write and is one to
 * two orders of magnitude slower. The bytes are hashed as they are sent.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { SFTPWrapper } from 'ssh2';
import type { SftpSession } from './sftp-session.js';

/** Bytes per WRITE request at most: OpenSSH's largest (its `limits@openssh.com` max-write-length). */
export const UPLOAD_CHUNK_BYTES = 255 * 1024;
/** Bytes of WRITE requests in flight: sshd's 2 MiB channel window; more would only queue in ssh2. */
export const UPLOAD_BYTES_IN_FLIGHT = 2 * 1024 * 1024;
/** ssh2's write limit for servers that announce none (34000-byte packets less its 2 KiB allowance). */
const CONSERVATIVE_WRITE_BYTES = 34_000 - 2 * 1024;
/** Local read size: large reads cost less per byte; each is cut into request-sized pieces. */
const UPLOAD_READ_BYTES = 1024 * 1024;
/** READ request size and requests in flight when hashing a remote file. */
const DOWNLOAD_CHUNK_BYTES = 255 * 1024;
const DOWNLOAD_REQUESTS_IN_FLIGHT = 8;

/** What to upload: a local file or bytes in memory. */
export type UploadSource = { readonly path: string } | { readonly bytes: Buffer };

function sourceStream(source: UploadSource): Readable {
  return 'path' in source ? createReadStream(source.path, { highWaterMark: UPLOAD_READ_BYTES }) : Readable.from([source.bytes], { objectMode: false });
}

function openForWrite(sftp: SFTPWrapper, path: string): Promise<Buffer> {
  // 'wx': the temporary name is new for each attempt; finding it taken means something is wrong.
  return new Promise((resolve, reject) => sftp.open(path, 'wx', (error, handle) => (error ? reject(error) : resolve(handle))));
}

function closeHandle(sftp: SFTPWrapper, handle: Buffer): Promise<void> {
  return new Promise((resolve, reject) => sftp.close(handle, (error) => (error ? reject(error) : resolve())));
}

/**
 * The largest WRITE the server takes in one request. ssh2 splits a larger write into requests
 * it sends one after another, which would interleave with the other writes in flight and break
 * file order; so pieces are cut to its limit (negotiated, but missing from its typings).
 * `_maxWriteLen` is private to ssh2 1.17.0, the exact version this depends on (see ssh2-socket-patch.ts).
 */
function writeRequestBytes(sftp: SFTPWrapper): number {
  const negotiated = (sftp as unknown as { _maxWriteLen?: unknown })._maxWriteLen;
  return typeof negotiated === 'number' && negotiated > 0 ? Math.min(negotiated, UPLOAD_CHUNK_BYTES) : CONSERVATIVE_WRITE_BYTES;
}

/** Splits a stream's chunks into WRITE-request-sized pieces. */
function* requestSized(chunk: Buffer, pieceBytes: number): Generator<Buffer> {
  for (let offset = 0; offset < chunk.length; offset += pieceBytes) yield chunk.subarray(offset, offset + pieceBytes);
}

/** Keeps up to `limit` WRITE requests in flight and remembers the first failure. */
class WriteWindow {
  private inFlight = 0;
  private failure: unknown = null;
  private wake: (() => void) | null = null;
  acknowledged = 0;

  constructor(
    private readonly limit: number,
    private readonly onAcknowledged: (bytes: number) => void,
  ) {}

  async send(write: (done: (error: unknown) => void) => void, length: number): Promise<void> {
    while (this.inFlight >= this.limit && this.failure === null) await new Promise<void>((resolve) => (this.wake = resolve));
    this.throwIfFailed();
    this.inFlight += 1;
    write((error) => {
      this.inFlight -= 1;
      if (error && this.failure === null) this.failure = error;
      if (!error) {
        this.acknowledged += length;
        this.onAcknowledged(this.acknowledged);
      }
      const wake = this.wake;
      this.wake = null;
      wake?.();
    });
  }

  async drain(): Promise<void> {
    while (this.inFlight > 0 && this.failure === null) await new Promise<void>((resolve) => (this.wake = resolve));
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure !== null) throw this.failure;
  }
}

export interface Uploaded {
  /** Bytes the server acknowledged. */
  readonly bytes: number;
  /** sha256 of the bytes sent, hashed as they went (no second pass over a large file). */
  readonly sha256: string;
}

/**
 * Uploads `source` to a new remote file at `remotePath`. `onBytes` gets the running total
 * after every acknowledged request.
 */
export async function upload(session: SftpSession, source: UploadSource, remotePath: string, onBytes: (bytes: number) => void): Promise<Uploaded> {
  return session.run('upload', remotePath, async (sftp, kick) => {
    const hash = createHash('sha256');
    const handle = await openForWrite(sftp, remotePath);
    kick();
    const pieceBytes = writeRequestBytes(sftp);
    const window = new WriteWindow(Math.ceil(UPLOAD_BYTES_IN_FLIGHT / pieceBytes), (bytes) => {
      kick();
      onBytes(bytes);
    });
    let offset = 0;
    for await (const chunk of sourceStream(source) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      for (const piece of requestSized(chunk, pieceBytes)) {
        const position = offset;
        offset += piece.length;
        await window.send((done) => sftp.write(handle, piece, 0, piece.length, position, done), piece.length);
      }
    }
    await window.drain();
    // Servers may report a failed write only on close. A failed upload's handle goes with its connection.
    await closeHandle(sftp, handle);
    return { bytes: window.acknowledged, sha256: hash.digest('hex') };
  });
}

export interface RemoteDigest {
  readonly bytes: number;
  readonly sha256: string;
  /** sha256 of the gunzipped content, when asked for and the file is gzip; else null. */
  readonly contentSha256: string | null;
}

function openForRead(sftp: SFTPWrapper, path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => sftp.open(path, 'r', (error, handle) => (error ? reject(error) : resolve(handle))));
}

function sizeOf(sftp: SFTPWrapper, handle: Buffer): Promise<number> {
  return new Promise((resolve, reject) => sftp.fstat(handle, (error, stats) => (error ? reject(error) : resolve(stats.size))));
}

/** Reads `length` bytes at `position`, following short reads; fewer bytes only at the end of the file. */
function readAt(sftp: SFTPWrapper, handle: Buffer, position: number, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const buffer = Buffer.allocUnsafe(length);
    const readFrom = (filled: number) => {
      sftp.read(handle, buffer, filled, length - filled, position + filled, (error, bytesRead) => {
        if (error) return reject(error);
        const total = filled + bytesRead;
        if (bytesRead === 0 || total === length) return resolve(buffer.subarray(0, total));
        readFrom(total);
      });
    };
    readFrom(0);
  });
}

/**
 * The chunks of a remote file in order, with several READ requests in flight: one request at
 * a time (ssh2's read stream) waits a round trip per chunk, which on a real network (and
 * with Nagle's delays on loopback) is a hundred times slower.
 */
async function* remoteChunks(sftp: SFTPWrapper, handle: Buffer, size: number): AsyncGenerator<Buffer> {
  const pending: Promise<Buffer>[] = [];
  let offset = 0;
  const request = () => {
    const read = readAt(sftp, handle, offset, Math.min(DOWNLOAD_CHUNK_BYTES, size - offset));
    // Awaited in order below; this only keeps a later failure from counting as unhandled meanwhile.
    read.catch(() => undefined);
    pending.push(read);
    offset += DOWNLOAD_CHUNK_BYTES;
  };
  while (offset < size && pending.length < DOWNLOAD_REQUESTS_IN_FLIGHT) request();
  for (let next = pending.shift(); next; next = pending.shift()) {
    const chunk = await next;
    if (offset < size) request();
    yield chunk;
  }
}

/** Hashes what gunzip makes of the bytes written to it; a stream that is not gzip yields null, not an error. */
class GunzippedDigest {
  private readonly gunzip = createGunzip();
  private readonly hash = createHash('sha256');
  private failed = false;
  private readonly ended: Promise<void>;

  constructor() {
    this.gunzip.on('data', (chunk: Buffer) => this.hash.update(chunk));
    this.ended = new Promise((resolve) => {
      this.gunzip.once('end', resolve);
      this.gunzip.once('error', () => {
        this.failed = true;
        resolve();
      });
    });
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.failed || this.gunzip.write(chunk)) return;
    await Promise.race([once(this.gunzip, 'drain'), this.ended]);
  }

  async end(): Promise<string | null> {
    if (!this.failed) this.gunzip.end();
    await this.ended;
    return this.failed ? null : this.hash.digest('hex');
  }
}

/** Downloads and hashes a remote file (the rare path: is the file already standing there ours?). */
export async function hashRemoteFile(
  session: SftpSession,
  remotePath: string,
  options: { gunzip: boolean; onBytes: (bytes: number) => void },
): Promise<RemoteDigest> {
  return session.run('read', remotePath, async (sftp, kick) => {
    const handle = await openForRead(sftp, remotePath);
    const size = await sizeOf(sftp, handle);
    const hash = createHash('sha256');
    const content = options.gunzip ? new GunzippedDigest() : null;
    let bytes = 0;
    for await (const chunk of remoteChunks(sftp, handle, size)) {
      hash.update(chunk);
      bytes += chunk.length;
      kick();
      options.onBytes(bytes);
      await content?.write(chunk);
    }
    await closeHandle(sftp, handle);
    return { bytes, sha256: hash.digest('hex'), contentSha256: content ? await content.end() : null };
  });
}
