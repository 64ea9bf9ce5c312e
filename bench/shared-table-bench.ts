/**
 * The shared-table section: cost follows the period, not the table. One events table holds
 * 2,000 clients and 30M events (one client with 1M events in its month), as the production
 * store does; a second database holds the same clients and ledger but only one small client's
 * events. Compared between the two: the extraction plan, the render of the small client's day
 * (target ≤ 1.2×), and `status`, the ledger queries and `schedules sync`, which must not grow
 * with the events table.
 *
 * Seeding 30M events takes minutes, so the cluster is kept in `.data/bench/` under a seed
 * version and reused by later runs; a change to what is seeded bumps SHARED_SEED_VERSION.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import { Client, Connection } from '@temporalio/client';
import type { Knex } from 'knex';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { dataDir } from '../src/config/paths.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/db/embedded.js';
import { createKnex, migrateLatest } from '../src/db/knex.js';
import { latestDelivered, listRuns, recordRunFinished, recordRunStarted } from '../src/db/ledger.js';
import { periodEventsSql } from '../src/db/period-events.js';
import { loadLedgerFacts } from '../src/db/period-watch.js';
import { deliveredPeriodStarts } from '../src/db/report-files.js';
import { seedClients, seedEvents, type SeedClient } from '../src/db/seed.js';
import { freePort } from '../src/devstack/ports.js';
import { startTemporalDevServer } from '../src/devstack/temporal-dev-server.js';
import { periodContaining } from '../src/domain/periods.js';
import { parseWatchSettings } from '../src/config/env.js';
import { MS_PER_SECOND } from '../src/domain/time-zone.js';
import type { LocalDate } from '../src/domain/types.js';
import { syncSchedules } from '../src/temporal/schedules.js';
import { count, heading, line, milliseconds, ratio, seconds, spread, table } from './format.js';
import { BENCH_MONTH, monthClient, type SeededMonth } from './month-seed.js';
import { BenchFailure, verdict, type TargetResult } from './outcome.js';
import { timeRender, type ProcessSample } from './render-bench.js';
import { spreadOf } from './stats.js';

/** Bumped whenever what is seeded changes: a cached cluster of another version is seeded anew. */
export const SHARED_SEED_VERSION = 2;
/** render of a small client's day on the shared table, against the same on a table of that client alone. */
export const SHARED_RENDER_RATIO_TARGET = 1.2;
const DAILY_CLIENTS = 1_999;
const DAILY_EVENTS = 29_000_000;
const LARGE_CLIENT_EVENTS = 1_000_000;
const CUSTOMERS_PER_DAILY_CLIENT = 500;
const CUSTOMERS_OF_LARGE_CLIENT = 20_000;
const TIME_ZONES = ['America/Chicago', 'Europe/Berlin', 'Asia/Tokyo', 'UTC', 'Australia/Sydney', 'America/Los_Angeles'];
/** The small client measured, and its day (inside the seeded month). */
const SMALL_CLIENT = 'shared-0007';
const SMALL_DAY: LocalDate = '2026-03-10';
const SOLO_DATABASE = 'twoway_solo';
const EVENTS_INDEX = 'twoway_events_client_id_event_time_idx';
/** Days of ledger per client (one run and one delivered file each). */
const LEDGER_DAYS = 31;
/** Repetitions of each ledger query; the median is reported. */
const QUERY_REPETITIONS = 25;
/** "Not growing": the large table's time at most this ratio of the small one's (noise on a shared machine)… */
const NOT_GROWING_RATIO = 1.5;
/** …or at most this much more in absolute terms (sub-millisecond queries jitter by more than 1.5×). */
const NOT_GROWING_SLACK_MS = 2;
const PROGRESS_EVERY_EVENTS = 5_000_000;
/** Placeholder delivery settings: valid, never connected to (nothing is delivered here). */
const PLACEHOLDER_DELIVERY = {
  protocol: 'sftp',
  host: 'sftp.example.invalid',
  port: 22,
  username: 'reports',
  remoteDir: '/incoming',
  hostKeySha256: `SHA256:${'A'.repeat(43)}`,
  privateKey: { env: 'TWOWAY_BENCH_UNUSED_KEY' },
};

export interface SharedTableOptions {
  readonly workDir: string;
  readonly runs: number;
}

function dailyClientIds(): string[] {
  return Array.from({ length: DAILY_CLIENTS }, (_, index) => `shared-${String(index + 1).padStart(4, '0')}`);
}

function dailyClients(): SeedClient[] {
  return dailyClientIds().map((id, index) => ({
    id,
    name: `Shared client ${id}`,
    environment: 'production',
    timezone: TIME_ZONES[index % TIME_ZONES.length] ?? 'UTC',
    frequency: 'daily',
    afterHours: null,
  }));
}

/** The seed version recorded in the database, or null when it was never fully seeded (unlogged: lost with the data after a crash). */
async function seededVersion(knex: Knex): Promise<number | null> {
  await knex.raw(
    'CREATE UNLOGGED TABLE IF NOT EXISTS bench_seed (version integer NOT NULL, events bigint NOT NULL, seeded_at timestamptz NOT NULL DEFAULT now())',
  );
  const row = (await knex('bench_seed').orderBy('seeded_at', 'desc').first()) as { version: number } | undefined;
  return row?.version ?? null;
}

/** A run and a delivered file per client and day: the ledger the status and watchdog queries read. */
async function seedLedger(knex: Knex): Promise<void> {
  const from = BENCH_MONTH;
  await knex.raw(
    `INSERT INTO report_runs (client_id, frequency, period_start, period_end, status, revision, row_count, bytes, sha256, file_name, remote_path,
                              workflow_id, run_id, attempts, started_at, finished_at)
     SELECT c.id, c.frequency, d::date, d::date, 'delivered', 1, 500, 90000, md5(c.id || d), c.id || '_' || d::date || '.csv', '/incoming/' || c.id || '_' || d::date || '.csv',
            'twoway-report/' || c.id || '/' || c.frequency || '/' || d::date, md5(c.id || d || 'run'), 1, d + interval '1 day 3 hours', d + interval '1 day 3 hours 5 seconds'
       FROM clients c CROSS JOIN generate_series(?::date, ?::date + ?::integer, interval '1 day') AS d
      WHERE c.frequency = 'daily'`,
    [from, from, LEDGER_DAYS - 1],
  );
  await knex.raw(
    `INSERT INTO report_files (client_id, frequency, period_start, revision, status, file_name, remote_path, sha256, delivered_sha256, bytes, row_count,
                               workflow_id, run_id, delivered_at)
     SELECT client_id, frequency, period_start, revision, 'delivered', file_name, remote_path, sha256, sha256, bytes, row_count, workflow_id, run_id, finished_at
       FROM report_runs`,
  );
  await knex.raw('ANALYZE report_runs, report_files, clients');
}

/** Seeds the shared table: unlogged (the same plans, no WAL), the events index built once after the rows rather than row by row. */
async function seedShared(knex: Knex): Promise<void> {
  const started = performance.now();
  await knex.raw('ALTER TABLE twoway_events SET UNLOGGED');
  await knex.raw(`DROP INDEX IF EXISTS ${EVENTS_INDEX}`);
  const large = monthClient('bench-1m');
  await seedClients(knex, [...dailyClients(), large], () => PLACEHOLDER_DELIVERY);
  const month = periodContaining('monthly', BENCH_MONTH, large.timezone);
  let reported = 0;
  await seedEvents(knex, {
    clientIds: dailyClientIds(),
    from: month.startInstant,
    to: month.endInstant,
    count: DAILY_EVENTS,
    customersPerClient: CUSTOMERS_PER_DAILY_CLIENT,
    onProgress: (done, total) => {
      if (done - reported < PROGRESS_EVERY_EVENTS && done < total) return;
      reported = done;
      line(`  ${count(done)} of ${count(total)} events of the daily clients after ${seconds((performance.now() - started) / MS_PER_SECOND)}`);
    },
  });
  await seedEvents(knex, {
    clientIds: [large.id],
    from: month.startInstant,
    to: month.endInstant,
    count: LARGE_CLIENT_EVENTS,
    customersPerClient: CUSTOMERS_OF_LARGE_CLIENT,
    seed: 0.17,
  });
  const inserted = performance.now();
  await knex.raw(`CREATE INDEX ${EVENTS_INDEX} ON twoway_events (client_id, event_time, id)`);
  const indexed = performance.now();
  await knex.raw('VACUUM ANALYZE twoway_events');
  await seedLedger(knex);
  await knex('bench_seed').insert({ version: SHARED_SEED_VERSION, events: DAILY_EVENTS + LARGE_CLIENT_EVENTS });
  line(
    `seeded ${count(DAILY_CLIENTS + 1)} clients, ${count(DAILY_EVENTS + LARGE_CLIENT_EVENTS)} events (bench-1m: ${count(LARGE_CLIENT_EVENTS)} in ${BENCH_MONTH.slice(0, 7)}): rows ${seconds((inserted - started) / MS_PER_SECOND)}, index ${seconds((indexed - inserted) / MS_PER_SECOND)}, VACUUM ANALYZE and ledger ${seconds((performance.now() - indexed) / MS_PER_SECOND)}`,
  );
}

/** Copies `select`'s rows from one database into `table` of the other, as COPY streams them. */
async function copyRows(from: pg.Client, to: pg.Client, select: string, target: string): Promise<void> {
  await pipeline(
    from.query(copyStreams.to(`COPY (${select}) TO STDOUT (FORMAT binary)`)),
    to.query(copyStreams.from(`COPY ${target} FROM STDIN (FORMAT binary)`)),
  );
}

/** The solo database: every client and the whole ledger, but only the small client's events (the same rows, ids included). */
async function seedSolo(sharedUrl: string, soloUrl: string, soloKnex: Knex): Promise<void> {
  await soloKnex.raw('ALTER TABLE twoway_events SET UNLOGGED');
  const from = new pg.Client({ connectionString: sharedUrl });
  const to = new pg.Client({ connectionString: soloUrl });
  await Promise.all([from.connect(), to.connect()]);
  try {
    const quoted = from.escapeLiteral(SMALL_CLIENT);
    await copyRows(from, to, 'SELECT * FROM clients', 'clients');
    await copyRows(from, to, 'SELECT * FROM agents', 'agents');
    await copyRows(from, to, `SELECT * FROM customers WHERE client_id = ${quoted}`, 'customers');
    await copyRows(from, to, `SELECT * FROM twoway_events WHERE client_id = ${quoted}`, 'twoway_events');
    await copyRows(from, to, 'SELECT * FROM report_runs', 'report_runs');
    await copyRows(from, to, 'SELECT * FROM report_files', 'report_files');
  } finally {
    await Promise.all([from.end(), to.end()]);
  }
  await soloKnex.raw('VACUUM ANALYZE');
}

async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
}

interface Databases {
  readonly server: EmbeddedPostgres;
  readonly shared: { readonly url: string; readonly knex: Knex };
  readonly solo: { readonly url: string; readonly knex: Knex };
}

/** The cached cluster, seeded now if it is not (or of another seed version). */
async function openDatabases(): Promise<Databases> {
  const cacheDir = join(dataDir(), 'bench', `shared-table-v${SHARED_SEED_VERSION}`);
  const cached = existsSync(cacheDir);
  let server = await startEmbeddedPostgres({ dataDir: cacheDir, port: await freePort() });
  let sharedKnex = createKnex(server.url);
  await migrateLatest(sharedKnex);
  if ((await seededVersion(sharedKnex)) !== SHARED_SEED_VERSION) {
    if (cached) {
      // A half-seeded cluster (interrupted, or its unlogged rows lost in a crash): start it over.
      await sharedKnex.destroy();
      await server.stop();
      await rm(cacheDir, { recursive: true, force: true });
      server = await startEmbeddedPostgres({ dataDir: cacheDir, port: await freePort() });
      sharedKnex = createKnex(server.url);
      await migrateLatest(sharedKnex);
      await seededVersion(sharedKnex);
    }
    line(`seeding the shared table into ${cacheDir} (kept for later runs, seed version ${SHARED_SEED_VERSION})`);
    await seedShared(sharedKnex);
  } else line(`the shared table of seed version ${SHARED_SEED_VERSION}, cached in ${cacheDir}`);
  await ensureDatabase(server.adminUrl, SOLO_DATABASE);
  const soloUrl = server.adminUrl.replace(/\/postgres$/, `/${SOLO_DATABASE}`);
  const soloKnex = createKnex(soloUrl);
  await migrateLatest(soloKnex);
  if ((await seededVersion(soloKnex)) !== SHARED_SEED_VERSION) {
    await soloKnex.raw('TRUNCATE clients, agents, customers, twoway_events, report_runs, report_files CASCADE');
    await seedSolo(server.url, soloUrl, soloKnex);
    await soloKnex('bench_seed').insert({ version: SHARED_SEED_VERSION, events: 0 });
  }
  // The rows were copied with their ids: new runs (the ledger timings write some) take ids after them.
  for (const table of ['report_runs', 'report_files', 'twoway_events'])
    await soloKnex.raw(`SELECT setval(pg_get_serial_sequence('${table}', 'id'), GREATEST((SELECT max(id) FROM ${table}), 1))`);
  return { server, shared: { url: server.url, knex: sharedKnex }, solo: { url: soloUrl, knex: soloKnex } };
}

async function eventRows(knex: Knex): Promise<number> {
  // The planner's estimate: exact enough to name the table's size, and free.
  const result = await knex.raw<{ rows: { estimate: number }[] }>("SELECT reltuples::bigint AS estimate FROM pg_class WHERE relname = 'twoway_events'");
  return Number(result.rows[0]?.estimate ?? 0);
}

/** EXPLAIN (ANALYZE, BUFFERS) of the report's own extraction query for the small client's day. */
async function explainDay(knex: Knex, day: SeededMonth): Promise<{ plan: string; executionMs: number }> {
  const sql = periodEventsSql(
    { clientId: day.clientId, startInstant: day.period.startInstant, endInstant: day.period.endInstant },
    (value) => `'${value.replaceAll("'", "''")}'`,
  );
  const result = await knex.raw<{ rows: { 'QUERY PLAN': string }[] }>(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`);
  const plan = result.rows.map((row) => row['QUERY PLAN']).join('\n');
  const executionMs = Number(/Execution Time: ([\d.]+) ms/.exec(plan)?.[1] ?? Number.NaN);
  return { plan, executionMs };
}

/**
 * Median time in ms of `repetitions` calls of `work` on each database, the two alternating call
 * by call so that the machine's other load falls on both alike (a shared machine's load moves
 * within seconds; these calls take milliseconds).
 */
async function timeAlternately(
  databases: Databases,
  work: (knex: Knex, repetition: number) => Promise<unknown>,
  repetitions = QUERY_REPETITIONS,
): Promise<{ small: number; large: number }> {
  await work(databases.solo.knex, -1);
  await work(databases.shared.knex, -1);
  const small: number[] = [];
  const large: number[] = [];
  for (let repetition = 0; repetition < repetitions; repetition++) {
    for (const [knex, times] of [
      [databases.solo.knex, small],
      [databases.shared.knex, large],
    ] as const) {
      const started = performance.now();
      await work(knex, repetition);
      times.push(performance.now() - started);
    }
  }
  return { small: spreadOf(small).median, large: spreadOf(large).median };
}

/** The status command's and the ledger's queries on both databases, each the median of its repetitions. */
async function ledgerTimings(databases: Databases): Promise<Map<string, { small: number; large: number }>> {
  const key = { clientId: SMALL_CLIENT, frequency: 'daily', periodStart: SMALL_DAY } as const;
  const timings = new Map<string, { small: number; large: number }>();
  timings.set('status (newest 30 runs, all clients)', await timeAlternately(databases, (knex) => listRuns(knex, { limit: 30 })));
  timings.set('status --client (newest 30 runs of one)', await timeAlternately(databases, (knex) => listRuns(knex, { clientId: SMALL_CLIENT, limit: 30 })));
  timings.set('latestDelivered (startRun)', await timeAlternately(databases, (knex) => latestDelivered(knex, key)));
  timings.set(
    'recordRunStarted + recordRunFinished',
    await timeAlternately(databases, async (knex, repetition) => {
      const run = { workflowId: `bench-ledger/${repetition}`, runId: `run-${Date.now()}-${repetition}` };
      await recordRunStarted(knex, { ...key, ...run, periodEnd: SMALL_DAY, forced: false });
      await recordRunFinished(knex, run, { status: 'skipped' });
    }),
  );
  for (const knex of [databases.solo.knex, databases.shared.knex]) await knex('report_runs').where('workflow_id', 'like', 'bench-ledger/%').delete();
  timings.set(
    'deliveredPeriodStarts (backfill, a month)',
    await timeAlternately(databases, (knex) => deliveredPeriodStarts(knex, SMALL_CLIENT, 'daily', BENCH_MONTH, '2026-03-31')),
  );
  timings.set('loadLedgerFacts (watchdog, one client)', await timeAlternately(databases, (knex) => loadLedgerFacts(knex, SMALL_CLIENT, 'daily', BENCH_MONTH)));
  return timings;
}

function smallDay(): SeededMonth {
  const zone = TIME_ZONES[(Number(SMALL_CLIENT.slice(-4)) - 1) % TIME_ZONES.length] ?? 'UTC';
  return { label: 'small day', clientId: SMALL_CLIENT, events: 0, periodDate: SMALL_DAY, period: periodContaining('daily', SMALL_DAY, zone) };
}

async function renderRatio(options: SharedTableOptions, databases: Databases): Promise<TargetResult> {
  const day = smallDay();
  const shared: ProcessSample[] = [];
  const solo: ProcessSample[] = [];
  const sharedContext = { databaseUrl: databases.shared.url, workDir: options.workDir };
  const soloContext = { databaseUrl: databases.solo.url, workDir: options.workDir };
  await timeRender(sharedContext, day);
  await timeRender(soloContext, day);
  for (let run = 1; run <= options.runs; run++) {
    shared.push(await timeRender(sharedContext, day));
    solo.push(await timeRender(soloContext, day));
  }
  const digests = new Set([...shared, ...solo].map((sample) => sample.sha256));
  if (digests.size !== 1)
    throw new BenchFailure(`render of ${SMALL_CLIENT} ${SMALL_DAY} wrote different files from the shared and the solo table: ${[...digests].join(', ')}`);
  const sharedTime = spreadOf(shared.map((sample) => sample.seconds));
  const soloTime = spreadOf(solo.map((sample) => sample.seconds));
  const measured = sharedTime.median / soloTime.median;
  line(
    table(
      ['render of the day', 'seconds (process spawn to exit)', 'rows'],
      [
        ['shared table', spread(sharedTime, seconds), count(shared[0]?.rows ?? 0)],
        ['table of that client alone', spread(soloTime, seconds), count(solo[0]?.rows ?? 0)],
      ],
    ),
  );
  line(
    `shared / alone (median over median): ${ratio(measured)}  target ≤ ${ratio(SHARED_RENDER_RATIO_TARGET)}  ${verdict(measured <= SHARED_RENDER_RATIO_TARGET)}; same sha256 from both`,
  );
  return {
    name: `render of a small client's day, shared 30M table / alone`,
    measured: `${ratio(measured)} (${seconds(sharedTime.median)} / ${seconds(soloTime.median)})`,
    target: `≤ ${ratio(SHARED_RENDER_RATIO_TARGET)}`,
    verdict: verdict(measured <= SHARED_RENDER_RATIO_TARGET),
  };
}

/** `schedules sync` for every client: first creating the schedules, then finding them unchanged, with each database. */
async function syncTimings(databases: Databases): Promise<Map<string, number>> {
  const server = await startTemporalDevServer({ port: await freePort() });
  const connection = await Connection.connect({ address: server.address });
  try {
    const client = new Client({ connection, namespace: 'default' });
    const time = parseWatchSettings({}).scheduleTime;
    const timed = async (knex: Knex) => {
      const started = performance.now();
      const results = await syncSchedules(knex, client, time);
      const failed = results.filter((result) => result.action === 'failed');
      if (failed.length > 0) throw new BenchFailure(`schedules sync failed for ${failed.length} clients, e.g. ${failed[0]?.clientId}: ${failed[0]?.detail}`);
      return performance.now() - started;
    };
    const timings = new Map<string, number>();
    timings.set('schedules sync, creating 2,000 (small table)', await timed(databases.solo.knex));
    timings.set('schedules sync, 2,000 unchanged: small table', await timed(databases.solo.knex));
    timings.set('schedules sync, 2,000 unchanged: 30M table', await timed(databases.shared.knex));
    return timings;
  } finally {
    await connection.close();
    await server.stop();
  }
}

export async function benchSharedTable(options: SharedTableOptions): Promise<TargetResult[]> {
  heading('shared events table: 2,000 clients, 30M events');
  const databases = await openDatabases();
  try {
    const [sharedRows, soloRows] = [await eventRows(databases.shared.knex), await eventRows(databases.solo.knex)];
    line(`events table: ${count(sharedRows)} rows shared; ${count(soloRows)} rows in the table of ${SMALL_CLIENT} alone`);
    const day = smallDay();
    heading(`extraction plan of ${SMALL_CLIENT}'s day ${SMALL_DAY} on the shared table (EXPLAIN ANALYZE, BUFFERS)`);
    // Once each first, so that both plans are read from a warm cache, as the renders are.
    await explainDay(databases.shared.knex, day);
    await explainDay(databases.solo.knex, day);
    const shared = await explainDay(databases.shared.knex, day);
    const solo = await explainDay(databases.solo.knex, day);
    line(shared.plan);
    const usesIndex = shared.plan.includes(EVENTS_INDEX);
    line(
      `\nquery execution: ${milliseconds(shared.executionMs)} on the shared table, ${milliseconds(solo.executionMs)} alone; the plan ${usesIndex ? 'uses' : 'does NOT use'} ${EVENTS_INDEX}`,
    );
    heading(`render of ${SMALL_CLIENT}'s day, shared table against alone (alternating)`);
    const results: TargetResult[] = [await renderRatio(options, databases)];
    results.push({
      name: 'extraction plan on the shared table',
      measured: usesIndex ? `index scan of ${EVENTS_INDEX}` : 'no index scan',
      target: 'uses the index',
      verdict: verdict(usesIndex),
    });
    heading('status, ledger and schedules sync with 2,000 clients, at two sizes of the events table');
    const ledger = await ledgerTimings(databases);
    const sync = await syncTimings(databases);
    const rows = [...ledger].map(([name, { small, large }]) => [name, milliseconds(small), milliseconds(large), ratio(large / small)]);
    const syncSmall = sync.get('schedules sync, 2,000 unchanged: small table') ?? Number.NaN;
    const syncLarge = sync.get('schedules sync, 2,000 unchanged: 30M table') ?? Number.NaN;
    rows.push(['schedules sync, 2,000 unchanged', seconds(syncSmall / MS_PER_SECOND), seconds(syncLarge / MS_PER_SECOND), ratio(syncLarge / syncSmall)]);
    line(
      table(
        [`median of each (${QUERY_REPETITIONS} calls, alternating)`, `events: ${count(soloRows)} rows`, `events: ${count(sharedRows)} rows`, 'large / small'],
        rows,
      ),
    );
    line(`schedules sync creating 2,000 schedules (once): ${seconds((sync.get('schedules sync, creating 2,000 (small table)') ?? 0) / MS_PER_SECOND)}`);
    const pairs = [...[...ledger.values()].map(({ small, large }) => [small, large] as const), [syncSmall, syncLarge] as const];
    const grown = pairs.filter(([smallMs, largeMs]) => !(largeMs <= smallMs * NOT_GROWING_RATIO || largeMs - smallMs <= NOT_GROWING_SLACK_MS));
    const worst = Math.max(...pairs.map(([smallMs, largeMs]) => largeMs / smallMs));
    results.push({
      name: 'status, ledger, schedules sync: 30M table / small table',
      measured: `worst ${ratio(worst)}; ${grown.length} of ${pairs.length} grew`,
      target: `not growing (≤ ${ratio(NOT_GROWING_RATIO)} or ≤ ${NOT_GROWING_SLACK_MS} ms more)`,
      verdict: verdict(grown.length === 0),
    });
    return results;
  } finally {
    await databases.shared.knex.destroy();
    await databases.solo.knex.destroy();
    await databases.server.stop();
  }
}
