/**
 * Framer of PostgreSQL's binary COPY format: length-prefixed fields, so no scanning for
 * delimiters or escapes, and no per-row protocol messages.
 * https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4
 *
 * It makes no strings: each complete row is handed to a visitor as the byte bounds of its
 * fields in the buffer, and the visitor reads what it needs (the report's CSV encoder copies
 * most fields' bytes straight into the file's bytes).
 */

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const FIXED_HEADER_BYTES = SIGNATURE.length + 4 + 4; // signature, flags, extension length
const TRAILER_FIELD_COUNT = -1;
const NULL_FIELD_LENGTH = -1;
/** The start (and end) a NULL field gets in the bounds handed to the visitor. */
export const NULL_FIELD_START = -1;
const EMPTY = Buffer.alloc(0);
/** Bytes of the next chunk first joined to a row split between two chunks; most rows are far shorter. */
const STRADDLE_START_BYTES = 4096;

/**
 * Called once per complete row. `bounds` holds, for field i, its start at [2i] and its end
 * at [2i + 1] in `buffer` (both NULL_FIELD_START for NULL). Both are only valid during the call.
 */
export type CopyRowVisitor = (buffer: Buffer, bounds: Int32Array) => void;

export class BinaryCopyDecoder {
  private pending: Buffer = EMPTY;
  private headerRead = false;
  private trailerSeen = false;
  private readonly bounds: Int32Array;

  constructor(private readonly expectedFields: number) {
    this.bounds = new Int32Array(expectedFields * 2);
  }

  /** Hands every complete row in `chunk` (plus what earlier chunks left over) to `visit`, in order. */
  push(chunk: Buffer, visit: CopyRowVisitor): void {
    if (this.trailerSeen) throw new Error('binary COPY data after the trailer');
    let buffer = chunk;
    let position = 0;
    if (!this.headerRead) {
      buffer = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
      position = this.readHeader(buffer);
      if (position < 0) {
        this.pending = buffer;
        return;
      }
    } else if (this.pending.length > 0) {
      position = this.finishPendingRow(chunk, visit);
      if (position < 0) return;
    }
    while (!this.trailerSeen) {
      const next = this.readRow(buffer, position, visit);
      if (next < 0) break;
      position = next;
    }
    this.pending = position === buffer.length ? EMPTY : buffer.subarray(position);
  }

  /**
   * Completes the row the last chunk ended inside, joining to it only the start of `chunk`
   * (doubled until the row fits), not the whole chunk: copying every chunk once more cost as
   * much as decoding it. Returns where the rest of `chunk` starts, or -1 when the row goes on
   * past `chunk` (then all of it is pending).
   */
  private finishPendingRow(chunk: Buffer, visit: CopyRowVisitor): number {
    const pending = this.pending;
    for (let taken = Math.min(chunk.length, Math.max(STRADDLE_START_BYTES, pending.length)); ; taken = Math.min(chunk.length, 2 * taken)) {
      const joined = Buffer.concat([pending, chunk.subarray(0, taken)]);
      const next = this.readRow(joined, 0, visit);
      if (next >= 0) {
        this.pending = EMPTY;
        // The pending bytes never hold a whole row, so the row ends inside `chunk`.
        return next - pending.length;
      }
      if (taken === chunk.length) {
        this.pending = joined;
        return -1;
      }
    }
  }

  /** Throws unless the stream ended exactly after the trailer. */
  end(): void {
    if (!this.trailerSeen) throw new Error('binary COPY stream ended before its trailer');
    if (this.pending.length > 0) throw new Error(`binary COPY stream has ${this.pending.length} bytes after its trailer`);
  }

  private readHeader(buffer: Buffer): number {
    if (buffer.length < FIXED_HEADER_BYTES) return -1;
    if (!buffer.subarray(0, SIGNATURE.length).equals(SIGNATURE)) throw new Error('not a binary COPY stream (bad signature)');
    const extensionBytes = buffer.readUInt32BE(SIGNATURE.length + 4);
    if (buffer.length < FIXED_HEADER_BYTES + extensionBytes) return -1;
    this.headerRead = true;
    return FIXED_HEADER_BYTES + extensionBytes;
  }

  /** Position after the row, or -1 when the buffer ends inside it (the row is then not visited). */
  private readRow(buffer: Buffer, start: number, visit: CopyRowVisitor): number {
    if (start + 2 > buffer.length) return -1;
    const fieldCount = buffer.readInt16BE(start);
    if (fieldCount === TRAILER_FIELD_COUNT) {
      this.trailerSeen = true;
      return start + 2;
    }
    if (fieldCount !== this.expectedFields) throw new Error(`binary COPY row has ${fieldCount} fields; expected ${this.expectedFields}`);
    const bounds = this.bounds;
    let position = start + 2;
    for (let field = 0; field < fieldCount; field++) {
      if (position + 4 > buffer.length) return -1;
      const length = buffer.readInt32BE(position);
      position += 4;
      if (length === NULL_FIELD_LENGTH) {
        bounds[2 * field] = NULL_FIELD_START;
        bounds[2 * field + 1] = NULL_FIELD_START;
        continue;
      }
      const end = position + length;
      if (end > buffer.length) return -1;
      bounds[2 * field] = position;
      bounds[2 * field + 1] = end;
      position = end;
    }
    visit(buffer, bounds);
    return position;
  }
}
