import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Runtime } from '@temporalio/worker';
import { freePort } from '../../src/devstack/ports.js';
import { createSilentLogger } from '../../src/observability/logger.js';
import { createReportMetrics, prometheusTelemetryOptions } from '../../src/observability/metrics.js';
import { servePeriodGauges } from '../../src/watchdog/period-gauges.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { waitUntil } from '../support/wait.js';

/** The value of one series in a Prometheus exposition, or null when it is absent. */
function valueOf(exposition: string, name: string, client: string): number | null {
  const line = exposition.split('\n').find((candidate) => candidate.startsWith(`${name}{`) && candidate.includes(`client="${client}"`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : null;
}

describe("period gauges: every worker serves the recorded states (real PostgreSQL, the Runtime's Prometheus endpoint)", () => {
  let db: TestDatabase;
  let port: number;
  const state = (clientId: string, periodStart: string, value: string, periodEnd: string) => ({
    client_id: clientId,
    frequency: 'daily',
    period_start: periodStart,
    period_end_at: periodEnd,
    state: value,
    since: periodEnd,
    due_at: periodEnd,
  });

  before(async () => {
    db = await createTestDatabase();
    port = await freePort();
    Runtime.install({ telemetryOptions: prometheusTelemetryOptions(`127.0.0.1:${port}`) });
    await db.knex('clients').insert([
      { id: 'acme', name: 'Acme' },
      { id: 'gone', name: 'Gone', enabled: false },
      { id: 'quiet', name: 'Quiet' },
    ]);
    await db.knex('client_watch').insert(['acme', 'gone', 'quiet'].map((id) => ({ client_id: id, active_since: '2026-11-01' })));
    await db
      .knex('period_states')
      .insert([
        state('acme', '2026-11-27', 'delivered', '2026-11-28T00:00:00Z'),
        state('acme', '2026-11-28', 'failed', '2026-11-29T00:00:00Z'),
        state('acme', '2026-11-29', 'missing', '2026-11-30T00:00:00Z'),
        state('acme', '2026-11-30', 'late', '2026-12-01T00:00:00Z'),
        state('acme', '2026-12-01', 'late', '2026-12-02T00:00:00Z'),
        state('gone', '2026-11-28', 'failed', '2026-11-29T00:00:00Z'),
      ]);
  });

  after(async () => {
    await db?.drop();
  });

  it('sets late, missing and failed per client and the end of the newest delivered period; a client no longer watched counts zero', async () => {
    const gauges = servePeriodGauges(db.knex, createReportMetrics(Runtime.instance().metricMeter), { logger: createSilentLogger(), intervalMs: 60_000 });
    try {
      await gauges.refresh();
      const exposition = await waitUntil(
        async () => {
          const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
          return valueOf(text, 'twoway_periods_late', 'acme') === 2 ? text : null;
        },
        { timeoutMs: 10_000, what: 'the gauges on /metrics' },
      );
      assert.equal(valueOf(exposition, 'twoway_periods_failed', 'acme'), 1);
      assert.equal(valueOf(exposition, 'twoway_periods_missing', 'acme'), 1);
      assert.equal(valueOf(exposition, 'twoway_last_delivered_period_end_seconds', 'acme'), Date.parse('2026-11-28T00:00:00Z') / 1000);
      assert.equal(valueOf(exposition, 'twoway_periods_failed', 'gone'), 0, 'a disabled client stops alerting');
      assert.equal(valueOf(exposition, 'twoway_periods_late', 'quiet'), 0);
      assert.equal(valueOf(exposition, 'twoway_last_delivered_period_end_seconds', 'quiet'), null, 'nothing delivered: no series');
    } finally {
      gauges.stop();
    }
  });
});
