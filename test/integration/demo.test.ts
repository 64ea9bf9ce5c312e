import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCliProcess } from '../support/cli.js';

describe('demo --once (every real part, started by the project itself)', () => {
  it('delivers and verifies every demo file, shows the failed period and the UI, then stops cleanly', async () => {
    // No DATABASE_URL: the demo starts its own embedded PostgreSQL, as on a fresh machine.
    const result = await runCliProcess(['demo', '--once', '--events', '5000'], { DATABASE_URL: '' });
    assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
    const out = result.stdout;
    assert.match(out, /^acme \(daily\): 3 delivered, 0 skipped, 0 failed of 3$/m);
    assert.match(out, /^globex \(weekly\): 1 delivered/m);
    assert.match(out, /^initech \(monthly\): 1 delivered/m);
    assert.match(out, /^hooli \(daily\): 0 delivered, 0 skipped, 3 failed of 3$/m);
    assert.match(out, /^ {2}FAILED {4}hooli \d{4}-\d\d-\d\d: client "hooli": SFTP server 127\.0\.0\.1:\d+ refused password login/m);
    assert.match(out, /^schedule skipped {3}umbrella: sandbox client$/m);
    assert.match(out, /^Temporal Web UI: {3}http:\/\/127\.0\.0\.1:\d+ /m);
    assert.match(out, /^failed periods: {4}http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\?query=TwowayClient%3D%22hooli%22/m);
    const checks = out.split('\n').filter((line) => /^(ok {3}|FAIL )/.test(line));
    assert.ok(checks.length >= 9, out);
    assert.deepEqual(checks.filter((line) => line.startsWith('FAIL')), []);
    assert.match(out, /^ok {3}5 files delivered$/m);
  });
});
