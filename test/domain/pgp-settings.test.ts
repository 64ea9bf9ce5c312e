import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDeliverySettings } from '../../src/domain/client-config.js';
import { InvalidClientSettingError } from '../../src/domain/errors.js';
import { MAX_PGP_RECIPIENTS } from '../../src/domain/pgp-settings.js';

const DELIVERY = {
  protocol: 'sftp',
  host: 'sftp.example.com',
  username: 'acme',
  remoteDir: '/inbound',
  hostKeySha256: `SHA256:${'A'.repeat(43)}`,
  password: { env: 'ACME_SFTP_PASSWORD' },
};

const parse = (pgp: unknown) => parseDeliverySettings('acme', { ...DELIVERY, pgp });

function refusal(pattern: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof InvalidClientSettingError, `expected InvalidClientSettingError, got ${String(error)}`);
    assert.match(error.message, pattern);
    assert.match(error.message, /^client "acme": delivery\.pgp\S* is .*; allowed: .+/);
    return true;
  };
}

describe('delivery.pgp', () => {
  it('is absent unless set: files go out as they are', () => {
    assert.equal(parseDeliverySettings('acme', DELIVERY)?.pgp, undefined);
    assert.equal(parse(null)?.pgp, undefined);
  });

  it('takes recipients, a signing key and its passphrase as references, binary by default', () => {
    assert.deepEqual(parse({ recipients: [{ file: '/secrets/acme.asc' }] })?.pgp, {
      recipients: [{ file: '/secrets/acme.asc' }],
      signingKey: null,
      signingPassphrase: null,
      armor: false,
    });
    assert.deepEqual(
      parse({
        recipients: [{ file: '/secrets/acme-2026.asc' }, { env: 'ACME_PGP_NEXT' }],
        signingKey: { file: '/secrets/twoway-signing.asc' },
        signingPassphrase: { env: 'TWOWAY_SIGNING_PASSPHRASE' },
        armor: true,
      })?.pgp,
      {
        recipients: [{ file: '/secrets/acme-2026.asc' }, { env: 'ACME_PGP_NEXT' }],
        signingKey: { file: '/secrets/twoway-signing.asc' },
        signingPassphrase: { env: 'TWOWAY_SIGNING_PASSPHRASE' },
        armor: true,
      },
    );
  });

  it('refuses each malformed part by its field', () => {
    assert.throws(() => parse('yes'), refusal(/delivery\.pgp is "yes"; allowed: an object/));
    assert.throws(() => parse({}), refusal(/delivery\.pgp\.recipients is nothing; allowed: a list of 1 to 8 references/));
    assert.throws(() => parse({ recipients: [] }), refusal(/delivery\.pgp\.recipients is a list of 0/));
    const many = Array.from({ length: MAX_PGP_RECIPIENTS + 1 }, (_, index) => ({ file: `/secrets/${index}.asc` }));
    assert.throws(() => parse({ recipients: many }), refusal(/delivery\.pgp\.recipients is a list of 9/));
    assert.throws(
      () => parse({ recipients: [{ file: '/a.asc' }, { file: 'relative.asc' }] }),
      refusal(/delivery\.pgp\.recipients\[1\] is an object with keys "file"/),
    );
    assert.throws(() => parse({ recipients: [{ file: '/a.asc' }], armor: 'yes' }), refusal(/delivery\.pgp\.armor is "yes"; allowed: true or false/));
    assert.throws(() => parse({ recipients: [{ file: '/a.asc' }], compress: true }), refusal(/delivery\.pgp\.compress is present; allowed: only recipients/));
    assert.throws(
      () => parse({ recipients: [{ file: '/a.asc' }], signingPassphrase: { env: 'X' } }),
      refusal(/delivery\.pgp\.signingPassphrase is a reference; allowed: a passphrase only together with delivery\.pgp\.signingKey/),
    );
  });

  it('never repeats a key given in place of a reference', () => {
    const armored = '-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQdGBGVsecret\n-----END PGP PRIVATE KEY BLOCK-----';
    assert.throws(
      () => parse({ recipients: [{ file: '/a.asc' }], signingKey: armored }),
      (error: unknown) => error instanceof InvalidClientSettingError && error.field === 'delivery.pgp.signingKey' && !error.message.includes('lQdGBGVsecret'),
    );
  });
});
