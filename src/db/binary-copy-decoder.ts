/**
 * Decoder of PostgreSQL's binary COPY format for rows of text columns: length-prefixed
 * fields, so no scanning for delimiters or escapes, and no per-row protocol messages.
 * https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4
 *
 * Most of the cost of turning millions of fields into strings is one native call per field.
 * So each buffer is decoded once as latin1 (one character per byte: byte offsets are string
 * offsets) and a field whose bytes are all ASCII is a substring of it; only fields holding
 * other bytes are decoded as UTF-8 on their own.
 */

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const FIXED_HEADER_BYTES = SIGNATURE.length + 4 + 4; // signature, flags, extension length
const TRAILER_FIELD_COUNT = -1;
const NULL_FIELD_LENGTH = -1;
const FIRST_NON_ASCII_BYTE = 0x80;
const EMPTY = Buffer.alloc(0);

function isAscii(buffer: Buffer, start: number, end: number): boolean {
  for (let index = start; index < end; index++) if ((buffer[index] as number) >= FIRST_NON_ASCII_BYTE) return false;
  return true;
}

export class BinaryCopyDecoder {
  private pending: Buffer = EMPTY;
  private headerRead = false;
  private trailerSeen = false;

  constructor(private readonly expectedFields: number) {}

  /** Decodes every complete row in `chunk` (plus what earlier chunks left over) into `rows`. */
  push(chunk: Buffer, rows: (string | null)[][]): void {
    if (this.trailerSeen) throw new Error('binary COPY data after the trailer');
    const buffer = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let position = this.headerRead ? 0 : this.readHeader(buffer);
    if (position < 0) {
      this.pending = buffer;
      return;
    }
    const text = buffer.toString('latin1');
    for (;;) {
      const next = this.readRow(buffer, text, position, rows);
      if (next < 0) break;
      position = next;
      if (this.trailerSeen) break;
    }
    this.pending = position === buffer.length ? EMPTY : buffer.subarray(position);
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

  /** Position after the row, or -1 when the buffer ends inside it. */
  private readRow(buffer: Buffer, text: string, start: number, rows: (string | null)[][]): number {
    if (start + 2 > buffer.length) return -1;
    const fieldCount = buffer.readInt16BE(start);
    if (fieldCount === TRAILER_FIELD_COUNT) {
      this.trailerSeen = true;
      return start + 2;
    }
    if (fieldCount !== this.expectedFields) throw new Error(`binary COPY row has ${fieldCount} fields; expected ${this.expectedFields}`);
    let position = start + 2;
    const row = new Array<string | null>(fieldCount);
    for (let field = 0; field < fieldCount; field++) {
      if (position + 4 > buffer.length) return -1;
      const length = buffer.readInt32BE(position);
      position += 4;
      if (length === NULL_FIELD_LENGTH) {
        row[field] = null;
        continue;
      }
      const end = position + length;
      if (end > buffer.length) return -1;
      row[field] = isAscii(buffer, position, end) ? text.slice(position, end) : buffer.toString('utf8', position, end);
      position = end;
    }
    rows.push(row);
    return position;
  }
}
