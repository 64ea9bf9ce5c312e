import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isPreparedTemporaryOf, prepareLocalFile } from '../../src/delivery/local-file.js';

const NAME = 'twoway_activity_acme_daily_20261124.csv';

describe('the local side of a delivery: the gzip made for it', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'twoway-local-file-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is a hidden temporary file next to the CSV, readable by the worker only, recognisable afterwards, and gone once disposed', async () => {
    const csv = join(dir, NAME);
    await writeFile(csv, 'a,b\r\n1,2\r\n', { mode: 0o600 });
    const gzip = await prepareLocalFile(csv, NAME, { gzip: true, pgp: null, signal: undefined, onBytes: () => undefined });
    assert.equal(gzip.name, `${NAME}.gz`);
    assert.ok(isPreparedTemporaryOf(basename(gzip.path), NAME), basename(gzip.path));
    assert.equal((await stat(gzip.path)).mode & 0o777, 0o600);
    await gzip.dispose();
    assert.deepEqual(await readdir(dir), [NAME]);
  });

  it('tells its temporary files from other names', () => {
    assert.ok(isPreparedTemporaryOf(`.${NAME}.gz.0a1b2c3d.tmp`, NAME));
    const stem = NAME.slice(0, -'.csv'.length);
    // The PGP output, a split part and a later revision's gzip are the period's too.
    for (const ours of [`.${NAME}.pgp.0a1b2c3d.tmp`, `.${stem}_part002.csv.0a1b2c3d.tmp`, `.${stem}_r2.csv.gz.0a1b2c3d.tmp`]) {
      assert.ok(isPreparedTemporaryOf(ours, NAME), ours);
    }
    for (const other of [
      `${NAME}.gz`,
      `.${NAME}.gz.0a1b2c3d.part`,
      `.${NAME}.gz.0a1b2c3.tmp`,
      `.other.csv.gz.0a1b2c3d.tmp`,
      `.twoway_activity_acme_daily_20261125.csv.gz.0a1b2c3d.tmp`,
      `.${NAME}.gz.0A1B2C3D.tmp`,
    ]) {
      assert.equal(isPreparedTemporaryOf(other, NAME), false, other);
    }
  });
});
