import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidEnvironmentError, parseUiSettings } from '../../src/config/env.js';

const TOKEN = 'a-token-of-enough-length';

describe('parseUiSettings', () => {
  it('defaults to loopback port 8080 without a token or Temporal UI links', () => {
    assert.deepEqual(parseUiSettings({}), { host: '127.0.0.1', port: 8080, token: null, temporalUiUrl: null });
  });

  it('refuses an address off loopback without a token, naming the variable and never a token value', () => {
    assert.throws(
      () => parseUiSettings({ TWOWAY_UI_ADDRESS: '0.0.0.0:8080' }),
      (error: unknown) => {
        assert.ok(error instanceof InvalidEnvironmentError);
        assert.match(
          error.message,
          /^TWOWAY_UI_TOKEN is not set; allowed: a token of 16 characters or more whenever TWOWAY_UI_ADDRESS \(0\.0\.0\.0:8080\) is not a loopback address$/,
        );
        return true;
      },
    );
    assert.deepEqual(parseUiSettings({ TWOWAY_UI_ADDRESS: '0.0.0.0:9000', TWOWAY_UI_TOKEN: TOKEN }), {
      host: '0.0.0.0',
      port: 9000,
      token: TOKEN,
      temporalUiUrl: null,
    });
  });

  it('accepts every loopback form without a token', () => {
    for (const address of ['localhost:1', '127.0.0.2:8080', '[::1]:8080']) assert.equal(parseUiSettings({ TWOWAY_UI_ADDRESS: address }).token, null, address);
  });

  it('refuses a short token without showing it, a bad address and a bad Temporal UI URL', () => {
    assert.throws(
      () => parseUiSettings({ TWOWAY_UI_TOKEN: 'short-secret' }),
      (error: unknown) =>
        error instanceof Error && /TWOWAY_UI_TOKEN is a token of 12 characters/.test(error.message) && !error.message.includes('short-secret'),
    );
    assert.throws(() => parseUiSettings({ TWOWAY_UI_ADDRESS: '8080' }), /TWOWAY_UI_ADDRESS is "8080"; allowed: host:port/);
    assert.throws(() => parseUiSettings({ TWOWAY_TEMPORAL_UI_URL: 'localhost:8233' }), /TWOWAY_TEMPORAL_UI_URL is "localhost:8233"/);
    assert.equal(parseUiSettings({ TWOWAY_TEMPORAL_UI_URL: 'http://localhost:8233/' }).temporalUiUrl, 'http://localhost:8233');
  });
});
