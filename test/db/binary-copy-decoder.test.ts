import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BinaryCopyDecoder, NULL_FIELD_START, type CopyRowVisitor } from '../../src/db/binary-copy-decoder.js';
import { chunksOf, encodeBinaryCopy as encode } from '../support/binary-copy.js';

/** A visitor that turns each row's field bounds into strings, as they were encoded. */
function collectInto(rows: (string | null)[][]): CopyRowVisitor {
  return (buffer, bounds) => {
    const row: (string | null)[] = [];
    for (let field = 0; field < bounds.length / 2; field++) {
      const start = bounds[2 * field] as number;
      row.push(start === NULL_FIELD_START ? null : buffer.toString('utf8', start, bounds[2 * field + 1]));
    }
    rows.push(row);
  };
}

/** Decodes the stream as it arrives in chunks of the given sizes. */
function decodeInChunks(bytes: Buffer, fields: number, chunkSizes: () => number): (string | null)[][] {
  const decoder = new BinaryCopyDecoder(fields);
  const rows: (string | null)[][] = [];
  const visit = collectInto(rows);
  for (const chunk of chunksOf(bytes, chunkSizes)) decoder.push(chunk, visit);
  decoder.end();
  return rows;
}

// Values around the framing: ASCII, multi-byte and astral characters, bytes that look like
// length prefixes (lengths of 128+ bytes), empty strings and NULLs.
const VALUES = ['', 'plain', 'Zoë', '李小龍', '😀 emoji', 'x'.repeat(200), `${'é'.repeat(90)}|`, 'comma, "quote"\r\nline', '\u0080\u00ff', null];

describe('BinaryCopyDecoder', () => {
  let seed = 7;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
  const rows = Array.from({ length: 300 }, () => Array.from({ length: 4 }, () => VALUES[Math.floor(random() * VALUES.length)] ?? null));
  const bytes = encode(rows);

  it('hands over every value exactly, whatever the chunk boundaries', () => {
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
    assert.throws(() => new BinaryCopyDecoder(1).push(Buffer.from('id,name\r\n1,first row\r\n2,second row\r\n'), collectInto([])), /bad signature/);
    assert.throws(() => new BinaryCopyDecoder(3).push(encode([['a', 'b']]), collectInto([])), /has 2 fields; expected 3/);
    const one = encode([['a']]);
    const cut = new BinaryCopyDecoder(1);
    cut.push(one.subarray(0, one.length - 2), collectInto([]));
    assert.throws(() => cut.end(), /ended before its trailer/);
    const extra = new BinaryCopyDecoder(1);
    extra.push(Buffer.concat([one, Buffer.from([1, 2, 3])]), collectInto([]));
    assert.throws(() => extra.end(), /3 bytes after its trailer/);
  });
});
