import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { temporalCliEnv } from '../../../src/cli/commands/temporal.js';

describe("the Temporal CLI's environment", () => {
  it("is the project's server and namespace, defaults included", () => {
    const env = temporalCliEnv({ PATH: '/bin' });
    assert.deepEqual([env.TEMPORAL_ADDRESS, env.TEMPORAL_NAMESPACE, env.PATH], ['localhost:7233', 'default', '/bin']);
    const set = temporalCliEnv({ TEMPORAL_ADDRESS: ' temporal.internal:7233 ', TEMPORAL_NAMESPACE: 'reports' });
    assert.deepEqual([set.TEMPORAL_ADDRESS, set.TEMPORAL_NAMESPACE], ['temporal.internal:7233', 'reports']);
  });

  it("gives the project's TLS files under the CLI's names, unless the CLI's own are set", () => {
    const env = temporalCliEnv({
      TEMPORAL_TLS_CERT: '/tls/client.crt',
      TEMPORAL_TLS_KEY: '/tls/client.key',
      TEMPORAL_TLS_CA: '/tls/ca.pem',
      TEMPORAL_TLS_CLIENT_KEY_PATH: '/own.key',
    });
    assert.deepEqual(
      [env.TEMPORAL_TLS_CLIENT_CERT_PATH, env.TEMPORAL_TLS_CLIENT_KEY_PATH, env.TEMPORAL_TLS_SERVER_CA_CERT_PATH],
      ['/tls/client.crt', '/own.key', '/tls/ca.pem'],
    );
    assert.equal(temporalCliEnv({}).TEMPORAL_TLS_CLIENT_CERT_PATH, undefined);
  });
});
