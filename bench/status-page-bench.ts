/**
 * The status page section: 1,000 daily clients × 31 periods seeded set-wise (watchdog states,
 * delivered revisions, runs; a few failed, late and restated), then the page's answer over
 * HTTP (every query, the rendering and the transfer of the whole grid) against a baseline of
 * reading the same period_states rows with one plain query. Target: under 300 ms.
 */
import { performance } from 'node:perf_hooks';
import { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { createSilentLogger } from '../src/observability/logger.js';
import { startStatusServer } from '../src/ui/server.js';
import { count, heading, line, milliseconds, ratio, spread } from './format.js';
import { BenchFailure, verdict, type TargetResult } from './outcome.js';
import { spreadOf } from './stats.js';

const CLIENTS = 1_000;
const PERIODS = 31;
const TARGET_MS = 300;
/** The newest period of the seed; any fixed date does, the page shows the newest 31 it knows. */
const LAST_PERIOD = '2026-11-30';

async function seed(knex: Knex): Promise<void> {
  // One statement per table, generated in PostgreSQL: 31,000 rows each in well under a second.
  await knex.raw(
    `INSERT INTO clients (id, name, timezone, frequency) SELECT 'bench-' || lpad(n::text, 4, '0'), 'Bench ' || n, 'UTC', 'daily' FROM generate_series(1, ?) AS n`,
    [CLIENTS],
  );
  const grid = `SELECT 'bench-' || lpad(n::text, 4, '0') AS client_id, (?::date - d) AS period_start, n, d FROM generate_series(1, ?) AS n, generate_series(0, ? - 1) AS d`;
  const bindings = [LAST_PERIOD, CLIENTS, PERIODS];
  // Every 97th period failed, every 89th late, the rest delivered; every 13th delivered one restated.
  await knex.raw(
    `INSERT INTO period_states (client_id, frequency, period_start, period_end_at, state, since, due_at, last_error, workflow_id)
     SELECT client_id, 'daily', period_start, period_start + 1, CASE WHEN (n * 31 + d) % 97 = 0 THEN 'failed' WHEN (n * 31 + d) % 89 = 0 THEN 'late' ELSE 'delivered' END,
            now(), now(), CASE WHEN (n * 31 + d) % 97 = 0 THEN 'login refused' END, 'twoway-report/' || client_id || '/daily/' || period_start
       FROM (${grid}) AS g`,
    bindings,
  );
  await knex.raw(
    `INSERT INTO report_runs (client_id, frequency, period_start, period_end, status, workflow_id, run_id, attempts, started_at, finished_at, last_error)
     SELECT client_id, 'daily', period_start, period_start, CASE WHEN (n * 31 + d) % 97 = 0 THEN 'failed' WHEN (n * 31 + d) % 89 = 0 THEN 'running' ELSE 'delivered' END,
            'twoway-report/' || client_id || '/daily/' || period_start, md5(client_id || period_start), 1, now() - interval '1 hour', now() - interval '1 hour', NULL
       FROM (${grid}) AS g`,
    bindings,
  );
  await knex.raw(
    `INSERT INTO report_files (client_id, frequency, period_start, revision, status, file_name, remote_path, sha256, delivered_sha256, bytes, row_count, workflow_id, run_id, delivered_at)
     SELECT client_id, 'daily', period_start, r, 'delivered', client_id || '_' || period_start || '.csv', '/inbound/' || client_id || '/' || client_id || '_' || period_start || '.csv',
            md5(client_id || period_start || r) || md5(client_id), md5(client_id || period_start || r) || md5(client_id), 1000, 10, 'twoway-report/' || client_id || '/daily/' || period_start, 'run', now()
       FROM (${grid}) AS g, generate_series(1, CASE WHEN (n * 31 + d) % 13 = 0 THEN 2 ELSE 1 END) AS r
      WHERE (n * 31 + d) % 97 <> 0 AND (n * 31 + d) % 89 <> 0`,
    bindings,
  );
  await knex.raw('ANALYZE');
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

export async function benchStatusPage(options: { readonly knex: Knex; readonly runs: number }): Promise<TargetResult> {
  heading(`status page: ${count(CLIENTS)} clients × ${PERIODS} periods`);
  await seed(options.knex);
  // The grid's GET never calls Temporal; a lazy client connects only if an action is posted.
  const server = await startStatusServer({
    knex: options.knex,
    temporal: new Client(),
    namespace: 'default',
    settings: { host: '127.0.0.1', port: 0, token: null, temporalUiUrl: 'http://localhost:8233' },
    logger: createSilentLogger(),
  });
  try {
    let bytes = 0;
    const answer = async () => {
      const response = await fetch(`${server.url}/`);
      const html = await response.text();
      if (response.status !== 200 || !html.includes('bench-1000'))
        throw new BenchFailure(`the status page answered ${response.status} without the last client`);
      bytes = html.length;
    };
    const baseline = () => options.knex('period_states').select('client_id', 'frequency', 'period_start', 'state', 'last_error', 'workflow_id', 'updated_at');
    await answer();
    await baseline();
    const pageMs: number[] = [];
    const baselineMs: number[] = [];
    for (let run = 0; run < options.runs; run++) {
      pageMs.push(await timed(answer));
      baselineMs.push(await timed(baseline));
    }
    const page = spreadOf(pageMs);
    const plain = spreadOf(baselineMs);
    line(`page over HTTP: ${spread(page, milliseconds)}; ${count(bytes)} characters of HTML`);
    line(`baseline, SELECT of the same ${count(CLIENTS * PERIODS)} period_states rows: ${spread(plain, milliseconds)}`);
    line(`page / baseline: ${ratio(page.median / plain.median)}`);
    return {
      name: `status page, ${count(CLIENTS)} clients × ${PERIODS} periods`,
      measured: `${milliseconds(page.median)} (${ratio(page.median / plain.median)} a plain SELECT of its rows, ${milliseconds(plain.median)})`,
      target: `< ${TARGET_MS} ms`,
      verdict: verdict(page.median < TARGET_MS),
    };
  } finally {
    await server.close();
  }
}
