/**
 * Cuts a built CSV into parts of at most N data rows, each starting with the file's header
 * (`delivery.maxRowsPerFile`), in one streaming pass: memory stays flat whatever the size.
 *
 * Records end at a line feed outside quotes (RFC 4180, as src/report/csv.ts writes them): a
 * quoted field may hold CR and LF, and a doubled quote inside one toggles twice. UTF-8 never
 * uses the bytes of `"` or LF inside a multi-byte character, so bytes can be scanned as they are.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { addAbortSignal } from 'node:stream';

const READ_CHUNK_BYTES = 1024 * 1024;
const QUOTE = 0x22;
const LINE_FEED = 0x0a;

export interface SplitPart {
  readonly path: string;
  /** Data rows (the header not counted). */
  readonly rowCount: number;
  readonly bytes: number;
  readonly sha256: string;
}

export interface SplitResult {
  readonly parts: readonly SplitPart[];
  /** sha256, size and data rows of the whole file read, to check it is the built file. */
  readonly sha256: string;
  readonly bytes: number;
  readonly rowCount: number;
  /** Removes every part file. */
  dispose(): Promise<void>;
}

export interface SplitOptions {
  readonly maxRowsPerFile: number;
  /** Where part n (from 1) is written; the file must not exist. */
  readonly partPath: (part: number) => string;
  readonly signal?: AbortSignal | undefined;
  /** Bytes of the source read so far. */
  readonly onBytes?: (bytes: number) => void;
}

/** Where records end, carrying the quote state from one chunk to the next. */
class RecordScanner {
  private inQuotes = false;

  /**
   * Scans `chunk` from `from` for up to `wanted` record ends. Returns how many were found and
   * the index just after the last one (or the chunk's end when fewer than `wanted` were found).
   */
  scan(chunk: Buffer, from: number, wanted: number): { readonly records: number; readonly end: number } {
    let records = 0;
    let at = from;
    while (records < wanted && at < chunk.length) {
      if (this.inQuotes) {
        const quote = chunk.indexOf(QUOTE, at);
        if (quote === -1) return { records, end: chunk.length };
        this.inQuotes = false;
        at = quote + 1;
        continue;
      }
      const lineFeed = chunk.indexOf(LINE_FEED, at);
      const quote = chunk.indexOf(QUOTE, at);
      if (quote !== -1 && (lineFeed === -1 || quote < lineFeed)) {
        this.inQuotes = true;
        at = quote + 1;
      } else if (lineFeed !== -1) {
        records += 1;
        at = lineFeed + 1;
      } else {
        return { records, end: chunk.length };
      }
    }
    return { records, end: records === wanted ? at : chunk.length };
  }
}

interface OpenPart {
  readonly path: string;
  readonly handle: FileHandle;
  readonly hash: Hash;
  bytes: number;
  rowCount: number;
}

/** Splits `sourcePath`; see the module comment. Part files are removed again when it fails. */
export async function splitCsvFile(sourcePath: string, options: SplitOptions): Promise<SplitResult> {
  const { maxRowsPerFile } = options;
  if (!Number.isSafeInteger(maxRowsPerFile) || maxRowsPerFile < 1) throw new RangeError(`maxRowsPerFile is ${maxRowsPerFile}; allowed: a whole number from 1`);
  const scanner = new RecordScanner();
  const whole = createHash('sha256');
  const parts: SplitPart[] = [];
  const created: string[] = [];
  const headerChunks: Buffer[] = [];
  let header: Buffer | null = null;
  let current: OpenPart | null = null;
  let bytesRead = 0;
  let rowCount = 0;

  const write = async (part: OpenPart, bytes: Buffer) => {
    part.hash.update(bytes);
    part.bytes += bytes.length;
    let written = 0;
    while (written < bytes.length) written += (await part.handle.write(bytes, written)).bytesWritten;
  };
  const openPart = async (): Promise<OpenPart> => {
    const path = options.partPath(parts.length + 1);
    const handle = await open(path, 'wx');
    created.push(path);
    const part: OpenPart = { path, handle, hash: createHash('sha256'), bytes: 0, rowCount: 0 };
    await write(part, header as Buffer);
    return part;
  };
  const closePart = async (part: OpenPart) => {
    await part.handle.close();
    parts.push({ path: part.path, rowCount: part.rowCount, bytes: part.bytes, sha256: part.hash.digest('hex') });
  };

  try {
    const source = createReadStream(sourcePath, { highWaterMark: READ_CHUNK_BYTES });
    if (options.signal) addAbortSignal(options.signal, source);
    for await (const chunk of source as AsyncIterable<Buffer>) {
      whole.update(chunk);
      bytesRead += chunk.length;
      options.onBytes?.(bytesRead);
      let at = 0;
      if (header === null) {
        const { records, end } = scanner.scan(chunk, 0, 1);
        headerChunks.push(chunk.subarray(0, end));
        if (records === 0) continue;
        header = Buffer.concat(headerChunks);
        at = end;
      }
      while (at < chunk.length) {
        current ??= await openPart();
        const { records, end } = scanner.scan(chunk, at, maxRowsPerFile - current.rowCount);
        await write(current, chunk.subarray(at, end));
        current.rowCount += records;
        rowCount += records;
        at = end;
        if (current.rowCount === maxRowsPerFile) {
          await closePart(current);
          current = null;
        }
      }
    }
    if (header === null) throw new Error(`${sourcePath} has no complete header record`);
    // A file of a header only is one part of a header only.
    current ??= parts.length === 0 ? await openPart() : null;
    if (current) await closePart(current);
  } catch (error) {
    await current?.handle.close().catch(() => undefined);
    await Promise.all(created.map((path) => rm(path, { force: true })));
    throw error;
  }
  return {
    parts,
    sha256: whole.digest('hex'),
    bytes: bytesRead,
    rowCount,
    dispose: async () => {
      await Promise.all(created.map((path) => rm(path, { force: true })));
    },
  };
}
