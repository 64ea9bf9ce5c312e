import assert from 'node:assert/strict';
import { readdir, rm } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { isListening } from '../../src/devstack/ports.js';
import { runCliProcess } from '../support/cli.js';
import { demoTestSetting } from '../support/demo.js';

/** Escapes text for use inside a RegExp. */
const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('demo --once (every real part, started by the project itself)', () => {
  it('delivers and verifies every demo file, shows the failed period and the UI, then stops cleanly', async () => {
    const { dataDir, ports, env } = await demoTestSetting('demo-test');
    try {
      const result = await runCliProcess(['demo', '--once', '--events', '5000'], env);
      assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
      const out = result.stdout;
      assert.match(out, /^acme \(daily\): 3 delivered, 0 skipped, 0 failed of 3$/m);
      assert.match(out, /^globex \(weekly\): 1 delivered/m);
      assert.match(out, /^initech \(monthly\): 1 delivered/m);
      assert.match(out, /^hooli \(daily\): 0 delivered, 0 skipped, 3 failed of 3$/m);
      assert.match(out, /^vandelay \(daily\): 3 delivered, 0 skipped, 0 failed of 3$/m);
      assert.match(out, /^ {2}FAILED {4}hooli \d{4}-\d\d-\d\d: client "hooli": SFTP server 127\.0\.0\.1:\d+ refused password login/m);
      assert.match(out, /^schedule skipped {3}umbrella: sandbox client$/m);
      assert.match(out, new RegExp(`^Temporal Web UI: {3}http://127\\.0\\.0\\.1:${ports.ui} `, 'm'));
      assert.match(out, new RegExp(`^failed list: {7}TEMPORAL_ADDRESS=127\\.0\\.0\\.1:${ports.temporal} DATABASE_URL=\\S+ npx twoway-report problems$`, 'm'));
      assert.match(
        out,
        new RegExp(`^hooli's runs: {6}http://127\\.0\\.0\\.1:${ports.ui}/namespaces/default/workflows\\?query=TwowayClient%3D%22hooli%22$`, 'm'),
      );
      assert.match(out, /^watchdog: \d+ periods of 5 clients judged; 3 failed, 0 missing, 0 late; \d+ notifications sent$/m);
      assert.match(out, /^ok {3}one period\.failed event per failed period \(3 for 3\)$/m);
      assert.match(out, /^ok {3}the failed list is exactly the failed periods \(hooli \S+, hooli \S+, hooli \S+\)$/m);
      assert.match(out, new RegExp(`^worker metrics: {4}http://127\\.0\\.0\\.1:${ports.metrics}/metrics$`, 'm'));
      assert.match(out, new RegExp(`TEMPORAL_ADDRESS=127\\.0\\.0\\.1:${ports.temporal} DATABASE_URL=postgres(ql)?://[^ ]*:${ports.postgres}/`));
      assert.match(out, new RegExp(`^worker log: {8}${literal(dataDir)}/twoway-demo-[^/]+/worker\\.log$`, 'm'));
      assert.match(out, new RegExp(`^delivered files: {3}${literal(dataDir)}/`, 'm'));
      assert.match(out, /^webhook receiver: {2}http:\/\/127\.0\.0\.1:\d+\/ /m);
      assert.match(out, new RegExp(`^Temporal database: ${literal(dataDir)}/twoway-demo-[^/]+/temporal\\.db$`, 'm'));
      const checks = out.split('\n').filter((line) => /^(ok {3}|FAIL )/.test(line));
      assert.ok(checks.length >= 9, out);
      assert.deepEqual(
        checks.filter((line) => line.startsWith('FAIL')),
        [],
      );
      assert.match(out, /^ok {3}8 files delivered$/m);
      const decrypted = out
        .split('\n')
        .filter((line) =>
          /^ok {3}inbound\/vandelay\/twoway_activity_vandelay_daily_\d{8}\.csv\.pgp: decrypted with vandelay's key, good signature by our signing key$/.test(
            line,
          ),
        );
      assert.equal(decrypted.length, 3, out);
      assert.match(out, /^vandelay's files: {3}encrypted and signed \(delivery\.pgp\); as the client: gpg --homedir \S+\/pgp\/vandelay-gnupg --decrypt /m);
      // initech's month arrives in parts of 1,000 rows with a manifest (one part for the test's few events).
      assert.match(out, /^ok {3}initech_twoway_\d{8}_\d{8}\.csv\.manifest\.json: \d+ parts?, each as the manifest says$/m);

      assert.deepEqual(await readdir(dataDir), [], 'the demo removed its folder');
      for (const [service, port] of Object.entries(ports))
        assert.equal(await isListening(port), false, `nothing listens on the ${service} port ${port} after the demo`);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
