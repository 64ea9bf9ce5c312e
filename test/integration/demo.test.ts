import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { freePorts, isListening } from '../../src/devstack/ports.js';
import { runCliProcess } from '../support/cli.js';

/** Escapes text for use inside a RegExp. */
const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('demo --once (every real part, started by the project itself)', () => {
  it('delivers and verifies every demo file, shows the failed period and the UI, then stops cleanly', async () => {
    // Its own data folder and ports: never the checkout's .data/ or a running demo's ports.
    const dataDir = await mkdtemp(join(tmpdir(), 'twoway-demo-test-'));
    const ports = await freePorts(['postgres', 'temporal', 'ui', 'metrics']);
    try {
      // No DATABASE_URL: the demo starts its own embedded PostgreSQL, as on a fresh machine.
      const result = await runCliProcess(['demo', '--once', '--events', '5000'], {
        DATABASE_URL: '',
        TWOWAY_DATA_DIR: dataDir,
        TWOWAY_EMBEDDED_PG_PORT: String(ports.postgres),
        TWOWAY_DEMO_TEMPORAL_PORT: String(ports.temporal),
        TWOWAY_DEMO_UI_PORT: String(ports.ui),
        TWOWAY_METRICS_ADDRESS: `127.0.0.1:${ports.metrics}`,
        TWOWAY_WEBHOOK_URL: '',
      });
      assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
      const out = result.stdout;
      assert.match(out, /^acme \(daily\): 3 delivered, 0 skipped, 0 failed of 3$/m);
      assert.match(out, /^globex \(weekly\): 1 delivered/m);
      assert.match(out, /^initech \(monthly\): 1 delivered/m);
      assert.match(out, /^hooli \(daily\): 0 delivered, 0 skipped, 3 failed of 3$/m);
      assert.match(out, /^ {2}FAILED {4}hooli \d{4}-\d\d-\d\d: client "hooli": SFTP server 127\.0\.0\.1:\d+ refused password login/m);
      assert.match(out, /^schedule skipped {3}umbrella: sandbox client$/m);
      assert.match(out, new RegExp(`^Temporal Web UI: {3}http://127\\.0\\.0\\.1:${ports.ui} `, 'm'));
      assert.match(out, new RegExp(`^failed periods: {4}http://127\\.0\\.0\\.1:${ports.ui}/namespaces/default/workflows\\?query=TwowayClient%3D%22hooli%22`, 'm'));
      assert.match(out, new RegExp(`^worker metrics: {4}http://127\\.0\\.0\\.1:${ports.metrics}/metrics$`, 'm'));
      assert.match(out, new RegExp(`TEMPORAL_ADDRESS=127\\.0\\.0\\.1:${ports.temporal} DATABASE_URL=postgres(ql)?://[^ ]*:${ports.postgres}/`));
      assert.match(out, new RegExp(`^worker log: {8}${literal(dataDir)}/twoway-demo-[^/]+/worker\\.log$`, 'm'));
      assert.match(out, new RegExp(`^delivered files: {3}${literal(dataDir)}/`, 'm'));
      assert.match(out, /^webhook receiver: {2}http:\/\/127\.0\.0\.1:\d+\/ /m);
      assert.match(out, new RegExp(`^Temporal database: ${literal(dataDir)}/twoway-demo-[^/]+/temporal\\.db$`, 'm'));
      const checks = out.split('\n').filter((line) => /^(ok {3}|FAIL )/.test(line));
      assert.ok(checks.length >= 9, out);
      assert.deepEqual(checks.filter((line) => line.startsWith('FAIL')), []);
      assert.match(out, /^ok {3}5 files delivered$/m);

      assert.deepEqual(await readdir(dataDir), [], 'the demo removed its folder');
      for (const [service, port] of Object.entries(ports)) assert.equal(await isListening(port), false, `nothing listens on the ${service} port ${port} after the demo`);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
