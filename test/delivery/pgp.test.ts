import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { access, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { prepareLocalFile, type LocalFile } from '../../src/delivery/local-file.js';
import { openPgpKeyring } from '../../src/delivery/pgp.js';
import { decryptMessage } from '../../src/devstack/pgp-keys.js';
import { NON_RETRYABLE_ERROR_TYPES, SecretUnavailableError, UnusablePgpKeyError } from '../../src/domain/errors.js';
import type { PgpSettings } from '../../src/domain/types.js';
import { createTestKeys, SIGNING_PASSPHRASE, type TestKeys } from '../support/pgp.js';

const CSV = 'agent_email,customer_first_name,event\r\nana@support.example,"Mary, Jr.",customer_message_sent\r\nwei@support.example,李,agent_ping\r\n';
const PASSPHRASE_VARIABLE = 'TWOWAY_SECRET_TEST_PGP_SIGNING_PASSPHRASE';

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

describe('PGP encryption with the real gpg: keys checked, files encrypted as a stream, decrypted and verified as a client does', () => {
  let dir: string;
  let keys: TestKeys;
  let csvPath: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'twoway-pgp-test-'));
    keys = await createTestKeys(join(dir, 'keys'));
    // Key references must lie inside the secrets folder (delivery/secrets.ts).
    env = { TWOWAY_SECRETS_DIR: join(dir, 'keys'), [PASSPHRASE_VARIABLE]: SIGNING_PASSPHRASE };
    csvPath = join(dir, 'twoway_activity_acme_daily_20261124.csv');
    await writeFile(csvPath, CSV);
  });

  after(async () => {
    await keys?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  const settings = (patch: Partial<PgpSettings> = {}): PgpSettings => ({
    recipients: [{ file: keys.files.alicePublic }],
    signingKey: null,
    signingPassphrase: null,
    armor: false,
    ...patch,
  });

  /** Encrypts the CSV with these settings and returns the prepared file's bytes and facts; the keyring is gone afterwards. */
  async function encrypt(pgpSettings: PgpSettings, gzip = false): Promise<{ file: LocalFile; bytes: Buffer; home: string }> {
    const keyring = await openPgpKeyring('acme', pgpSettings, env);
    try {
      const file = await prepareLocalFile(csvPath, 'twoway_activity_acme_daily_20261124.csv', {
        gzip,
        pgp: keyring,
        signal: undefined,
        onBytes: () => undefined,
      });
      const bytes = await readFile(file.path);
      await file.dispose();
      return { file, bytes, home: keyring.home };
    } finally {
      await keyring.dispose();
    }
  }

  it('encrypts only: <name>.csv.pgp (0600) that the recipient decrypts to the CSV byte for byte, unsigned; both sha256s known; the keyring is removed', async () => {
    const { file, bytes, home } = await encrypt(settings());
    assert.equal(file.name, 'twoway_activity_acme_daily_20261124.csv.pgp');
    assert.equal(file.bytes, bytes.length);
    assert.equal(file.sha256, sha256(bytes));
    assert.equal(file.csvSha256, sha256(CSV));
    assert.equal(file.contentSha256, null, 'an encrypted file is recognised by its own bytes only, never by its CSV');
    const decrypted = await decryptMessage(keys.aliceHome, bytes);
    assert.deepEqual(decrypted.plaintext, Buffer.from(CSV));
    assert.equal(decrypted.signedBy, null);
    assert.match(decrypted.status, /^\[GNUPG:\] DECRYPTION_OKAY$/m);
    await assert.rejects(access(home), { code: 'ENOENT' }, 'the temporary GNUPGHOME is deleted');
    await assert.rejects(access(file.path), { code: 'ENOENT' }, 'dispose removes the encrypted file');
  });

  it('writes the encrypted file 0600 in a keyring folder that is 0700', async () => {
    const keyring = await openPgpKeyring('acme', settings(), env);
    try {
      assert.equal((await stat(keyring.home)).mode & 0o777, 0o700);
      const file = await prepareLocalFile(csvPath, 'mode.csv', { gzip: false, pgp: keyring, signal: undefined, onBytes: () => undefined });
      assert.equal((await stat(file.path)).mode & 0o777, 0o600);
      await file.dispose();
    } finally {
      await keyring.dispose();
    }
  });

  it('draws a new session key every time: the same CSV never encrypts to the same bytes', async () => {
    const first = await encrypt(settings());
    const second = await encrypt(settings());
    assert.notEqual(first.file.sha256, second.file.sha256);
    assert.equal(first.file.csvSha256, second.file.csvSha256);
  });

  it('encrypts and signs: gpg --decrypt reports a good signature by our signing key', async () => {
    const { bytes } = await encrypt(settings({ signingKey: { file: keys.files.signerSecret } }));
    const decrypted = await decryptMessage(keys.aliceHome, bytes);
    assert.deepEqual(decrypted.plaintext, Buffer.from(CSV));
    assert.equal(decrypted.signedBy, keys.signerFingerprint);
    assert.match(decrypted.status, /^\[GNUPG:\] GOODSIG /m);
  });

  it('signs with a passphrase-protected key whose passphrase comes from its own reference', async () => {
    const { bytes } = await encrypt(settings({ signingKey: { file: keys.files.protectedSignerSecret }, signingPassphrase: { env: PASSPHRASE_VARIABLE } }));
    assert.equal((await decryptMessage(keys.aliceHome, bytes)).signedBy, keys.protectedSignerFingerprint);
  });

  it('encrypts to two recipients (a key rotation): each secret key alone decrypts it', async () => {
    const { bytes } = await encrypt(settings({ recipients: [{ file: keys.files.alicePublic }, { file: keys.files.bobPublic }] }));
    assert.deepEqual((await decryptMessage(keys.aliceHome, bytes)).plaintext, Buffer.from(CSV));
    assert.deepEqual((await decryptMessage(keys.bobHome, bytes)).plaintext, Buffer.from(CSV));
    const aliceOnly = await encrypt(settings());
    await assert.rejects(decryptMessage(keys.bobHome, aliceOnly.bytes), /decrypt failed|No secret key/, 'a key that is not a recipient does not decrypt');
  });

  it('gzips, then encrypts: <name>.csv.gz.pgp decrypts to the gzip of the CSV', async () => {
    const { file, bytes } = await encrypt(settings({ signingKey: { file: keys.files.signerSecret } }), true);
    assert.equal(file.name, 'twoway_activity_acme_daily_20261124.csv.gz.pgp');
    assert.equal(file.csvSha256, sha256(CSV));
    const decrypted = await decryptMessage(keys.aliceHome, bytes);
    assert.equal(decrypted.signedBy, keys.signerFingerprint);
    assert.equal(gunzipSync(decrypted.plaintext).toString('utf8'), CSV);
  });

  it('armors when asked: <name>.csv.asc is an ASCII PGP message', async () => {
    const { file, bytes } = await encrypt(settings({ armor: true }));
    assert.equal(file.name, 'twoway_activity_acme_daily_20261124.csv.asc');
    assert.match(bytes.toString('utf8'), /^-----BEGIN PGP MESSAGE-----\n/);
    assert.deepEqual((await decryptMessage(keys.aliceHome, bytes)).plaintext, Buffer.from(CSV));
  });

  describe('refuses every key it cannot use, naming the client and the field (non-retryable), never the key', () => {
    const refusal = async (pgpSettings: PgpSettings, field: string, problem: RegExp) => {
      const error = await openPgpKeyring('acme', pgpSettings, env).then(
        () => assert.fail('the keyring opened'),
        (caught: unknown) => caught,
      );
      assert.ok(error instanceof UnusablePgpKeyError, String(error));
      assert.equal(error.clientId, 'acme');
      assert.equal(error.field, field);
      assert.match(error.message, new RegExp(`^client "acme": ${field.replace(/[[\]]/g, '\\$&')} refers to (file|environment variable) `));
      assert.match(error.message, problem);
      assert.match(error.message, /; allowed: /);
      assert.ok(!error.message.includes('BEGIN PGP'), 'no key material in the message');
      return error;
    };
    const recipient = (file: string, index = 0) =>
      settings({ recipients: index === 0 ? [{ file }] : [{ file: keys.files.alicePublic }, { file }].slice(0, index + 1) });

    it('is listed as non-retryable', () => {
      assert.ok(NON_RETRYABLE_ERROR_TYPES.includes(UnusablePgpKeyError.name));
    });

    it('a file that holds no key', async () => {
      await refusal(recipient(keys.files.notAKey), 'delivery.pgp.recipients[0]', /holds no OpenPGP key gpg can read/);
    });

    it('a secret key given as recipient', async () => {
      await refusal(recipient(keys.files.aliceSecret), 'delivery.pgp.recipients[0]', /holds the secret key [0-9A-F]{40}, not a public key/);
    });

    it('an expired recipient key, in the second place of a rotation', async () => {
      await refusal(recipient(keys.files.expiredPublic, 1), 'delivery.pgp.recipients[1]', /which expired on 2020-01-02/);
    });

    it('a revoked recipient key', async () => {
      await refusal(recipient(keys.files.revokedPublic), 'delivery.pgp.recipients[0]', /which is revoked/);
    });

    it('a recipient key without an encryption subkey', async () => {
      await refusal(recipient(keys.files.signOnlyPublic), 'delivery.pgp.recipients[0]', /has no usable encryption \(sub\)key/);
    });

    it('two keys in one reference', async () => {
      await refusal(recipient(keys.files.twoPublic), 'delivery.pgp.recipients[0]', /holds 2 keys/);
    });

    it('a public key given as signing key', async () => {
      await refusal(
        settings({ signingKey: { file: keys.files.signerPublic } }),
        'delivery.pgp.signingKey',
        /holds only the public key [0-9A-F]{40}, which cannot sign/,
      );
    });

    it('a signing key that can only certify', async () => {
      await refusal(settings({ signingKey: { file: keys.files.certOnlySecret } }), 'delivery.pgp.signingKey', /has no usable signing \(sub\)key/);
    });

    it('an expired signing key', async () => {
      await refusal(settings({ signingKey: { file: keys.files.expiredSignerSecret } }), 'delivery.pgp.signingKey', /which expired on 2020-01-02/);
    });

    it('a protected signing key without its passphrase', async () => {
      await refusal(
        settings({ signingKey: { file: keys.files.protectedSignerSecret } }),
        'delivery.pgp.signingKey',
        /holds a passphrase-protected key, and delivery\.pgp\.signingPassphrase is not set/,
      );
    });

    it('a wrong passphrase is named by its reference and never shown', async () => {
      const wrong = 'not-the-passphrase-123';
      const keyring = openPgpKeyring(
        'acme',
        settings({ signingKey: { file: keys.files.protectedSignerSecret }, signingPassphrase: { env: 'TWOWAY_SECRET_TEST_WRONG_PGP_PASSPHRASE' } }),
        { ...env, TWOWAY_SECRET_TEST_WRONG_PGP_PASSPHRASE: wrong },
      );
      const error = await keyring.then(
        () => assert.fail('the keyring opened'),
        (caught: unknown) => caught,
      );
      assert.ok(error instanceof UnusablePgpKeyError, String(error));
      assert.equal(error.field, 'delivery.pgp.signingPassphrase');
      assert.match(error.message, /refers to environment variable TWOWAY_SECRET_TEST_WRONG_PGP_PASSPHRASE, which does not unlock the signing key in file /);
      assert.ok(!error.message.includes(wrong));
    });

    it('a reference that does not resolve is the secret error of that field', async () => {
      const error = await openPgpKeyring('acme', settings({ recipients: [{ env: 'TWOWAY_SECRET_TEST_PGP_UNSET' }] }), env).then(
        () => assert.fail('the keyring opened'),
        (caught: unknown) => caught,
      );
      assert.ok(error instanceof SecretUnavailableError, String(error));
      assert.equal(error.field, 'delivery.pgp.recipients[0]');
    });
  });
});
