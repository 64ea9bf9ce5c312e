import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ENVIRONMENT_VARIABLES, InvalidEnvironmentError } from '../../src/config/env.js';
import { WEBHOOK_REQUEST_TIMEOUT_MS } from '../../src/notifications/policy.js';
import { describeWebhookEndpoint, parseWebhookSettings } from '../../src/notifications/settings.js';

const SECRET = 'whsec_settings_test_0123456789';

function refusal(env: NodeJS.ProcessEnv): InvalidEnvironmentError {
  try {
    parseWebhookSettings(env);
  } catch (error) {
    assert.ok(error instanceof InvalidEnvironmentError, `an InvalidEnvironmentError, got ${String(error)}`);
    return error;
  }
  assert.fail(`${JSON.stringify(env)} was accepted`);
}

describe('webhook settings from the environment', () => {
  it('are off when the URL is unset, empty or the documented default', () => {
    assert.equal(parseWebhookSettings({}), null);
    assert.equal(parseWebhookSettings({ TWOWAY_WEBHOOK_URL: '  ', TWOWAY_WEBHOOK_SECRET: SECRET }), null);
    const defaults = Object.fromEntries(
      ENVIRONMENT_VARIABLES.filter((entry) => entry.name.startsWith('TWOWAY_WEBHOOK_')).map((entry) => [entry.name, entry.default]),
    );
    assert.deepEqual(Object.keys(defaults), ['TWOWAY_WEBHOOK_URL', 'TWOWAY_WEBHOOK_SECRET', 'TWOWAY_WEBHOOK_FORMAT']);
    assert.equal(parseWebhookSettings(defaults), null, 'the defaults written out, as a compose file would');
  });

  it('read URL, secret and format', () => {
    assert.deepEqual(parseWebhookSettings({ TWOWAY_WEBHOOK_URL: 'https://hooks.example.com/twoway?x=1', TWOWAY_WEBHOOK_SECRET: ` ${SECRET} ` }), {
      url: 'https://hooks.example.com/twoway?x=1',
      format: 'json',
      secret: SECRET,
      timeoutMs: WEBHOOK_REQUEST_TIMEOUT_MS,
    });
    assert.deepEqual(
      parseWebhookSettings({ TWOWAY_WEBHOOK_URL: 'https://hooks.slack.com/services/T0/B0/abc', TWOWAY_WEBHOOK_FORMAT: 'slack', TWOWAY_WEBHOOK_SECRET: 'none' }),
      {
        url: 'https://hooks.slack.com/services/T0/B0/abc',
        format: 'slack',
        secret: null,
        timeoutMs: WEBHOOK_REQUEST_TIMEOUT_MS,
      },
      'Slack ignores the signature, so the secret may be left out',
    );
  });

  it("refuse what cannot work, naming the variable and what is allowed, never showing the secret or the URL's path and query", () => {
    const cases: Array<[NodeJS.ProcessEnv, RegExp]> = [
      [
        { TWOWAY_WEBHOOK_URL: 'hooks.example.com/tok3n' },
        /^TWOWAY_WEBHOOK_URL is a value of 23 characters that is not a URL; allowed: an absolute http:\/\/ or https:\/\/ URL/,
      ],
      [{ TWOWAY_WEBHOOK_URL: 'ftp://hooks.example.com/tok3n' }, /^TWOWAY_WEBHOOK_URL is a URL of scheme "ftp"; allowed/],
      [
        { TWOWAY_WEBHOOK_URL: 'https://user:tok3n@hooks.example.com/' },
        /^TWOWAY_WEBHOOK_URL is a URL of https:\/\/hooks\.example\.com with a user or password; allowed: .*without user or password/,
      ],
      [
        { TWOWAY_WEBHOOK_URL: 'https://hooks.example.com/tok3n' },
        /^TWOWAY_WEBHOOK_SECRET is not set; allowed: at least 16 characters .*required with TWOWAY_WEBHOOK_FORMAT=json/,
      ],
      [
        { TWOWAY_WEBHOOK_URL: 'https://hooks.example.com/tok3n', TWOWAY_WEBHOOK_SECRET: 'tok3n-short' },
        /^TWOWAY_WEBHOOK_SECRET is 11 characters long; allowed: at least 16 characters/,
      ],
      [
        { TWOWAY_WEBHOOK_URL: 'https://hooks.example.com/tok3n', TWOWAY_WEBHOOK_SECRET: SECRET, TWOWAY_WEBHOOK_FORMAT: 'xml' },
        /^TWOWAY_WEBHOOK_FORMAT is "xml"; allowed: json or slack$/,
      ],
    ];
    for (const [env, message] of cases) {
      const error = refusal(env);
      assert.match(error.message, message);
      assert.doesNotMatch(error.message, /tok3n/, "neither the secret nor the URL's path or credentials");
    }
  });

  it('describe an endpoint by scheme, host and port only', () => {
    assert.equal(describeWebhookEndpoint('https://hooks.slack.com/services/T0/B0/tok3n'), 'https://hooks.slack.com/…');
    assert.equal(describeWebhookEndpoint('http://127.0.0.1:8787/'), 'http://127.0.0.1:8787');
    assert.equal(describeWebhookEndpoint('http://127.0.0.1:8787/?key=tok3n'), 'http://127.0.0.1:8787/…');
    assert.equal(describeWebhookEndpoint('https://user:tok3n@example.com:8443/x'), 'https://example.com:8443/…');
    assert.equal(describeWebhookEndpoint('not a url tok3n'), 'an unparsable URL');
  });
});
