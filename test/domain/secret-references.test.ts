import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseClientConfig, type ClientRow } from '../../src/domain/client-config.js';
import { SecretReferenceRefusedError } from '../../src/domain/errors.js';
import { assertClientSecretsAllowed, assertSecretReferenceAllowed, isPlainAbsolutePath, type SecretRules } from '../../src/domain/secret-references.js';
import type { SecretReference } from '../../src/domain/types.js';

const RULES: SecretRules = {
  envPrefix: 'TWOWAY_SECRET_',
  secretsDir: '/run/secrets/twoway',
  ownVariables: new Set(['DATABASE_URL', 'TEMPORAL_API_KEY', 'TWOWAY_SECRET_ENV_PREFIX']),
  ownFiles: [{ variable: 'TEMPORAL_TLS_KEY', path: '/run/secrets/twoway/temporal.key' }],
};

function refused(ref: SecretReference, problem: RegExp) {
  assert.throws(
    () => assertSecretReferenceAllowed('acme', 'delivery.password', ref, RULES),
    (error: unknown) => {
      assert.ok(error instanceof SecretReferenceRefusedError, String(error));
      assert.equal(error.clientId, 'acme');
      assert.equal(error.field, 'delivery.password');
      assert.match(error.message, /^client "acme": delivery\.password refers to (environment variable|file) \S+, which .*; allowed: .+/);
      assert.match(error.problem, problem);
      return true;
    },
    JSON.stringify(ref),
  );
}

describe('secret reference rules (as written)', () => {
  it('allows variables under the prefix and plain paths inside the secrets folder', () => {
    for (const ref of [{ env: 'TWOWAY_SECRET_ACME_SFTP_PASSWORD' }, { file: '/run/secrets/twoway/acme_key' }, { file: '/run/secrets/twoway/acme/key' }]) {
      assertSecretReferenceAllowed('acme', 'delivery.password', ref, RULES);
    }
  });

  it("refuses other variables, the worker's own settings, paths outside the folder or not plain, and the worker's own files", () => {
    refused({ env: 'ACME_SFTP_PASSWORD' }, /^is not named TWOWAY_SECRET_<NAME>$/);
    refused({ env: 'TWOWAY_SECRET_' }, /^is not named TWOWAY_SECRET_<NAME>$/);
    refused({ env: 'DATABASE_URL' }, /^is one of the worker's own settings$/);
    refused({ env: 'TWOWAY_SECRET_ENV_PREFIX' }, /^is one of the worker's own settings$/);
    refused({ file: '/proc/self/environ' }, /^is outside the secrets folder \/run\/secrets\/twoway$/);
    refused({ file: '/run/secrets/twoway' }, /^is outside the secrets folder/);
    refused({ file: '/run/secrets/twoway-other/key' }, /^is outside the secrets folder/);
    refused({ file: '/run/secrets/twoway/../db_password' }, /^is not a plain absolute path/);
    refused({ file: 'run/secrets/twoway/key' }, /^is not a plain absolute path/);
    refused({ file: '/run/secrets/twoway/temporal.key' }, /^is the worker's own TEMPORAL_TLS_KEY$/);
  });

  it('knows a plain absolute path', () => {
    assert.deepEqual(['/a', '/a/b.c', '/', '', 'a/b', '/a/', '/a//b', '/a/./b', '/a/../b', '/a\0b'].map(isPlainAbsolutePath), [
      true,
      true,
      false,
      false,
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
  });

  it("checks every reference of a client's login, by its field", () => {
    const row: ClientRow = {
      id: 'acme',
      name: 'Acme',
      environment: 'production',
      timezone: 'UTC',
      frequency: 'daily',
      enabled: true,
      after_hours: null,
      file_name_template: null,
      delivery: {
        protocol: 'sftp',
        host: 'sftp.example.com',
        username: 'acme',
        remoteDir: '/in',
        hostKeySha256: `SHA256:${'A'.repeat(43)}`,
        privateKey: { file: '/run/secrets/twoway/acme_key' },
        passphrase: { env: 'TEMPORAL_API_KEY' },
      },
    };
    assert.throws(
      () => assertClientSecretsAllowed(parseClientConfig(row), RULES),
      (error: unknown) => error instanceof SecretReferenceRefusedError && error.field === 'delivery.passphrase',
    );
    assertClientSecretsAllowed(parseClientConfig({ ...row, delivery: null, enabled: false }), RULES);
  });
});
