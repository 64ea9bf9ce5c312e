import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveCredentials, resolveSecret } from '../../src/delivery/secrets.js';
import { NON_RETRYABLE_ERROR_TYPES, SecretReferenceRefusedError, SecretUnavailableError } from '../../src/domain/errors.js';
import type { SecretReference } from '../../src/domain/types.js';

const FIELD = 'delivery.password';
/** Every secret file and variable of these tests holds it: no message may show it. */
const SECRET_VALUE = 's3cret-value-9f2c';

describe('resolveSecret', () => {
  let root: string;
  let dir: string;
  let outside: string;
  let env: NodeJS.ProcessEnv;

  /** A file only its owner can read, as a secret file must be. */
  async function secretFile(name: string, content = `${SECRET_VALUE}\n`, mode = 0o600): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, content);
    await chmod(path, mode);
    return path;
  }

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'twoway-secrets-'));
    dir = join(root, 'secrets');
    await mkdir(dir, { mode: 0o700 });
    outside = join(root, 'outside');
    await writeFile(outside, SECRET_VALUE, { mode: 0o600 });
    env = { TWOWAY_SECRETS_DIR: dir };
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('reads an environment variable under the prefix from the given environment', async () => {
    assert.equal(await resolveSecret('acme', FIELD, { env: 'TWOWAY_SECRET_PW' }, { ...env, TWOWAY_SECRET_PW: SECRET_VALUE }), SECRET_VALUE);
    const prefixed = { ...env, TWOWAY_SECRET_ENV_PREFIX: 'ACME_', ACME_PW: SECRET_VALUE };
    assert.equal(await resolveSecret('acme', FIELD, { env: 'ACME_PW' }, prefixed), SECRET_VALUE, 'under a prefix an operator chose');
  });

  it('reads a file inside the secrets folder as bytes, also through a link that stays inside it', async () => {
    const path = await secretFile('key', 'key bytes\n');
    assert.deepEqual(await resolveSecret('acme', FIELD, { file: path }, env), Buffer.from('key bytes\n'));
    const link = join(dir, 'current-key');
    await symlink(path, link);
    assert.deepEqual(await resolveSecret('acme', FIELD, { file: link }, env), Buffer.from('key bytes\n'));
  });

  it('names the reference, never a value, when a secret is missing, empty or unreadable', async () => {
    const empty = await secretFile('empty', '');
    const cases: [SecretReference, NodeJS.ProcessEnv, RegExp][] = [
      [{ env: 'TWOWAY_SECRET_PW' }, env, /environment variable TWOWAY_SECRET_PW, which is not set/],
      [{ env: 'TWOWAY_SECRET_PW' }, { ...env, TWOWAY_SECRET_PW: '' }, /environment variable TWOWAY_SECRET_PW, which is empty/],
      [{ file: join(dir, 'missing') }, env, /file .*missing, which cannot be read by the delivering process \(ENOENT\)/],
      [{ file: empty }, env, /file .*empty, which is empty/],
    ];
    for (const [ref, given, message] of cases) {
      await assert.rejects(resolveSecret('acme', FIELD, ref, given), (error: unknown) => {
        assert.ok(error instanceof SecretUnavailableError);
        assert.equal(error.clientId, 'acme');
        assert.equal(error.field, FIELD);
        assert.match(error.message, message);
        return true;
      });
    }
  });

  /** The refusal: typed, not retried, naming client, field and rule, and never the value. */
  async function assertRefused(ref: SecretReference, given: NodeJS.ProcessEnv, problem: RegExp, allowed: RegExp): Promise<void> {
    await assert.rejects(resolveSecret('acme', FIELD, ref, given), (error: unknown) => {
      assert.ok(error instanceof SecretReferenceRefusedError, String(error));
      assert.ok(NON_RETRYABLE_ERROR_TYPES.includes(error.name));
      assert.equal(error.clientId, 'acme');
      assert.equal(error.field, FIELD);
      assert.ok(error.message.startsWith(`client "acme": ${FIELD} refers to `), error.message);
      assert.match(error.message, problem);
      assert.match(error.message, allowed);
      // Every secret value of these tests holds SECRET_VALUE.
      assert.ok(!error.message.includes(SECRET_VALUE), `${error.message} shows no value`);
      return true;
    });
  }

  const ENV_RULE = /allowed: an environment variable named TWOWAY_SECRET_<NAME> \(TWOWAY_SECRET_ENV_PREFIX\) that is not one of the worker's own settings/;
  const fileRule = () => new RegExp(`allowed: a file inside ${dir} \\(TWOWAY_SECRETS_DIR\\) that only its owner can read \\(chmod 600\\)`);

  it("refuses environment variables outside the prefix, and the worker's own settings whatever the prefix", async () => {
    const own = {
      ...env,
      DATABASE_URL: `postgres://twoway:${SECRET_VALUE}@db:5432/twoway`,
      TEMPORAL_API_KEY: `api-key-${SECRET_VALUE}`,
      SOME_PASSWORD: SECRET_VALUE,
    };
    await assertRefused({ env: 'SOME_PASSWORD' }, own, /environment variable SOME_PASSWORD, which is not named TWOWAY_SECRET_<NAME>/, ENV_RULE);
    await assertRefused({ env: 'DATABASE_URL' }, own, /environment variable DATABASE_URL, which is one of the worker's own settings/, ENV_RULE);
    await assertRefused({ env: 'TEMPORAL_API_KEY' }, own, /environment variable TEMPORAL_API_KEY, which is one of the worker's own settings/, ENV_RULE);
    // The prefix's own setting starts with the default prefix; it is still the worker's.
    await assertRefused(
      { env: 'TWOWAY_SECRET_ENV_PREFIX' },
      { ...env, TWOWAY_SECRET_ENV_PREFIX: 'TWOWAY_SECRET_' },
      /one of the worker's own settings/,
      ENV_RULE,
    );
    await assertRefused({ env: 'TWOWAY_SECRET_' }, { ...env, TWOWAY_SECRET_: SECRET_VALUE }, /is not named TWOWAY_SECRET_<NAME>/, ENV_RULE);
    // An operator's prefix that matches the worker's own variables does not open them.
    await assertRefused(
      { env: 'TEMPORAL_API_KEY' },
      { ...own, TWOWAY_SECRET_ENV_PREFIX: 'TEMPORAL_' },
      /one of the worker's own settings/,
      /allowed: an environment variable named TEMPORAL_<NAME>/,
    );
  });

  it('refuses files outside the secrets folder, by path, by ".." and by symbolic link', async () => {
    await assertRefused({ file: '/proc/self/environ' }, env, new RegExp(`file /proc/self/environ, which is outside the secrets folder ${dir}`), fileRule());
    await assertRefused({ file: outside }, env, /which is outside the secrets folder/, fileRule());
    await assertRefused({ file: `${dir}/../outside` }, env, /which is not a plain absolute path \(it has empty, "\." or "\.\." parts\)/, fileRule());
    const escape = join(dir, 'escape');
    await symlink(outside, escape);
    await assertRefused({ file: escape }, env, /which leads outside the secrets folder .* through a symbolic link/, fileRule());
    const escapingFolder = join(dir, 'folder-link');
    await symlink(root, escapingFolder);
    await assertRefused({ file: join(escapingFolder, 'outside') }, env, /which leads outside the secrets folder/, fileRule());
    const environLink = join(dir, 'environ');
    await symlink('/proc/self/environ', environLink);
    await assertRefused({ file: environLink }, env, /which leads outside the secrets folder/, fileRule());
  });

  it("refuses a secret file group or others can read or write, one that is not a regular file, and the worker's own files", async () => {
    await assertRefused(
      { file: await secretFile('group-readable', `${SECRET_VALUE}\n`, 0o640) },
      env,
      /which can be read or written by group or others \(mode 640\)/,
      fileRule(),
    );
    await assertRefused({ file: await secretFile('world-readable', `${SECRET_VALUE}\n`, 0o604) }, env, /\(mode 604\)/, fileRule());
    await assertRefused({ file: await secretFile('group-writable', `${SECRET_VALUE}\n`, 0o620) }, env, /\(mode 620\)/, fileRule());
    const folder = join(dir, 'a-folder');
    await mkdir(folder, { mode: 0o700 });
    await assertRefused({ file: folder }, env, /which is not a regular file/, fileRule());
    // A FIFO would block a plain open until a writer comes: it is refused at once.
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', ['-m', '600', fifo]);
    await assertRefused({ file: fifo }, env, /which is not a regular file/, fileRule());
    const tlsKey = await secretFile('temporal-tls.key');
    await assertRefused({ file: tlsKey }, { ...env, TEMPORAL_TLS_KEY: tlsKey }, /which is the worker's own TEMPORAL_TLS_KEY/, fileRule());
    const tlsLink = join(dir, 'tls-link');
    await symlink(tlsKey, tlsLink);
    await assertRefused({ file: tlsLink }, { ...env, TEMPORAL_TLS_KEY: tlsKey }, /which is the worker's own TEMPORAL_TLS_KEY/, fileRule());
  });
});

describe('resolveCredentials', () => {
  it('takes a password file without its trailing line break, and a key and passphrase from the environment', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'twoway-credentials-'));
    try {
      const path = join(dir, 'password');
      await writeFile(path, 'pa ss\n', { mode: 0o600 });
      const env = { TWOWAY_SECRETS_DIR: dir };
      assert.deepEqual(await resolveCredentials('acme', { method: 'password', password: { file: path } }, env), { method: 'password', password: 'pa ss' });
      const key = await resolveCredentials(
        'acme',
        { method: 'privateKey', privateKey: { env: 'TWOWAY_SECRET_KEY' }, passphrase: { env: 'TWOWAY_SECRET_PASS' } },
        { TWOWAY_SECRET_KEY: 'key text', TWOWAY_SECRET_PASS: 'phrase' },
      );
      assert.deepEqual(key, { method: 'privateKey', privateKey: Buffer.from('key text'), passphrase: 'phrase' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names the field of the reference it refuses', async () => {
    await assert.rejects(
      resolveCredentials(
        'acme',
        { method: 'privateKey', privateKey: { env: 'TWOWAY_SECRET_KEY' }, passphrase: { env: 'DATABASE_URL' } },
        {
          TWOWAY_SECRET_KEY: 'key text',
          DATABASE_URL: 'postgres://u:p@h/d',
        },
      ),
      (error: unknown) => error instanceof SecretReferenceRefusedError && error.field === 'delivery.passphrase',
    );
  });
});
