/**
 * Moving bytes over an SftpSession.
 *
 * Uploads are a streamed put with several WRITE requests in flight, always sent in file
 * order at consecutive offsets, which is what OpenSSH's own `sftp` client does. Unlike
 * ssh2's `fastPut`, which sends chunks in the order its parallel local reads complete (and
 * so out of order, which servers that ignore or mishandle offsets silently turn into a
 * corrupt file), a server that processes requests in arrival order cannot misplace a chunk.
 * ssh2-sftp-client's `put` (ssh2's write stream) waits a round trip per write and is one to
 * two orders of magnitude slower. The bytes are hashed as they are sent. The one exception to
 * file order is a large upload to a far OpenSSH server, over parallel streams (see `upload`):
 * OpenSSH's sftp-server writes every piece at its offset.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { SFTPWrapper } from 'ssh2';
import { isNoSuchFile } from './sftp-errors.js';
import type { SftpSession } from './sftp-session.js';

/** Bytes per WRITE request at most: OpenSSH's largest (its `limits@openssh.com` max-write-length). */
export const UPLOAD_CHUNK_BYTES = 255 * 1024;
/**
 * Bytes of WRITE requests in flight, as a multiple of the server's SSH channel window (sshd's is
 * 2 MiB): the window frees as the server reads the bytes, but a request counts until its answer
 * is back, half a round trip later. With one window's worth in flight (as before) the window was
 * full only 13 % of the time through a 50 ms round trip; with two, 96 %, and the bytes moved
 * 25 % faster; more only queues inside ssh2.
 */
const UPLOAD_WINDOWS_IN_FLIGHT = 2;
/** Requests in flight at least (a server announcing a tiny window), and at most: OpenSSH's `sftp` default (`-R 64`). */
const MIN_UPLOAD_REQUESTS_IN_FLIGHT = 8;
const MAX_UPLOAD_REQUESTS_IN_FLIGHT = 64;
/** SFTP channels a large upload to a far server is spread over (each has its own channel window). */
export const UPLOAD_STREAMS = 4;
/** Parallel streams from this file size: smaller files are done before the extra channels would open. */
export const PARALLEL_UPLOAD_MIN_BYTES = 32 * 1024 * 1024;
/** ...and from this round trip (the session's quickest request so far): one 2 MiB window moves ≈ 70 MB/s at 30 ms, less the farther. */
const PARALLEL_UPLOAD_MIN_ROUND_TRIP_MS = 30;
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

/** Size of the file at `path`, null when there is none. */
function sizeAt(sftp: SFTPWrapper, path: string): Promise<number | null> {
  return new Promise((resolve, reject) =>
    sftp.stat(path, (error, stats) => (error ? (isNoSuchFile(error) ? resolve(null) : reject(error)) : resolve(stats.size))),
  );
}

function isOpenSsh(sftp: SFTPWrapper): boolean {
  // ssh2 1.17.0 sets `_isOpenSSH` from the server's identification, like `_maxWriteLen` missing from its typings.
  return (sftp as unknown as { _isOpenSSH?: unknown })._isOpenSSH === true;
}

/**
 * Closes the file and then reads its size by name. OpenSSH's sftp-server answers a channel's
 * requests one after the other, in order, so the size check goes right behind the close and both
 * answers come in one round trip; other servers may answer out of order (or write a file out only
 * on close), so they get the check after the close's answer.
 */
async function closeThenSize(sftp: SFTPWrapper, handle: Buffer, path: string): Promise<number | null> {
  if (!isOpenSsh(sftp)) {
    await closeHandle(sftp, handle);
    return sizeAt(sftp, path);
  }
  const closed = closeHandle(sftp, handle);
  const size = sizeAt(sftp, path);
  // Both are awaited below; this only keeps the size's failure from counting as unhandled while the close is awaited.
  size.catch(() => undefined);
  await closed;
  return size;
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

/**
 * How many WRITE requests to keep in flight: enough to keep the server's channel window full.
 * The window the server granted is read from ssh2's channel (`outgoing.window`, private to
 * ssh2 1.17.0 like `_maxWriteLen`); right after the open, nearly all of it is free.
 */
function writeRequestsInFlight(sftp: SFTPWrapper, pieceBytes: number): number {
  const window = (sftp as unknown as { outgoing?: { window?: unknown } }).outgoing?.window;
  const windowBytes = typeof window === 'number' && window > 0 ? window : 0;
  const wanted = Math.ceil((UPLOAD_WINDOWS_IN_FLIGHT * windowBytes) / pieceBytes);
  return Math.min(MAX_UPLOAD_REQUESTS_IN_FLIGHT, Math.max(MIN_UPLOAD_REQUESTS_IN_FLIGHT, wanted));
}

/** Splits a stream's chunks into WRITE-request-sized pieces. */
function* requestSized(chunk: Buffer, pieceBytes: number): Generator<Buffer> {
  for (let offset = 0; offset < chunk.length; offset += pieceBytes) yield chunk.subarray(offset, offset + pieceBytes);
}

/** One SFTP channel with the temporary file open on it: the upload's own, or a parallel stream's. */
interface Lane {
  readonly sftp: SFTPWrapper;
  readonly handle: Buffer;
  /** WRITE requests this lane keeps in flight at most. */
  readonly limit: number;
  inFlight: number;
  /** Bytes the server acknowledged on this lane. */
  written: number;
}

/**
 * Keeps WRITE requests in flight on one or more lanes, each up to its limit, each piece on the
 * lane with the most room, and remembers the first failure.
 */
class WritePool {
  private readonly lanes: Lane[] = [];
  private failure: unknown = null;
  private wake: (() => void) | null = null;
  /** Offsets of the pieces sent and not acknowledged yet, in the order sent. */
  private readonly unacknowledged = new Set<number>();
  acknowledged = 0;
  /** Pieces acknowledged while a piece before them in the file was not: the lanes' writes interleaved. */
  acknowledgedOutOfOrder = 0;

  constructor(private readonly onAcknowledged: (bytes: number) => void) {}

  /** Lanes that carried bytes (a lane that joined after the last piece carried none). */
  get lanesUsed(): number {
    return this.lanes.filter((lane) => lane.written > 0).length;
  }

  add(lane: Lane): void {
    this.lanes.push(lane);
    this.notify();
  }

  async send(piece: Buffer, position: number): Promise<void> {
    let lane = this.roomiest();
    while (lane === null && this.failure === null) {
      await new Promise<void>((resolve) => (this.wake = resolve));
      lane = this.roomiest();
    }
    this.throwIfFailed();
    const chosen = lane as Lane;
    chosen.inFlight += 1;
    this.unacknowledged.add(position);
    chosen.sftp.write(chosen.handle, piece, 0, piece.length, position, (error: unknown) => {
      chosen.inFlight -= 1;
      this.unacknowledged.delete(position);
      if (error && this.failure === null) this.failure = error;
      if (!error) {
        // Pieces are sent in file order, so the set's first (oldest) entry is the earliest piece still unanswered.
        const earliest = this.unacknowledged.values().next().value;
        if (earliest !== undefined && earliest < position) this.acknowledgedOutOfOrder += 1;
        chosen.written += piece.length;
        this.acknowledged += piece.length;
        this.onAcknowledged(this.acknowledged);
      }
      this.notify();
    });
  }

  async drain(): Promise<void> {
    while (this.lanes.some((lane) => lane.inFlight > 0) && this.failure === null) await new Promise<void>((resolve) => (this.wake = resolve));
    this.throwIfFailed();
  }

  private roomiest(): Lane | null {
    let best: Lane | null = null;
    for (const lane of this.lanes) if (lane.inFlight < lane.limit && (best === null || lane.limit - lane.inFlight > best.limit - best.inFlight)) best = lane;
    return best;
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private throwIfFailed(): void {
    if (this.failure !== null) throw this.failure;
  }
}

/** Opens the temporary file, which the upload's own lane created, on another SFTP channel; null when either is refused. */
async function openParallelLane(session: SftpSession, remotePath: string, pieceBytes: number): Promise<Lane | null> {
  const sftp = await session.openChannel();
  if (sftp === null) return null;
  try {
    const handle = await new Promise<Buffer>((resolve, reject) => sftp.open(remotePath, 'r+', (error, opened) => (error ? reject(error) : resolve(opened))));
    return { sftp, handle, limit: writeRequestsInFlight(sftp, pieceBytes), inFlight: 0, written: 0 };
  } catch {
    sftp.end();
    return null;
  }
}

/** How many SFTP channels to upload over: several only for a large file to a far OpenSSH server. */
async function streamsFor(session: SftpSession, sftp: SFTPWrapper, source: UploadSource): Promise<number> {
  // Each channel writes its pieces at their offsets, out of file order; OpenSSH's sftp-server writes at the offset given, whatever the order.
  if (!isOpenSsh(sftp) || session.roundTripMs < PARALLEL_UPLOAD_MIN_ROUND_TRIP_MS) return 1;
  const bytes = 'path' in source ? (await stat(source.path)).size : source.bytes.length;
  return bytes >= PARALLEL_UPLOAD_MIN_BYTES ? UPLOAD_STREAMS : 1;
}

export interface Uploaded {
  /** Bytes the server acknowledged. */
  readonly bytes: number;
  /** sha256 of the bytes sent, hashed as they went (no second pass over a large file). */
  readonly sha256: string;
  /** Size of the file on the server once closed (null: no file under its name). */
  readonly remoteBytes: number | null;
  /** SFTP channels that carried bytes (0 for an empty file). */
  readonly streams: number;
  /** WRITE requests the server acknowledged before one that came earlier in the file (0 on one stream, whose server answers in order). */
  readonly acknowledgedOutOfOrder: number;
}

/**
 * Uploads `source` to a new remote file at `remotePath`. `onBytes` gets the running total
 * after every acknowledged request.
 *
 * A large file to a far server goes over parallel streams (as rclone and lftp do): more SFTP
 * channels on the same connection, each with the temporary file open and its own channel
 * window, each written pieces of the one file read, hashed and cut in order here. They join
 * as they open (a few round trips); a channel the server refuses leaves fewer streams, never
 * a failure.
 */
export async function upload(session: SftpSession, source: UploadSource, remotePath: string, onBytes: (bytes: number) => void): Promise<Uploaded> {
  return session.run('upload', remotePath, async (sftp, kick) => {
    const hash = createHash('sha256');
    const handle = await openForWrite(sftp, remotePath);
    kick();
    const pieceBytes = writeRequestBytes(sftp);
    const pool = new WritePool((bytes) => {
      kick();
      onBytes(bytes);
    });
    pool.add({ sftp, handle, limit: writeRequestsInFlight(sftp, pieceBytes), inFlight: 0, written: 0 });
    const parallel: Promise<Lane | null>[] = [];
    const streams = await streamsFor(session, sftp, source);
    for (let stream = 1; stream < streams; stream++) {
      const opening = openParallelLane(session, remotePath, pieceBytes);
      parallel.push(opening);
      void opening.then((lane) => lane && pool.add(lane));
    }
    try {
      let offset = 0;
      for await (const chunk of sourceStream(source) as AsyncIterable<Buffer>) {
        hash.update(chunk);
        for (const piece of requestSized(chunk, pieceBytes)) {
          const position = offset;
          offset += piece.length;
          await pool.send(piece, position);
        }
      }
      await pool.drain();
    } catch (error) {
      // The parallel channels are this upload's alone; its own handle goes with the connection, which a failed upload's caller closes.
      for (const opening of parallel) void opening.then((lane) => lane?.sftp.end());
      throw error;
    }
    // Servers may report a failed write only on close. The parallel channels close first, so that the size is asked after every close.
    const lanes = (await Promise.all(parallel)).filter((lane): lane is Lane => lane !== null);
    await Promise.all(lanes.map((lane) => closeHandle(lane.sftp, lane.handle).finally(() => lane.sftp.end())));
    const remoteBytes = await closeThenSize(sftp, handle, remotePath);
    return {
      bytes: pool.acknowledged,
      sha256: hash.digest('hex'),
      remoteBytes,
      streams: pool.lanesUsed,
      acknowledgedOutOfOrder: pool.acknowledgedOutOfOrder,
    };
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
