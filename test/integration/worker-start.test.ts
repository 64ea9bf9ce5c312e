import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../src/devstack/ports.js';
import { runCliProcess } from '../support/cli.js';

/** Well above a failed start (embedded PostgreSQL starting and stopping); a hang runs into it. */
const EXIT_WITHIN_MS = 90_000;

describe('a worker that cannot reach Temporal (embedded PostgreSQL default, nothing listening for Temporal)', () => {
  let dataDir: string;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'twoway-worker-start-'));
  });

  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('exits 1 with the reason and stops its database, instead of hanging', { timeout: EXIT_WITHIN_MS }, async () => {
    const env: NodeJS.ProcessEnv = {
      DATABASE_URL: '',
      TWOWAY_DATA_DIR: dataDir,
      TWOWAY_EMBEDDED_PG_PORT: String(await freePort()),
      TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`,
      TWOWAY_METRICS_ADDRESS: 'off',
    };
    const result = await runCliProcess(['worker'], env);
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, /connect|refused|transport/i);
  });
});
