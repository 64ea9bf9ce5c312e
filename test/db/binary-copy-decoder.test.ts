import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BinaryCopyDecoder } from '../../src/db/binary-copy-decoder.js';

/** Encodes rows in PostgreSQL's binary COPY format, as the server sends them. */
function encode(rows: readonly (readonly (string | null)[])[]): Buffer {
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
        const bytes = Buffer.from(field, 'utf8');
        length.writeInt32BE(bytes.length);
        parts.push(length, bytes);
      }
    }
  }
  parts.push(Buffer.from([0xff, 0xff]));
  return Buffer.concat(parts);
}

/** Decodes the stream as it arrives in chunks of the given sizes. */
function decodeInChunks(bytes: Buffer, fields: number, chunkSizes: () => number): (string | null)[][] {
  const decoder = new BinaryCopyDecoder(fields);
  const rows: (string | null)[][] = [];
  for (let offset = 0; offset < bytes.length;) {
    const size = Math.max(1, chunkSizes());
    decoder.push(bytes.subarray(offset, offset + size), rows);
    offset += size;
  }
  decoder.end();
  return rows;
}

// Values around the decoder's shortcuts: ASCII, multi-byte and astral characters, bytes
// that look like length prefixes (lengths of 128+ bytes), empty strings and NULLs.
const VALUES = ['', 'plain', 'Zoë', '李小龍', '😀 emoji', 'x'.repeat(200), `${'é'.repeat(90)}|`, 'comma, "quote"\r\nline', '\u0080\u00ff', null];

describe('BinaryCopyDecoder', () => {
  let seed = 7;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
  const rows = Array.from({ length: 300 }, () => Array.from({ length: 4 }, () => VALUES[Math.floor(random() * VALUES.length)] ?? null));
  const bytes = encode(rows);

  it('decodes every value exactly, whatever the chunk boundaries', () => {
    assert.deepEqual(
      decodeInChunks(bytes, 4, () => bytes.length),
      rows,
      'one chunk',
    );
    assert.deepEqual(
      decodeInChunks(bytes, 4, () => 1),
      rows,
      'one byte at a time',
    );
    assert.deepEqual(
      decodeInChunks(bytes, 4, () => Math.floor(random() * 700)),
      rows,
      'random chunks',
    );
  });

  it('yields nothing for a stream of no rows', () => {
    assert.deepEqual(
      decodeInChunks(encode([]), 4, () => 3),
      [],
    );
  });

  it('refuses what is not binary COPY, a wrong field count, a stream cut short and data after the trailer', () => {
    assert.throws(() => new BinaryCopyDecoder(1).push(Buffer.from('id,name\r\n1,first row\r\n2,second row\r\n'), []), /bad signature/);
    assert.throws(() => new BinaryCopyDecoder(3).push(encode([['a', 'b']]), []), /has 2 fields; expected 3/);
    const one = encode([['a']]);
    const cut = new BinaryCopyDecoder(1);
    cut.push(one.subarray(0, one.length - 2), []);
    assert.throws(() => cut.end(), /ended before its trailer/);
    const extra = new BinaryCopyDecoder(1);
    extra.push(Buffer.concat([one, Buffer.from([1, 2, 3])]), []);
    assert.throws(() => extra.end(), /3 bytes after its trailer/);
  });
});
