/** Encodes rows of text in PostgreSQL's binary COPY format, as the server sends them (header, rows, trailer); a Buffer field is sent as its raw bytes. */
export function encodeBinaryCopy(rows: readonly (readonly (string | Buffer | null)[])[]): Buffer {
  const parts: Buffer[] = [Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.from([0, 0, 0, 0, 0, 0, 0, 0])];
  for (const row of rows) {
    const count = Buffer.alloc(2);
    count.writeInt16BE(row.length);
    parts.push(count);
    for (const field of row) {
      const length = Buffer.alloc(4);
      if (field === null) {
        length.writeInt32BE(-1);
        parts.push(length);
      } else {
        const bytes = typeof field === 'string' ? Buffer.from(field, 'utf8') : field;
        length.writeInt32BE(bytes.length);
        parts.push(length, bytes);
      }
    }
  }
  parts.push(Buffer.from([0xff, 0xff]));
  return Buffer.concat(parts);
}

/** Cuts `bytes` into consecutive chunks of the sizes `chunkSize` gives (at least 1 byte each). */
export function chunksOf(bytes: Buffer, chunkSize: () => number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length;) {
    const size = Math.max(1, chunkSize());
    chunks.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return chunks;
}
