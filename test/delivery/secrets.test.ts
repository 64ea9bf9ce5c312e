import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveCredentials, resolveSecret } from '../../src/delivery/secrets.js';
import { SecretUnavailableError } from '../../src/domain/errors.js';

describe('resolveSecret', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'twoway-secrets-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads an environment variable from the given environment', async () => {
    assert.equal(await resolveSecret('acme', 'delivery.auth.password', { env: 'PW' }, { PW: 's3cret-value' }), 's3cret-value');
  });

  it('reads a file as bytes', async () => {
    const path = join(dir, 'key');
    await writeFile(path, 'key bytes\n');
    assert.deepEqual(await resolveSecret('acme', 'delivery.auth.privateKey', { file: path }, {}), Buffer.from('key bytes\n'));
  });

  it('names the reference, never a value, when a secret is missing, empty or unreadable', async () => {
    const cases: [Parameters<typeof resolveSecret>[2], NodeJS.ProcessEnv, RegExp][] = [
      [{ env: 'PW' }, {}, /environment variable PW, which is not set/],
      [{ env: 'PW' }, { PW: '' }, /environment variable PW, which is empty/],
      [{ file: join(dir, 'missing') }, {}, /file .*missing, which cannot be read by the delivering process \(ENOENT\)/],
      [{ file: dir }, {}, /file .*, which cannot be read by the delivering process \(EISDIR\)/],
    ];
    const empty = join(dir, 'empty');
    await writeFile(empty, '');
    cases.push([{ file: empty }, {}, /file .*empty, which is empty/]);
    for (const [ref, env, message] of cases) {
      await assert.rejects(resolveSecret('acme', 'delivery.auth.password', ref, env), (error: unknown) => {
        assert.ok(error instanceof SecretUnavailableError);
        assert.equal(error.clientId, 'acme');
        assert.equal(error.field, 'delivery.auth.password');
        assert.match(error.message, message);
        return true;
      });
    }
  });
});

describe('resolveCredentials', () => {
  it('takes a password file without its trailing line break', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'twoway-credentials-'));
    try {
      const path = join(dir, 'password');
      await writeFile(path, 'pa ss\n');
      assert.deepEqual(await resolveCredentials('acme', { method: 'password', password: { file: path } }, {}), { method: 'password', password: 'pa ss' });
      const key = await resolveCredentials(
        'acme',
        { method: 'privateKey', privateKey: { env: 'KEY' }, passphrase: { env: 'PASS' } },
        { KEY: 'key text', PASS: 'phrase' },
      );
      assert.deepEqual(key, { method: 'privateKey', privateKey: Buffer.from('key text'), passphrase: 'phrase' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
