import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Knex } from 'knex';
import { watchDatabase } from '../../src/db/health.js';
import { createKnex } from '../../src/db/knex.js';
import { createLogger } from '../../src/observability/logger.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { waitUntil } from '../support/wait.js';

describe('watchDatabase: a worker says when its database is away and back (real PostgreSQL behind a cuttable link)', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let knex: Knex;

  before(async () => {
    db = await createTestDatabase();
    const url = new URL(db.url);
    proxy = await startTcpProxy({ targetPort: Number(url.port), targetHost: url.hostname });
    url.port = String(proxy.port);
    knex = createKnex(url.toString());
  });

  after(async () => {
    await knex?.destroy();
    await proxy?.close();
    await db?.drop();
  });

  it('logs once when the database stops answering and once when it is back, and reports each change', async () => {
    const lines: string[] = [];
    const logger = createLogger({ name: 'health-test', destination: { write: (line: string) => lines.push(line) } });
    const changes: boolean[] = [];
    const watch = watchDatabase(knex, { logger, intervalMs: 100, timeoutMs: 1_000, onChange: (up) => changes.push(up) });
    try {
      assert.equal(watch.isUp(), true);
      proxy.cutAfter(0);
      await waitUntil(() => !watch.isUp(), { timeoutMs: 10_000, what: 'the probe to notice the database is gone' });
      await waitUntil(() => proxy.cuts >= 3, { timeoutMs: 10_000, what: 'a few more failed probes' });
      proxy.cutAfter(null);
      await waitUntil(() => watch.isUp(), { timeoutMs: 10_000, what: 'the probe to notice the database is back' });
    } finally {
      watch.stop();
    }
    assert.deepEqual(changes, [true, false, true]);
    assert.equal(lines.filter((line) => line.includes('database unreachable')).length, 1, 'said once, not at every probe');
    assert.equal(lines.filter((line) => line.includes('database reachable again')).length, 1);
  });
});
