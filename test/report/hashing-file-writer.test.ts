import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HashingFileWriter } from '../../src/report/hashing-file-writer.js';

describe('HashingFileWriter', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'twoway-writer-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function writeAll(path: string, parts: readonly string[]) {
    const writer = new HashingFileWriter(path);
    for (const part of parts) await writer.write(Buffer.from(part, 'utf8'));
    return writer.close();
  }

  it('writes a small file, with its size and SHA-256', async () => {
    const path = join(dir, 'small.csv');
    const written = await writeAll(path, ['a,b\r\n', 'Zoë,李 😀\r\n']);
    const bytes = await readFile(path);
    assert.equal(bytes.toString('utf8'), 'a,b\r\nZoë,李 😀\r\n');
    assert.deepEqual(written, { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    assert.equal((await stat(path)).mode & 0o777, 0o600, 'readable by the worker only');
  });

  it('writes a large file byte for byte and in order, while its caller reuses one buffer', async () => {
    const path = join(dir, 'large.csv');
    const parts = Array.from({ length: 40 }, (_, index) => `${String(index).padStart(4, '0')}:${'é😀x'.repeat(60_000)}\r\n`);
    const writer = new HashingFileWriter(path);
    const reused = Buffer.alloc(1 << 20);
    for (const part of parts) {
      const length = reused.write(part, 'utf8');
      await writer.write(reused.subarray(0, length));
      reused.fill(0x21);
    }
    const written = await writer.close();
    const bytes = await readFile(path);
    assert.ok(bytes.equals(Buffer.from(parts.join(''), 'utf8')));
    assert.deepEqual(written, { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    assert.equal((await stat(path)).mode & 0o777, 0o600, 'readable by the worker only');
  });

  it('reports a file it cannot write, and aborts without one', async () => {
    await assert.rejects(writeAll(join(dir, 'missing', 'folder', 'x.csv'), ['tiny']), /ENOENT/);
    await new HashingFileWriter(join(dir, 'missing', 'folder', 'y.csv')).abort();
    const aborted = new HashingFileWriter(join(dir, 'aborted.csv'));
    await aborted.write(Buffer.from('half a file'));
    await aborted.abort();
    assert.equal((await readFile(join(dir, 'aborted.csv'))).toString(), 'half a file');
  });
});
