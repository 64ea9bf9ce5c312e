/**
 * The whole product on embedded defaults, in one process: PostgreSQL, the Temporal dev
 * server with its Web UI, a loopback OpenSSH SFTP server, a webhook receiver and a worker;
 * demo clients with schedules, a backfill of recent periods, and a summary of what was
 * delivered. One client's SFTP login is broken on purpose so a failed period can be found and
 * rerun from the UI; another receives its files encrypted and signed, each with a signed
 * manifest (demo-pgp.ts). A start
 * keeps what the last one left (see demo-state.ts) unless --fresh.
 */
import { createHash } from 'node:crypto';
import { access, chown, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Client, Connection, WorkflowIdConflictPolicy } from '@temporalio/client';
import { NativeConnection, Runtime } from '@temporalio/worker';
import type { Knex } from 'knex';
import { pino } from 'pino';
import { createProgress } from '../cli/progress.js';
import {
  WHOLE_NUMBER_SETTINGS,
  parseDriftInterval,
  parseLogLevel,
  parsePort,
  parseRunPolicy,
  parseSftpTimeouts,
  parseUiSettings,
  parseWatchSettings,
  parseWorkerConcurrency,
  type UiSettings,
} from '../config/env.js';
import { dataDir } from '../config/paths.js';
import { MANIFEST_SUFFIX, PGP_SUFFIX, SIGNATURE_SUFFIX } from '../domain/file-name.js';
import { addDays } from '../domain/local-date.js';
import { periodContaining, previousPeriod } from '../domain/periods.js';
import { REPORT_HEADER } from '../domain/report-row.js';
import { localDateOf, MS_PER_DAY } from '../domain/time-zone.js';
import type { Frequency, LocalDate, Period } from '../domain/types.js';
import { backfillWorkflowId, TASK_QUEUE } from '../domain/workflow-ids.js';
import { openDatabase, type Database } from '../db/database.js';
import { migrateLatest } from '../db/knex.js';
import { countPeriodEvents } from '../db/period-events.js';
import { DEMO_CLIENTS, seedClients, seedEvents } from '../db/seed.js';
import type { WebhookReceiver } from '../notifications/receiver.js';
import { createLogger, createSilentLogger, type Logger } from '../observability/logger.js';
import { createReportMetrics, prometheusTelemetryOptions } from '../observability/metrics.js';
import { listSchedules, syncSchedules } from '../temporal/schedules.js';
import { syncDriftSchedule } from '../temporal/drift-schedule.js';
import { WATCHDOG_SCHEDULE_ID, syncWatchdogSchedule } from '../temporal/watchdog-schedule.js';
import type { watchPeriodsWorkflow } from '../workflows/watch-periods-workflow.js';
import { ensureSearchAttributes } from '../temporal/search-attributes-setup.js';
import { temporalLogger } from '../observability/temporal-logger.js';
import { createReportWorkers } from '../worker.js';
import { startStatusServer, type StatusServer } from '../ui/server.js';
import type { BackfillProgress, backfillReportsWorkflow } from '../workflows/backfill-reports-workflow.js';
import { decryptDemoFile, demoPgpSecrets, demoPgpSetting, PGP_CLIENT, prepareDemoPgp, verifyDemoSignature, type DemoPgp } from './demo-pgp.js';
import { DEMO_SECRET_VARIABLES, keptState, pointDeliveriesAt, saveState, wipeDemo } from './demo-state.js';
import { startDemoWebhook, type DemoWebhook } from './demo-webhook.js';
import { freePort, isPortFree } from './ports.js';
import { startSftpServer, type SftpServer } from './sftp-server.js';
import { startTemporalDevServer, type TemporalDevServer } from './temporal-dev-server.js';

const DEFAULT_TEMPORAL_PORT = 7233;
const DEFAULT_UI_PORT = 8233;
const DEFAULT_METRICS_PORT = 9464;
/** The status page's usual port (TWOWAY_UI_ADDRESS's default). */
const DEFAULT_STATUS_PAGE_PORT = 8080;
/** Temporal's SQLite database in the demo home: schedules and workflow history outlive a restart. */
const TEMPORAL_DB_FILE = 'temporal.db';
/** Daily clients get the last few days; weekly and monthly clients their last complete period. */
const DAILY_BACKFILL_DAYS = 3;
const DEMO_BACKFILL_CONCURRENCY = 4;
/** The broken client: its password reference resolves to a password the server refuses. */
export const BROKEN_CLIENT = 'hooli';
/** Initech's monthly file (≈ 3,000 rows with the default events) arrives in parts of this many rows, with a manifest. */
const DEMO_ROWS_PER_PART = 1_000;

export interface DemoOptions {
  /** Verify every delivered file, stop everything and return instead of waiting for Ctrl-C. */
  readonly once: boolean;
  /** Wipe everything of the demo (its folder, the demo clients' rows, Temporal's database) before starting. */
  readonly fresh: boolean;
  readonly events: number;
  readonly days: number;
  readonly env: NodeJS.ProcessEnv;
  readonly out: (line: string) => void;
  readonly progress: NodeJS.WriteStream;
}

/**
 * The port a demo service listens on: the variable's when set; else, for --once, any free port
 * (it runs beside a developer's demo, in the test suite); else the usual port when it is free.
 */
async function demoPort(env: NodeJS.ProcessEnv, variable: string, usual: number, once: boolean): Promise<number> {
  const configured = parsePort(env, variable);
  if (configured !== null) return configured;
  return !once && (await isPortFree(usual)) ? usual : freePort();
}

/** `host:port` of the demo worker's Prometheus endpoint, or null when TWOWAY_METRICS_ADDRESS=off. */
async function demoMetricsAddress(env: NodeJS.ProcessEnv, once: boolean): Promise<string | null> {
  const configured = env.TWOWAY_METRICS_ADDRESS?.trim();
  if (configured) return configured === 'off' ? null : configured;
  return `127.0.0.1:${!once && (await isPortFree(DEFAULT_METRICS_PORT)) ? DEFAULT_METRICS_PORT : await freePort()}`;
}

/**
 * The demo's status page settings: TWOWAY_UI_ADDRESS when set, else loopback on the usual port
 * when free (any free port for --once); its workflow links go to the demo's Temporal UI.
 */
async function demoUiSettings(env: NodeJS.ProcessEnv, once: boolean, temporalUiUrl: string | null): Promise<UiSettings> {
  const address =
    env.TWOWAY_UI_ADDRESS?.trim() || `127.0.0.1:${!once && (await isPortFree(DEFAULT_STATUS_PAGE_PORT)) ? DEFAULT_STATUS_PAGE_PORT : await freePort()}`;
  const uiUrl = env.TWOWAY_TEMPORAL_UI_URL?.trim() || temporalUiUrl || '';
  return parseUiSettings({ ...env, TWOWAY_UI_ADDRESS: address, TWOWAY_TEMPORAL_UI_URL: uiUrl });
}

/** --once's own state folder: inside TWOWAY_DATA_DIR when set, else in the system's temporary folder. */
async function makeScratchDir(env: NodeJS.ProcessEnv): Promise<string> {
  const parent = env.TWOWAY_DATA_DIR?.trim() || tmpdir();
  await mkdir(parent, { recursive: true });
  return mkdtemp(join(parent, 'twoway-demo-'));
}

/**
 * Each demo client's delivery settings: folders of its own, several login and file options.
 * Every secret is an environment reference of the demo's worker (the key too), so the rows pass
 * the default reference rules of any `clients set` run beside the demo.
 */
function demoDelivery(sftp: SftpServer, folder: (clientId: string) => string) {
  const base = { protocol: 'sftp', host: sftp.host, port: sftp.port, username: sftp.username, hostKeySha256: sftp.hostKeySha256 };
  const key = { privateKey: { env: DEMO_SECRET_VARIABLES.privateKey } };
  return (clientId: string): unknown => {
    const remoteDir = folder(clientId);
    switch (clientId) {
      case 'acme':
        return { ...base, ...key, remoteDir, checksumFile: true };
      case 'globex':
        return { ...base, remoteDir, password: { env: DEMO_SECRET_VARIABLES.password }, gzip: true };
      case 'initech':
        return { ...base, ...key, remoteDir, manifest: true, maxRowsPerFile: DEMO_ROWS_PER_PART };
      case BROKEN_CLIENT:
        return { ...base, remoteDir, password: { env: DEMO_SECRET_VARIABLES.wrongPassword } };
      case PGP_CLIENT:
        return { ...base, ...key, remoteDir, pgp: demoPgpSetting(), manifest: true };
      default:
        return { ...base, ...key, remoteDir };
    }
  };
}

/** Local date range a demo backfill covers for a client: recent days, or the last complete week or month. */
function backfillRange(frequency: Frequency, timeZone: string, now: number): { from: LocalDate; to: LocalDate } {
  if (frequency === 'daily') {
    const today = localDateOf(timeZone, now);
    return { from: addDays(today, -DAILY_BACKFILL_DAYS), to: addDays(today, -1) };
  }
  const period = previousPeriod(frequency, now, timeZone);
  return { from: period.start, to: period.lastDay };
}

interface Services {
  database: Database;
  temporal: TemporalDevServer;
  sftp: SftpServer;
  client: Client;
  clientConnection: Connection;
  workerConnection: NativeConnection;
  webhookReceiver: WebhookReceiver | null;
  statusPage: StatusServer;
  shutdownWorkers: () => void;
  workersDone: Promise<void>;
}

interface Check {
  readonly ok: boolean;
  readonly text: string;
}

/**
 * A split delivery as a receiver reads it: every file its manifest lists, with the size and
 * sha256 it gives, and the CSV they make together (the first part whole, the others without
 * their header), to be checked against the ledger like a single file.
 */
async function readSplitDelivery(manifestPath: string, manifestBytes: Buffer): Promise<{ csv: Buffer; check: Check }> {
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as {
    rowCount: number;
    files: { name: string; bytes: number; sha256: string; csvSha256: string }[];
  };
  const header = Buffer.byteLength(`${REPORT_HEADER.join(',')}\r\n`);
  const csvs: Buffer[] = [];
  let ok = manifest.files.length > 0;
  for (const file of manifest.files) {
    const bytes = await readFile(join(dirname(manifestPath), file.name)).catch(() => Buffer.alloc(0));
    const csv = file.name.endsWith('.gz') && bytes.length > 0 ? gunzipSync(bytes) : bytes;
    ok &&= bytes.length === file.bytes && createHash('sha256').update(bytes).digest('hex') === file.sha256;
    ok &&= createHash('sha256').update(csv).digest('hex') === file.csvSha256;
    csvs.push(csvs.length === 0 ? csv : csv.subarray(header));
  }
  const name = manifestPath.slice(manifestPath.lastIndexOf('/') + 1);
  return {
    csv: Buffer.concat(csvs),
    check: { ok, text: `${name}: ${manifest.files.length} part${manifest.files.length === 1 ? '' : 's'}, each as the manifest says` },
  };
}

/** A delivered revision as report_runs records it. */
interface DeliveredRun {
  readonly client_id: string;
  readonly frequency: string;
  readonly period_start: string;
  readonly revision: number;
  readonly remote_path: string;
  readonly sha256: string;
  readonly row_count: number;
}

const sha256Of = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/**
 * The manifest of a one-file revision, as a receiver checks it: its detached signature by our
 * signing key (the PGP client signs), and that it lists this very file (name, bytes, sha256 of
 * the delivered and of the plain bytes, rows) with the ledger's client, revision and period.
 */
async function checkFileManifest(manifestPath: string, run: DeliveredRun, delivered: Buffer, period: Period, pgp: DemoPgp): Promise<Check> {
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as {
    client: string;
    revision: number;
    rowCount: number;
    period: { start: string; end: string };
    files: { name: string; rowCount: number; bytes: number; sha256: string; csvSha256: string }[];
  };
  const [file] = manifest.files;
  const name = run.remote_path.slice(run.remote_path.lastIndexOf('/') + 1);
  const listsFile =
    manifest.files.length === 1 &&
    file?.name === name &&
    file.bytes === delivered.length &&
    file.sha256 === sha256Of(delivered) &&
    file.csvSha256 === run.sha256 &&
    file.rowCount === run.row_count;
  const ofRun =
    manifest.client === run.client_id &&
    manifest.revision === run.revision &&
    manifest.rowCount === run.row_count &&
    manifest.period.start === period.start &&
    manifest.period.end === period.end;
  const signed = run.client_id === PGP_CLIENT;
  const signedBy = signed ? await verifyDemoSignature(pgp, `${manifestPath}${SIGNATURE_SUFFIX}`, manifestPath) : null;
  const signatureOk = !signed || signedBy === pgp.signerFingerprint;
  return {
    ok: listsFile && ofRun && signatureOk,
    text: `${manifestPath.slice(manifestPath.lastIndexOf('/') + 1)}: ${listsFile ? 'lists the file as delivered' : 'does NOT list the file as delivered'}, ${ofRun ? `revision ${run.revision} and period as the ledger` : "NOT the ledger's revision and period"}${signed ? `, ${signatureOk ? 'good signature by our signing key' : 'NO good signature by our signing key'}` : ''}`,
  };
}

/** Checks every delivered file against the ledger and an independent count of its period's events; encrypted ones are decrypted and verified as the client does. */
async function verifyDeliveries(database: Database, sftp: SftpServer, pgp: DemoPgp): Promise<Check[]> {
  const checks: Check[] = [];
  const delivered = (await database.knex('report_runs').where({ status: 'delivered' }).orderBy(['client_id', 'period_start'])) as DeliveredRun[];
  checks.push({ ok: delivered.length > 0, text: `${delivered.length} files delivered` });
  for (const run of delivered) {
    const bytes = await readFile(run.remote_path);
    const split = run.remote_path.endsWith(MANIFEST_SUFFIX) ? await readSplitDelivery(run.remote_path, bytes) : null;
    if (split) checks.push(split.check);
    let delivered: Buffer = bytes;
    if (run.remote_path.endsWith(PGP_SUFFIX)) {
      const decrypted = await decryptDemoFile(pgp, bytes);
      checks.push({
        ok: decrypted.signedBy === pgp.signerFingerprint,
        text: `${run.remote_path.slice(sftp.rootDir.length + 1)}: decrypted with ${run.client_id}'s key, ${decrypted.signedBy === pgp.signerFingerprint ? 'good signature by our signing key' : 'NOT signed by our signing key'}`,
      });
      delivered = decrypted.plaintext;
    }
    const csv = split ? split.csv : run.remote_path.replace(PGP_SUFFIX, '').endsWith('.gz') ? gunzipSync(delivered) : delivered;
    const sha256 = createHash('sha256').update(csv).digest('hex');
    const headerOk = csv.subarray(0, csv.indexOf('\r\n') + 2).toString('utf8') === `${REPORT_HEADER.join(',')}\r\n`;
    const client = DEMO_CLIENTS.find((candidate) => candidate.id === run.client_id);
    const period = periodContaining(run.frequency as Frequency, run.period_start, client?.timezone ?? 'UTC');
    const expectedRows = await countPeriodEvents(database.knex, { clientId: run.client_id, startInstant: period.startInstant, endInstant: period.endInstant });
    const ok = sha256 === run.sha256 && headerOk && run.row_count === expectedRows;
    checks.push({
      ok,
      text: `${run.remote_path.slice(sftp.rootDir.length + 1)}: sha256 ${ok ? 'matches the ledger' : `${sha256} vs ledger ${run.sha256}`}, header ${headerOk ? 'ok' : 'wrong'}, ${run.row_count} rows (SQL counts ${expectedRows})`,
    });
    const manifestPath = `${run.remote_path}${MANIFEST_SUFFIX}`;
    if (!split && (await exists(manifestPath))) checks.push(await checkFileManifest(manifestPath, run, bytes, period, pgp));
    if (run.client_id === 'acme') {
      const companion = (await readFile(`${run.remote_path}.sha256`, 'utf8').catch(() => '')).trim();
      checks.push({
        ok: companion === `${createHash('sha256').update(bytes).digest('hex')}  ${run.remote_path.slice(run.remote_path.lastIndexOf('/') + 1)}`,
        text: `${run.remote_path.slice(run.remote_path.lastIndexOf('/') + 1)}.sha256 companion`,
      });
    }
  }
  const failed = (await database.knex('report_runs').where({ status: 'failed' })) as { client_id: string; last_error: string }[];
  checks.push({
    ok: failed.length > 0 && failed.every((run) => run.client_id === BROKEN_CLIENT && /refused password login/.test(run.last_error)),
    text: `${failed.length} runs failed, all of ${BROKEN_CLIENT} with a refused login`,
  });
  const sandbox = await database.knex('report_runs').where({ client_id: 'umbrella' }).first();
  checks.push({ ok: sandbox === undefined, text: 'the sandbox client received nothing' });
  return checks;
}

/** The watchdog's first pass: one period.failed event per failed period, every event sent, the failed list exactly the failures. */
async function verifyWatchdog(knex: Knex, clientIds: readonly string[]): Promise<Check[]> {
  const failures = (await undeliveredFailures(knex, clientIds)).map((run) => `${run.client_id} ${run.period_start}`).sort();
  const events = (await knex('notification_outbox').select(
    knex.raw("event->>'type' AS type, event->>'clientId' AS client, event->>'periodStart' AS period, sent_at"),
  )) as {
    type: string;
    client: string;
    period: string;
    sent_at: Date | null;
  }[];
  const failedEvents = events
    .filter((event) => event.type === 'period.failed')
    .map((event) => `${event.client} ${event.period}`)
    .sort();
  const listed = (await knex('period_states').where({ state: 'failed' }).select('client_id', 'period_start')) as { client_id: string; period_start: string }[];
  const failedList = listed.map((row) => `${row.client_id} ${row.period_start}`).sort();
  return [
    {
      ok: failures.length > 0 && JSON.stringify(failedEvents) === JSON.stringify(failures),
      text: `one period.failed event per failed period (${failedEvents.length} for ${failures.length})`,
    },
    { ok: events.length > 0 && events.every((event) => event.sent_at !== null), text: `all ${events.length} watchdog events settled` },
    { ok: JSON.stringify(failedList) === JSON.stringify(failures), text: `the failed list is exactly the failed periods (${failedList.join(', ')})` },
  ];
}

interface BackfillClient {
  readonly id: string;
  readonly frequency: Frequency;
  readonly timezone: string;
}

/** Production demo clients to backfill, with their settings as stored now (an operator may have changed them), in the demo's order. */
async function clientsToBackfill(knex: Knex, clientIds: readonly string[]): Promise<BackfillClient[]> {
  const rows = (await knex('clients')
    .whereIn('id', clientIds)
    .where({ environment: 'production', enabled: true })
    .select('id', 'frequency', 'timezone')) as BackfillClient[];
  return rows.sort((a, b) => clientIds.indexOf(a.id) - clientIds.indexOf(b.id));
}

/** Runs one client's demo backfill to its end; a backfill that fails is returned as its reason, so the others still report. */
async function backfillClient(client: Client, demoClient: BackfillClient, now: number): Promise<BackfillProgress | { clientId: string; error: string }> {
  const range = backfillRange(demoClient.frequency, demoClient.timezone, now);
  try {
    const handle = await client.workflow.start<typeof backfillReportsWorkflow>('backfillReportsWorkflow', {
      taskQueue: TASK_QUEUE,
      workflowId: backfillWorkflowId(demoClient.id, demoClient.frequency, range.from, range.to),
      args: [{ clientId: demoClient.id, from: range.from, to: range.to, concurrency: DEMO_BACKFILL_CONCURRENCY }],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    });
    return (await handle.result()) as BackfillProgress;
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    return { clientId: demoClient.id, error: cause instanceof Error ? cause.message : String(cause) };
  }
}

/**
 * The demo's clients are watched from the first period its backfill runs, so the watchdog's
 * first pass judges exactly the periods the demo delivered or failed.
 */
async function watchFromBackfillStart(knex: Knex, now: number): Promise<void> {
  const rows = DEMO_CLIENTS.filter((demoClient) => demoClient.environment === 'production').map((demoClient) => ({
    client_id: demoClient.id,
    active_since: backfillRange(demoClient.frequency, demoClient.timezone, now).from,
  }));
  await knex('client_watch').insert(rows).onConflict('client_id').merge(['active_since']);
}

/** Periods whose latest run failed and that were never delivered: a kept ledger lists each once, with its last error. */
async function undeliveredFailures(knex: Knex, clientIds: readonly string[]): Promise<{ client_id: string; period_start: string; last_error: string }[]> {
  const latest = (await knex.raw(
    `SELECT DISTINCT ON (client_id, frequency, period_start) client_id, frequency, period_start, status, last_error
       FROM report_runs r
      WHERE client_id = ANY(?)
        AND NOT EXISTS (SELECT 1 FROM report_runs d WHERE d.client_id = r.client_id AND d.frequency = r.frequency AND d.period_start = r.period_start AND d.status = 'delivered')
      ORDER BY client_id, frequency, period_start, started_at DESC`,
    [[...clientIds]],
  )) as { rows: { client_id: string; period_start: string; status: string; last_error: string }[] };
  return latest.rows.filter((run) => run.status === 'failed').sort((a, b) => a.period_start.localeCompare(b.period_start));
}

export async function runDemo(options: DemoOptions): Promise<boolean> {
  // --once works in a folder of its own and on free ports (the test suite runs it beside a developer's demo).
  const scratch = options.once ? await makeScratchDir(options.env) : null;
  const home = scratch ?? join(dataDir(options.env), 'demo');
  const env: NodeJS.ProcessEnv =
    scratch && !options.env.DATABASE_URL?.trim()
      ? {
          ...options.env,
          TWOWAY_DATA_DIR: scratch,
          TWOWAY_EMBEDDED_PG_PORT: String(await demoPort(options.env, 'TWOWAY_EMBEDDED_PG_PORT', WHOLE_NUMBER_SETTINGS.embeddedPgPort.default, true)),
        }
      : options.env;
  const logPath = join(home, 'worker.log');
  const sshdDir = join(home, 'sshd');
  const clientIds = DEMO_CLIENTS.map((client) => client.id);
  const metricsAddress = await demoMetricsAddress(env, options.once);

  const services: Partial<Services> = {};
  // Silent until the demo home is ready: a fresh start deletes the folder the log goes to.
  let logger: Logger = createSilentLogger();
  try {
    options.out('starting PostgreSQL, the Temporal dev server, sshd and a worker…');
    services.database = await openDatabase(env);
    const { knex } = services.database;
    await migrateLatest(knex);
    // --once always starts from nothing: its scratch folder is new, and so must its rows be.
    const kept = options.once || options.fresh ? null : await keptState(home, knex, clientIds);
    if (!kept) await wipeDemo(scratch ? null : home, knex, clientIds);
    await mkdir(home, { recursive: true });
    logger = createLogger({
      name: 'twoway-demo',
      level: parseLogLevel(env),
      destination: pino.destination({ dest: logPath, mkdir: true, sync: false }),
    });
    Runtime.install({ logger: temporalLogger(logger), ...(metricsAddress ? { telemetryOptions: prometheusTelemetryOptions(metricsAddress) } : {}) });

    services.temporal = await startTemporalDevServer({
      port: await demoPort(env, 'TWOWAY_DEMO_TEMPORAL_PORT', DEFAULT_TEMPORAL_PORT, options.once),
      uiPort: await demoPort(env, 'TWOWAY_DEMO_UI_PORT', DEFAULT_UI_PORT, options.once),
      dbFile: join(home, TEMPORAL_DB_FILE),
      onLog: (line) => logger.debug({ component: 'temporal' }, line),
    });
    // sshd's configuration and keys are new at every start; the files it received are kept.
    services.sftp = await startSftpServer({ baseDir: sshdDir, homeDir: join(home, 'sftp'), logger });
    const sftp = services.sftp;
    const folder = (clientId: string) => join(sftp.rootDir, 'inbound', clientId);

    const pgp = await prepareDemoPgp(home);
    const now = Date.now();
    if (kept) {
      options.out(
        `keeping the demo's state: ${kept.events} events seeded ${kept.seededAt} over ${kept.days} days, the ledger, the files and Temporal's history (\`demo --fresh\` starts over)`,
      );
      await pointDeliveriesAt(knex, clientIds, sftp, sshdDir);
      await makeFolders(sftp, clientIds.map(folder));
    } else {
      await seedClients(knex, DEMO_CLIENTS, demoDelivery(sftp, folder));
      await watchFromBackfillStart(knex, now);
      await makeFolders(sftp, clientIds.map(folder));
      const seeding = createProgress('seed', 'events', options.events, options.progress);
      await seedEvents(knex, { clientIds, from: now - options.days * MS_PER_DAY, to: now, count: options.events, onProgress: (done) => seeding.update(done) });
      seeding.finish();
      await saveState(home, { seededAt: new Date(now).toISOString(), events: options.events, days: options.days });
    }

    const watch = parseWatchSettings(env);
    const webhook = await startDemoWebhook(env, options.out);
    services.webhookReceiver = webhook.receiver;
    services.workerConnection = await NativeConnection.connect({ address: services.temporal.address });
    await ensureSearchAttributes(services.workerConnection, 'default');
    const workers = await createReportWorkers({
      connection: services.workerConnection,
      namespace: 'default',
      knex,
      databaseUrl: services.database.url,
      workDir: env.TWOWAY_WORK_DIR?.trim() || join(home, 'work'),
      policy: parseRunPolicy(env),
      secretsEnv: {
        ...env,
        [DEMO_SECRET_VARIABLES.password]: sftp.password,
        [DEMO_SECRET_VARIABLES.wrongPassword]: 'an-expired-password',
        [DEMO_SECRET_VARIABLES.privateKey]: await readFile(sftp.userKeyPath, 'utf8'),
        ...(await demoPgpSecrets(pgp)),
      },
      logger,
      metrics: createReportMetrics(Runtime.instance().metricMeter),
      sftpTimeouts: parseSftpTimeouts(env),
      ...parseWorkerConcurrency(env),
      webhook: webhook.settings,
      watch,
    });
    services.shutdownWorkers = () => workers.shutdown();
    services.workersDone = workers.run();

    services.clientConnection = await Connection.connect({ address: services.temporal.address });
    const client = new Client({ connection: services.clientConnection });
    services.client = client;
    const synced = await syncSchedules(knex, client, watch.scheduleTime);
    synced.push(await syncWatchdogSchedule(client, watch.intervalMs));
    synced.push(await syncDriftSchedule(client, parseDriftInterval(options.env)));
    for (const result of synced) options.out(`schedule ${result.action.padEnd(9)} ${result.clientId}: ${result.detail}`);

    const outcomes = await Promise.all((await clientsToBackfill(knex, clientIds)).map((demoClient) => backfillClient(client, demoClient, now)));

    options.out('');
    const backfillFailures: string[] = [];
    for (const outcome of outcomes) {
      if ('error' in outcome) {
        backfillFailures.push(`backfill of ${outcome.clientId} failed: ${outcome.error}`);
        options.out(`${outcome.clientId}: the backfill failed: ${outcome.error}`);
      } else {
        options.out(
          `${outcome.clientId} (${outcome.frequency}): ${outcome.delivered} delivered, ${outcome.skipped} skipped, ${outcome.failed} failed of ${outcome.total}`,
        );
      }
    }
    const delivered = (await knex('report_runs').whereIn('client_id', clientIds).where({ status: 'delivered' }).orderBy(['client_id', 'period_start'])) as {
      file_name: string;
      row_count: number;
      remote_path: string;
    }[];
    for (const run of delivered) options.out(`  delivered ${run.file_name.padEnd(48)} ${String(run.row_count).padStart(7)} rows  ${run.remote_path}`);
    for (const run of await undeliveredFailures(knex, clientIds)) options.out(`  FAILED    ${run.client_id} ${run.period_start}: ${run.last_error}`);
    // A pass now, rather than at the watchdog's next interval: the failed list and its notifications are there at once.
    const pass = await client.workflow.execute<typeof watchPeriodsWorkflow>('watchPeriodsWorkflow', {
      taskQueue: TASK_QUEUE,
      workflowId: `${WATCHDOG_SCHEDULE_ID}/demo-start-${now}`,
    });
    options.out(
      `watchdog: ${pass.periods} periods of ${pass.clients} clients judged; ${pass.problems.failed} failed, ${pass.problems.missing} missing, ${pass.problems.late} late; ${pass.sent} notifications sent`,
    );
    services.statusPage = await startStatusServer({
      knex,
      temporal: client,
      namespace: 'default',
      settings: await demoUiSettings(env, options.once, services.temporal.uiUrl ?? null),
      logger: logger.child({ component: 'status-page' }),
    });
    const schedules = await listSchedules(client);
    options.out('');
    for (const schedule of schedules)
      options.out(`schedule ${schedule.clientId} (${schedule.frequency}, ${schedule.timeZone}) next run ${schedule.nextRuns[0]?.toISOString() ?? 'none'}`);
    printWhereToLook(options, {
      home,
      temporal: services.temporal,
      statusPage: services.statusPage.url,
      metricsAddress,
      logPath,
      databaseUrl: services.database.url,
      sftp,
      webhook,
      pgp,
    });

    if (options.once) {
      options.out('');
      const checks = [
        ...(await verifyDeliveries(services.database, sftp, pgp)),
        ...(await verifyWatchdog(knex, clientIds)),
        ...backfillFailures.map((text) => ({ ok: false, text })),
      ];
      for (const check of checks) options.out(`${check.ok ? 'ok  ' : 'FAIL'} ${check.text}`);
      return checks.every((check) => check.ok);
    }
    options.out('\nthe demo keeps running; press Ctrl-C to stop everything (the next start keeps this state; `demo --fresh` starts over)');
    await services.workersDone;
    options.out('stopping the worker, the Temporal dev server, sshd and PostgreSQL…');
    return true;
  } finally {
    // Every step runs even when an earlier one fails: nothing may be left behind.
    const steps: Array<() => unknown> = [
      () => services.shutdownWorkers?.(),
      () => services.workersDone,
      () => services.statusPage?.close(),
      () => services.webhookReceiver?.close(),
      () => services.clientConnection?.close(),
      () => services.workerConnection?.close(),
      () => services.temporal?.stop(),
      () => services.sftp?.dispose(),
      () => services.database?.close(),
      () => (scratch ? rm(scratch, { recursive: true, force: true }) : undefined),
    ];
    for (const step of steps) {
      try {
        await step();
      } catch (error) {
        logger.warn({ err: error }, 'demo clean-up step failed');
      }
    }
    logger.flush();
    if (!options.once) options.out('everything stopped');
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Inbox folders, owned by the SFTP user (this process creates them as root). */
async function makeFolders(sftp: SftpServer, folders: readonly string[]): Promise<void> {
  const owner = await stat(sftp.rootDir);
  for (const path of [join(sftp.rootDir, 'inbound'), ...folders]) {
    await mkdir(path, { recursive: true });
    await chown(path, owner.uid, owner.gid);
  }
}

interface WhereToLook {
  readonly home: string;
  readonly temporal: TemporalDevServer;
  readonly statusPage: string;
  readonly metricsAddress: string | null;
  readonly logPath: string;
  readonly databaseUrl: string;
  readonly sftp: SftpServer;
  readonly webhook: DemoWebhook;
  readonly pgp: DemoPgp;
}

function printWhereToLook(options: DemoOptions, where: WhereToLook): void {
  const { temporal, sftp, webhook } = where;
  const ui = temporal.uiUrl ?? '';
  const runsQuery = encodeURIComponent(`TwowayClient="${BROKEN_CLIENT}"`);
  const cliEnv = `TEMPORAL_ADDRESS=${temporal.address} DATABASE_URL=${where.databaseUrl}`;
  options.out('');
  options.out(`Temporal Web UI:   ${ui}  (runs: ${ui}/namespaces/default/workflows, schedules: ${ui}/namespaces/default/schedules)`);
  options.out(`status page:       ${where.statusPage}  (every client's periods; rerun, repair, force, pause)`);
  options.out(`failed list:       ${cliEnv} npx twoway-report problems`);
  options.out(`${BROKEN_CLIENT}'s runs:      ${ui}/namespaces/default/workflows?query=${runsQuery}`);
  options.out(`worker metrics:    ${where.metricsAddress ? `http://${where.metricsAddress}/metrics` : 'off (TWOWAY_METRICS_ADDRESS=off)'}`);
  options.out(`worker log:        ${where.logPath}`);
  options.out(`delivered files:   ${join(sftp.rootDir, 'inbound')}`);
  options.out(
    `${PGP_CLIENT}'s files:   encrypted and signed (delivery.pgp), each with a signed manifest; as the client: gpg --homedir ${where.pgp.clientHome} --decrypt ${join(sftp.rootDir, 'inbound', PGP_CLIENT)}/<file>.csv.pgp`,
  );
  options.out(webhook.receiver ? `webhook receiver:  ${webhook.description}` : `webhooks:          ${webhook.description}`);
  options.out(`Temporal database: ${join(where.home, TEMPORAL_DB_FILE)}`);
  options.out(`demo state:        ${where.home}  (${options.once ? 'deleted at the end' : 'kept for the next start; `demo --fresh` starts over'})`);
  options.out(`CLI against this demo: ${cliEnv} npx twoway-report status`);
  options.out(`fix ${BROKEN_CLIENT}: npx twoway-report clients set --client ${BROKEN_CLIENT} --set delivery.password.env=${DEMO_SECRET_VARIABLES.password}`);
  options.out(
    `then rerun a failed period from the status page (open its cell), or the Temporal UI (Reset), or: TEMPORAL_ADDRESS=${temporal.address} npx twoway-report run --client ${BROKEN_CLIENT} --period <date>`,
  );
}
