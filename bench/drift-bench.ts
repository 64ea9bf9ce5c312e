/**
 * The drift check section: 1,000 delivered daily periods (100 clients × 10 days, about 1,000
 * events each), checked for late data with the drift check's own code, against rebuilding
 * the same 1,000 files with the render's code (what a check without fingerprints would do).
 * Both read the rows of every period; the check aggregates them inside PostgreSQL and sends
 * one row per period, the rebuild sends, formats, writes and hashes every row. Rows read and
 * buffers come from EXPLAIN (ANALYZE, BUFFERS) of both queries over all 1,000 periods. Then
 * 10 of the periods get a late event, and the check runs again (10 rebuilds, 10 drifts).
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Knex } from 'knex';
import pg from 'pg';
import { parseClientConfig, type ClientRow } from '../src/domain/client-config.js';
import { reportFileName } from '../src/domain/file-name.js';
import { addDays } from '../src/domain/local-date.js';
import { periodContaining } from '../src/domain/periods.js';
import { localDateOf, startOfLocalDate } from '../src/domain/time-zone.js';
import type { ClientConfig, LocalDate } from '../src/domain/types.js';
import { listClientRows } from '../src/db/clients.js';
import { recordBuildFingerprint } from '../src/db/late-data.js';
import { periodEventsSql, periodFingerprintsSql, type PeriodEventsQuery } from '../src/db/period-events.js';
import { seedEvents } from '../src/db/seed.js';
import { checkClientDrift, type ClientDriftCheck } from '../src/drift/check-drift.js';
import { createSilentLogger } from '../src/observability/logger.js';
import { buildPlannedFile } from '../src/report/period-file.js';
import { count, heading, line, ratio, seconds, spread, table } from './format.js';
import { BenchFailure, verdict, type TargetResult } from './outcome.js';
import { spreadOf } from './stats.js';

const CLIENTS = 100;
const DAYS = 10;
const PERIODS = CLIENTS * DAYS;
const EVENTS = 1_000_000;
const CUSTOMERS_PER_CLIENT = 500;
const DRIFTED_PERIODS = 10;
/** The check must cost at most this share of rebuilding the same periods. */
const TARGET_SHARE = 0.2;
const MS_PER_S = 1000;

export interface DriftBenchOptions {
  readonly knex: Knex;
  readonly databaseUrl: string;
  readonly workDir: string;
  readonly runs: number;
}

interface Period {
  readonly client: ClientConfig;
  readonly start: LocalDate;
}

const clientId = (index: number) => `drift-${String(index).padStart(3, '0')}`;

async function seed(knex: Knex, days: readonly LocalDate[]): Promise<ClientConfig[]> {
  const ids = Array.from({ length: CLIENTS }, (_, index) => clientId(index));
  await knex('clients').insert(ids.map((id) => ({ id, name: id, timezone: 'UTC', frequency: 'daily' })));
  // Every seeded day inside the lookback, whatever the day the benchmark runs.
  await knex('client_watch').insert(ids.map((id) => ({ client_id: id, active_since: days[0], late_data: JSON.stringify({ lookback: '30 days' }) })));
  const from = startOfLocalDate('UTC', days[0] as LocalDate);
  const to = startOfLocalDate('UTC', addDays(days[days.length - 1] as LocalDate, 1));
  await seedEvents(knex, { clientIds: ids, from, to, count: EVENTS, customersPerClient: CUSTOMERS_PER_CLIENT });
  const rows = (await listClientRows(knex)).filter((row: ClientRow) => row.id.startsWith('drift-'));
  return rows.map(parseClientConfig);
}

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await work();
  return { ms: performance.now() - started, value };
}

/** Builds one period's file into the work folder and removes it; with `fingerprint`, reads the fingerprint in the same snapshot. */
async function build(options: DriftBenchOptions, period: Period, fingerprint: boolean) {
  const planned = periodContaining('daily', period.start, 'UTC');
  const fileName = reportFileName(period.client.fileNameTemplate, { clientId: period.client.id, frequency: 'daily', period: planned });
  const built = await buildPlannedFile(options.databaseUrl, { client: period.client, period: planned, fileName }, join(options.workDir, 'drift-bench'), {
    fingerprint,
  });
  await rm(built.path, { force: true });
  return built;
}

/** The first delivery of every period: built with its fingerprint, recorded delivered. */
async function deliverAll(options: DriftBenchOptions, periods: readonly Period[]): Promise<Map<string, string>> {
  const shas = new Map<string, string>();
  for (const period of periods) {
    const built = await build(options, period, true);
    if (!built.fingerprint) throw new BenchFailure('a build asked for its fingerprint returned none');
    const key = { clientId: period.client.id, frequency: 'daily' as const, periodStart: period.start };
    await recordBuildFingerprint(options.knex, key, { sha256: built.sha256, fingerprint: built.fingerprint });
    await options.knex('report_files').insert({
      client_id: period.client.id,
      frequency: 'daily',
      period_start: period.start,
      revision: 1,
      status: 'delivered',
      file_name: built.fileName,
      remote_path: `/inbound/${built.fileName}`,
      sha256: built.sha256,
      delivered_sha256: built.sha256,
      bytes: built.bytes,
      row_count: built.rowCount,
      workflow_id: `bench/${period.client.id}/${period.start}`,
      run_id: 'bench',
      delivered_at: new Date(),
    });
    shas.set(`${period.client.id}/${period.start}`, built.sha256);
  }
  return shas;
}

async function checkAll(options: DriftBenchOptions, clients: readonly ClientConfig[]): Promise<ClientDriftCheck[]> {
  const deps = { knex: options.knex, databaseUrl: options.databaseUrl, workDir: options.workDir, logger: createSilentLogger() };
  const checks: ClientDriftCheck[] = [];
  for (const client of clients) checks.push(await checkClientDrift(deps, client.id));
  return checks;
}

function tally(checks: readonly ClientDriftCheck[]) {
  const periods = checks.flatMap((check) => check.periods);
  return {
    periods: periods.length,
    unchanged: periods.filter((period) => period.result === 'fingerprint-unchanged').length,
    rebuilt: periods.filter((period) => period.rebuilt).length,
    drifted: periods.filter((period) => period.result === 'drifted').length,
  };
}

interface PlanNode {
  readonly 'Node Type': string;
  readonly 'Actual Rows'?: number;
  readonly 'Actual Loops'?: number;
  readonly 'Rows Removed by Filter'?: number;
  readonly 'Rows Removed by Index Recheck'?: number;
  readonly 'Shared Hit Blocks'?: number;
  readonly 'Shared Read Blocks'?: number;
  readonly Plans?: readonly PlanNode[];
}

const SCANS = new Set(['Seq Scan', 'Index Scan', 'Index Only Scan', 'Bitmap Heap Scan']);

/** Rows the plan's scans read from tables and indexes (returned or filtered away), over every loop. */
function rowsRead(node: PlanNode): number {
  const loops = node['Actual Loops'] ?? 1;
  const own = SCANS.has(node['Node Type'])
    ? ((node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0) + (node['Rows Removed by Index Recheck'] ?? 0)) * loops
    : 0;
  return own + (node.Plans ?? []).reduce((total, child) => total + rowsRead(child), 0);
}

/**
 * EXPLAIN (ANALYZE, BUFFERS) of both readings: the check's one statement per client, and every
 * period's extraction: rows read, buffers touched and rows sent.
 */
async function explainAll(options: DriftBenchOptions, clients: readonly ClientConfig[], days: readonly LocalDate[]) {
  const connection = new pg.Client({ connectionString: options.databaseUrl });
  await connection.connect();
  const totals = { check: { rows: 0, buffers: 0, sent: 0 }, rebuild: { rows: 0, buffers: 0, sent: 0 } };
  const explain = async (name: keyof typeof totals, sql: string) => {
    const result = await connection.query<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${sql}`);
    const plan = result.rows[0]?.['QUERY PLAN'][0]?.Plan;
    if (!plan) throw new BenchFailure('EXPLAIN returned no plan');
    totals[name].rows += rowsRead(plan);
    totals[name].buffers += (plan['Shared Hit Blocks'] ?? 0) + (plan['Shared Read Blocks'] ?? 0);
    totals[name].sent += plan['Actual Rows'] ?? 0;
  };
  try {
    for (const client of clients) {
      const ranges = days.map((day) => {
        const planned = periodContaining('daily', day, 'UTC');
        return { label: day, startInstant: planned.startInstant, endInstant: planned.endInstant };
      });
      await explain('check', periodFingerprintsSql(client.id, ranges, pg.escapeLiteral));
      for (const range of ranges) {
        const query: PeriodEventsQuery = { clientId: client.id, startInstant: range.startInstant, endInstant: range.endInstant };
        await explain('rebuild', periodEventsSql(query, pg.escapeLiteral));
      }
    }
  } finally {
    await connection.end();
  }
  return totals;
}

export async function benchDrift(options: DriftBenchOptions): Promise<TargetResult> {
  heading(`drift check: ${count(PERIODS)} delivered periods (${CLIENTS} daily clients × ${DAYS} days, ${count(EVENTS)} events)`);
  const today = localDateOf('UTC', Date.now());
  const days = Array.from({ length: DAYS }, (_, index) => addDays(today, index - DAYS));
  const clients = await seed(options.knex, days);
  const periods = clients.flatMap((client) => days.map((start) => ({ client, start })));
  const first = await timed(() => deliverAll(options, periods));
  line(`first builds, with fingerprints, recorded delivered: ${seconds(first.ms / MS_PER_S)}`);

  const checkMs: number[] = [];
  const rebuildMs: number[] = [];
  // One warm-up of each, then the measured runs, alternating so both meet the same machine load.
  for (let run = 0; run <= options.runs; run++) {
    const check = await timed(() => checkAll(options, clients));
    const counted = tally(check.value);
    if (counted.periods !== PERIODS || counted.unchanged !== PERIODS || counted.rebuilt !== 0)
      throw new BenchFailure(`the check of unchanged periods found ${JSON.stringify(counted)}; expected ${PERIODS} unchanged by fingerprint, none rebuilt`);
    const rebuild = await timed(async () => {
      for (const period of periods) {
        const built = await build(options, period, false);
        if (built.sha256 !== first.value.get(`${period.client.id}/${period.start}`))
          throw new BenchFailure(`a rebuild of ${period.client.id} ${period.start} differs`);
      }
    });
    if (run === 0) continue;
    checkMs.push(check.ms);
    rebuildMs.push(rebuild.ms);
  }
  const checkSpread = spreadOf(checkMs.map((ms) => ms / MS_PER_S));
  const rebuildSpread = spreadOf(rebuildMs.map((ms) => ms / MS_PER_S));
  const share = checkSpread.median / rebuildSpread.median;

  const read = await explainAll(options, clients, days);

  // Late events in DRIFTED_PERIODS periods of different clients: those, and only those, are rebuilt.
  for (let index = 0; index < DRIFTED_PERIODS; index++) {
    const period = periods[index * DAYS * Math.floor(CLIENTS / DRIFTED_PERIODS)] as Period;
    await options.knex('twoway_events').insert({
      client_id: period.client.id,
      event_name: 'twoway.agent_ping',
      event_time: new Date(startOfLocalDate('UTC', period.start) + MS_PER_S),
      ccid: 'cc-late',
    });
  }
  const drifting = await timed(() => checkAll(options, clients));
  const drifted = tally(drifting.value);
  if (drifted.drifted !== DRIFTED_PERIODS || drifted.rebuilt !== DRIFTED_PERIODS)
    throw new BenchFailure(`after ${DRIFTED_PERIODS} late events the check found ${JSON.stringify(drifted)}`);

  line(
    table(
      ['1,000 periods', 'time', 'rows read (EXPLAIN)', 'buffers (EXPLAIN)', 'rows sent'],
      [
        ['drift check, none changed', spread(checkSpread, seconds), count(read.check.rows), count(read.check.buffers), count(read.check.sent)],
        ['rebuild', spread(rebuildSpread, seconds), count(read.rebuild.rows), count(read.rebuild.buffers), count(read.rebuild.sent)],
        [`drift check, ${DRIFTED_PERIODS} with a late event`, seconds(drifting.ms / MS_PER_S), '', '', ''],
      ],
    ),
  );
  line(
    `check / rebuild time: ${ratio(share)}; rows read ${ratio(read.check.rows / read.rebuild.rows)}; buffers ${ratio(read.check.buffers / read.rebuild.buffers)}`,
  );
  return {
    name: `drift check, ${count(PERIODS)} delivered periods`,
    measured: `${seconds(checkSpread.median)} vs ${seconds(rebuildSpread.median)} to rebuild (${ratio(share)}); rows read ${ratio(read.check.rows / read.rebuild.rows)}`,
    target: `≤ ${ratio(TARGET_SHARE)} of rebuilding`,
    verdict: verdict(share <= TARGET_SHARE),
  };
}
