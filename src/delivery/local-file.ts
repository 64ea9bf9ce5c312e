/**
 * The local side of a delivery: the bytes to send, their size and sha256. The built CSV goes
 * out as it is, or through the client's transforms in one streamed pass: gzip, then PGP.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { GZIP_SUFFIX } from '../domain/file-name.js';
import { WORK_FILE_MODE } from '../report/work-folder.js';
import { pgpSuffix, type PgpKeyring } from './pgp.js';

/** zlib's default level; fixed here because the gzip bytes must be reproducible for an unchanged file. */
export const GZIP_LEVEL = 6;
const READ_CHUNK_BYTES = 1024 * 1024;
const PREPARED_ID_BYTES = 4;
const PREPARED_TEMPORARY = new RegExp(`\\.[0-9a-f]{${PREPARED_ID_BYTES * 2}}\\.tmp$`);

/** `.<name>.<8 hex>.tmp` next to the CSV: hidden, and unique, so a parallel attempt on the same host never shares it. */
export function preparedTemporaryName(name: string): string {
  return `.${name}.${randomBytes(PREPARED_ID_BYTES).toString('hex')}.tmp`;
}

/**
 * Whether `entry` is a temporary file made next to the CSV `fileName` for a delivery of its
 * period, of any revision: its gzip or PGP output or a split part, which a crash or a cancelled
 * attempt may leave.
 */
export function isPreparedTemporaryOf(entry: string, fileName: string): boolean {
  const dot = fileName.lastIndexOf('.');
  const stem = dot <= 0 ? fileName : fileName.slice(0, dot);
  return entry.startsWith(`.${stem}`) && PREPARED_TEMPORARY.test(entry);
}

export interface LocalFile {
  /** The file to upload (the CSV itself, or what the transforms made of it, next to it). */
  readonly path: string;
  /** Its name on the server. */
  readonly name: string;
  readonly bytes: number;
  /** Known when transformed (hashed while writing); for a plain CSV the upload hashes it on the way. */
  readonly sha256: string | null;
  /**
   * For gzip without PGP: sha256 of the CSV inside, so that another gzip of the same CSV on the
   * server still counts as the same file. Null otherwise: a plain CSV is compared by its bytes,
   * and an encrypted file can only be recognised by the exact bytes of its own upload.
   */
  readonly contentSha256: string | null;
  /** sha256 of the CSV as it was read to be transformed (null when sent as it is). */
  readonly csvSha256: string | null;
  /** Removes what was made for the delivery (the transformed file); leaves the CSV alone. */
  dispose(): Promise<void>;
}

/** What is done to the built CSV before it is sent. */
export interface FileTransforms {
  readonly gzip: boolean;
  /** An open keyring (pgp.ts) when the client wants the file encrypted. */
  readonly pgp: PgpKeyring | null;
}

/** The name a built CSV is delivered under: `<name>.csv`, `.csv.gz`, `.csv.pgp`, `.csv.gz.pgp`, or `.asc` for armored PGP. */
export function deliveredFileName(
  csvName: string,
  transforms: { readonly gzip: boolean; readonly pgp?: { readonly armor: boolean } | null | undefined },
): string {
  return `${csvName}${transforms.gzip ? GZIP_SUFFIX : ''}${transforms.pgp ? pgpSuffix(transforms.pgp) : ''}`;
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

export interface PrepareOptions extends FileTransforms {
  readonly signal: AbortSignal | undefined;
  /** Called with the bytes of the CSV read so far (hashing or transforming a large file takes a while). */
  readonly onBytes: (bytes: number) => void;
}

/** sha256 and size of a local file. */
export async function hashLocalFile(path: string, options: Pick<PrepareOptions, 'signal' | 'onBytes'>): Promise<{ bytes: number; sha256: string }> {
  const digest = digestTap(options.onBytes);
  await pipeline(createReadStream(path, { highWaterMark: READ_CHUNK_BYTES }), digest.tap, discard(), { signal: options.signal });
  return digest.result();
}

/**
 * The CSV as it is, or streamed through gzip (deterministic: mtime 0, fixed level) and PGP
 * into a temporary file next to it, hashing the CSV read and the bytes written on the way.
 */
export async function prepareLocalFile(localPath: string, fileName: string, options: PrepareOptions): Promise<LocalFile> {
  if (!options.gzip && !options.pgp) {
    const { size } = await stat(localPath);
    return { path: localPath, name: fileName, bytes: size, sha256: null, contentSha256: null, csvSha256: null, dispose: async () => undefined };
  }
  const content = digestTap(options.onBytes);
  const name = deliveredFileName(fileName, options);
  const path = join(dirname(localPath), preparedTemporaryName(name));
  const written = digestTap();
  const transforms = [...(options.gzip ? [createGzip({ level: GZIP_LEVEL })] : []), ...(options.pgp ? [options.pgp.encryptStream()] : [])];
  try {
    await pipeline(
      [
        createReadStream(localPath, { highWaterMark: READ_CHUNK_BYTES }),
        content.tap,
        ...transforms,
        written.tap,
        createWriteStream(path, { flags: 'wx', mode: WORK_FILE_MODE }),
      ],
      { signal: options.signal },
    );
  } catch (error) {
    await rm(path, { force: true });
    throw error;
  }
  const { bytes, sha256 } = written.result();
  const csvSha256 = content.result().sha256;
  return {
    path,
    name,
    bytes,
    sha256,
    contentSha256: options.gzip && !options.pgp ? csvSha256 : null,
    csvSha256,
    dispose: () => rm(path, { force: true }),
  };
}
