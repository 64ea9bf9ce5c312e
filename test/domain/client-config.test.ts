import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assertClientUsable,
  assertReportable,
  parseClientConfig,
  parseDeliverySettings,
  requireDelivery,
  type ClientRow,
} from '../../src/domain/client-config.js';
import { ClientNotEligibleError, InvalidClientSettingError } from '../../src/domain/errors.js';

const HOST_KEY = `SHA256:${'A'.repeat(43)}`;
const DELIVERY = {
  protocol: 'sftp',
  host: 'sftp.example.com',
  port: 2222,
  username: 'acme',
  remoteDir: '/inbound/twoway/',
  hostKeySha256: HOST_KEY,
  password: { env: 'ACME_SFTP_PASSWORD' },
};
const ROW: ClientRow = {
  id: 'acme',
  name: 'Acme',
  environment: 'production',
  timezone: 'America/Chicago',
  frequency: 'daily',
  enabled: true,
  after_hours: null,
  delivery: DELIVERY,
  file_name_template: null,
};

function refusal(pattern: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof InvalidClientSettingError, `expected InvalidClientSettingError, got ${String(error)}`);
    assert.match(error.message, pattern);
    assert.match(error.message, /^client "acme": .* is .*; allowed: .+/);
    return true;
  };
}

describe('parseClientConfig', () => {
  it('accepts a complete row and applies defaults', () => {
    const client = parseClientConfig(ROW);
    assert.equal(client.timeZone, 'America/Chicago');
    assert.equal(client.fileNameTemplate, 'twoway_activity_{client}_{frequency}_{start}.csv');
    assert.deepEqual(client.delivery, {
      protocol: 'sftp',
      host: 'sftp.example.com',
      port: 2222,
      username: 'acme',
      remoteDir: '/inbound/twoway',
      hostKeySha256: HOST_KEY,
      auth: { method: 'password', password: { env: 'ACME_SFTP_PASSWORD' } },
      checksumFile: false,
      gzip: false,
    });
  });

  it('names the field, the value and what is allowed', () => {
    assert.throws(() => parseClientConfig({ ...ROW, environment: 'staging' }), refusal(/environment is "staging"; allowed: "production", "sandbox"/));
    assert.throws(() => parseClientConfig({ ...ROW, timezone: 'Mars/Olympus' }), refusal(/timezone is "Mars\/Olympus"; allowed: an IANA time zone/));
    assert.throws(
      () => parseClientConfig({ ...ROW, timezone: 'est' }),
      refusal(/timezone is "est"; allowed: an IANA time zone .*did you mean "America\/Panama"\?/),
    );
    assert.throws(() => parseClientConfig({ ...ROW, timezone: 'america/chicago' }), refusal(/did you mean "America\/Chicago"\?/));
    assert.throws(
      () => parseClientConfig({ ...ROW, after_hours: { timezone: 'europe/london', businessHours: {} } }),
      refusal(/after_hours\.timezone is "europe\/london"; .*did you mean "Europe\/London"\?/),
    );
    assert.throws(() => parseClientConfig({ ...ROW, enabled: 'maybe' as unknown as boolean }), refusal(/enabled is "maybe"; allowed: true or false/));
    assert.throws(() => parseClientConfig({ ...ROW, name: '  ' }), refusal(/name is "  "; allowed: a non-empty text/));
    assert.throws(() => parseClientConfig({ ...ROW, frequency: 'hourly' }), refusal(/frequency is "hourly"; allowed: "daily", "weekly", "monthly"/));
    assert.throws(() => parseClientConfig({ ...ROW, file_name_template: 'x.csv' }), refusal(/file_name_template is "x.csv"/));
    assert.throws(
      () => parseClientConfig({ ...ROW, after_hours: { businessHours: { mon: [['09:00', '25:00']] } } }),
      refusal(/after_hours\.businessHours\.mon\[0\]\[1\] is "25:00"/),
    );
  });

  it('refuses a client id that cannot be part of a file name', () => {
    assert.throws(
      () => parseClientConfig({ ...ROW, id: 'acme/../x' }),
      (error: unknown) => {
        assert.ok(error instanceof InvalidClientSettingError);
        assert.match(error.message, /^client "acme\/\.\.\/x": id is "acme\/\.\.\/x"; allowed: letters, digits/);
        return true;
      },
    );
  });
});

describe('eligibility', () => {
  it('refuses sandbox clients for any report, and disabled ones for delivery only', () => {
    assert.throws(
      () => assertReportable(parseClientConfig({ ...ROW, environment: 'sandbox' }), 'render'),
      (error: unknown) => {
        assert.ok(error instanceof ClientNotEligibleError);
        assert.match(error.message, /client "acme": environment is "sandbox"; allowed: "production"/);
        return true;
      },
    );
    const disabled = parseClientConfig({ ...ROW, enabled: false });
    assert.doesNotThrow(() => assertReportable(disabled, 'render'));
    assert.throws(() => assertReportable(disabled, 'deliver'), /enabled is false/);
  });

  it('requires delivery settings to deliver', () => {
    assert.throws(() => requireDelivery(parseClientConfig({ ...ROW, delivery: null })), refusal(/delivery is null/));
  });

  it('requires delivery settings of a scheduled client only: enabled and production', () => {
    assert.throws(() => assertClientUsable(parseClientConfig({ ...ROW, delivery: null })), refusal(/delivery is null/));
    assert.doesNotThrow(() => assertClientUsable(parseClientConfig({ ...ROW, delivery: null, enabled: false })));
    assert.doesNotThrow(() => assertClientUsable(parseClientConfig({ ...ROW, delivery: null, environment: 'sandbox' })));
  });
});

describe('parseDeliverySettings', () => {
  const parse = (patch: Record<string, unknown>) => parseDeliverySettings('acme', { ...DELIVERY, ...patch });

  it('takes key authentication with an optional passphrase, and the options', () => {
    const { password: _password, ...withoutPassword } = DELIVERY;
    const settings = parseDeliverySettings('acme', {
      ...withoutPassword,
      privateKey: { file: '/run/secrets/acme_key' },
      passphrase: { env: 'ACME_KEY_PASSPHRASE' },
      checksumFile: true,
      gzip: true,
    });
    assert.deepEqual(settings?.auth, { method: 'privateKey', privateKey: { file: '/run/secrets/acme_key' }, passphrase: { env: 'ACME_KEY_PASSPHRASE' } });
    assert.equal(settings?.checksumFile, true);
    assert.equal(settings?.gzip, true);
    assert.equal(parseDeliverySettings('acme', { ...DELIVERY, port: undefined })?.port, 22);
  });

  it('refuses each malformed field by name', () => {
    assert.throws(() => parse({ protocol: 'ftp' }), refusal(/delivery\.protocol is "ftp"; allowed: "sftp"/));
    assert.throws(() => parse({ host: 'bad host' }), refusal(/delivery\.host is "bad host"/));
    assert.throws(() => parse({ port: 70000 }), refusal(/delivery\.port is 70000; allowed: a whole number from 1 to 65535/));
    assert.throws(() => parse({ remoteDir: 'inbound' }), refusal(/delivery\.remoteDir is "inbound"; allowed: an absolute folder/));
    assert.throws(() => parse({ remoteDir: '/inbound/../etc' }), refusal(/delivery\.remoteDir/));
    assert.throws(() => parse({ hostKeySha256: 'md5:ab:cd' }), refusal(/delivery\.hostKeySha256 is "md5:ab:cd"/));
    assert.throws(() => parse({ hostKeySha256: undefined }), refusal(/delivery\.hostKeySha256 is nothing/));
    assert.throws(() => parse({ privateKey: { env: 'KEY' } }), refusal(/delivery\.password \/ delivery\.privateKey is both; allowed: exactly one/));
    assert.throws(() => parse({ passphrase: { env: 'P' } }), refusal(/delivery\.passphrase/));
    assert.throws(() => parse({ gzip: 'yes' }), refusal(/delivery\.gzip is "yes"; allowed: true or false/));
    assert.throws(() => parse({ remote_dir: '/x' }), refusal(/delivery\.remote_dir is present/));
  });

  it('takes one pinned host key, or a list of up to four during a rotation, and refuses any other list', () => {
    const next = `SHA256:${'B'.repeat(43)}`;
    assert.equal(parse({})?.hostKeySha256, HOST_KEY);
    assert.deepEqual(parse({ hostKeySha256: [HOST_KEY, next] })?.hostKeySha256, [HOST_KEY, next]);
    assert.deepEqual(parse({ hostKeySha256: [next] })?.hostKeySha256, [next]);
    const pins = ['C', 'D', 'E', 'F', 'G'].map((letter) => `SHA256:${letter.repeat(43)}`);
    assert.deepEqual(parse({ hostKeySha256: pins.slice(0, 4) })?.hostKeySha256, pins.slice(0, 4));
    const allowed = /allowed: .*"SHA256:" and 43 base64 characters, or during a host key rotation a list of 1 to 4 different ones$/;
    for (const given of [[], pins, [HOST_KEY, HOST_KEY], [HOST_KEY, 'md5:ab:cd'], [HOST_KEY, 7], { old: HOST_KEY }]) {
      assert.throws(() => parse({ hostKeySha256: given }), refusal(new RegExp(`delivery\\.hostKeySha256 is .*; ${allowed.source}`)), JSON.stringify(given));
    }
  });

  it('refuses a file reference that is not a plain absolute path, before any rule of the delivering process', () => {
    const { password: _password, ...withoutPassword } = DELIVERY;
    for (const file of [
      'relative/key',
      '/run/secrets/twoway/../../../proc/self/environ',
      '/run/secrets/twoway/./key',
      '/run/secrets//twoway/key',
      '/run/secrets/twoway/',
    ]) {
      assert.throws(
        () => parseDeliverySettings('acme', { ...withoutPassword, privateKey: { file } }),
        refusal(/delivery\.privateKey is an object with keys "file"; allowed: /),
        file,
      );
    }
  });

  it('takes a manifest, and parts only with one; leaves both out when not set', () => {
    assert.equal(parse({})?.manifest, undefined);
    assert.equal('maxRowsPerFile' in (parse({}) ?? {}), false);
    assert.equal(parse({ manifest: false })?.manifest, undefined);
    assert.equal(parse({ manifest: true })?.manifest, true);
    const split = parse({ manifest: true, maxRowsPerFile: 500_000 });
    assert.deepEqual([split?.manifest, split?.maxRowsPerFile], [true, 500_000]);
  });

  it('refuses a malformed manifest or maxRowsPerFile by name, and parts without a manifest', () => {
    assert.throws(() => parse({ manifest: 'yes' }), refusal(/delivery\.manifest is "yes"; allowed: true or false/));
    for (const bad of [0, -5, 2.5, '1000', null, Number.MAX_SAFE_INTEGER + 1]) {
      assert.throws(
        () => parse({ manifest: true, maxRowsPerFile: bad }),
        refusal(/delivery\.maxRowsPerFile is .*; allowed: a whole number of data rows per file, from 1/),
      );
    }
    assert.throws(
      () => parse({ maxRowsPerFile: 1000 }),
      refusal(/delivery\.maxRowsPerFile is 1000 without delivery\.manifest; allowed: parts only together with "manifest": true/),
    );
  });

  it('never repeats a secret given where a reference belongs', () => {
    for (const password of ['hunter2-secret', { value: 'hunter2-secret' }, { env: 'hunter2-secret!' }]) {
      assert.throws(
        () => parse({ password }),
        (error: unknown) => {
          assert.ok(error instanceof InvalidClientSettingError);
          assert.match(
            error.message,
            /delivery\.password is .*; allowed: \{"env": "TWOWAY_SECRET_NAME"\} \(a variable under TWOWAY_SECRET_ENV_PREFIX\) or \{"file": "\/run\/secrets\/twoway\/name"\} \(a plain absolute path inside TWOWAY_SECRETS_DIR\)/,
          );
          assert.ok(!error.message.includes('hunter2'), error.message);
          return true;
        },
      );
    }
  });
});
