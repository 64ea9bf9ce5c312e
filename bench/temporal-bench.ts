/**
 * The Temporal section: a daily schedule's worth of work (one small period per client, all
 * started at once, as the schedules fire together at 03:00) through one in-process worker
 * with the production defaults, against a real Temporal dev server, PostgreSQL and sshd.
 * No target: it reports periods per second and, from the workflows' histories, where the
 * time goes.
 */
import { chown, mkdir, readFile, stat } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import type { Knex } from 'knex';
import { parseWorkerConfig } from '../src/config/env.js';
import { seedClients, seedEvents, type SeedClient } from '../src/db/seed.js';
import { startSftpServer, type SftpServer } from '../src/devstack/sftp-server.js';
import { startTemporalDevServer, type TemporalDevServer } from '../src/devstack/temporal-dev-server.js';
import { freePort } from '../src/devstack/ports.js';
import { addDays } from '../src/domain/local-date.js';
import { MS_PER_DAY, MS_PER_SECOND } from '../src/domain/time-zone.js';
import type { LocalDate } from '../src/domain/types.js';
import { periodWorkflowId } from '../src/domain/workflow-ids.js';
import { createSilentLogger } from '../src/observability/logger.js';
import { createReportWorkers, type ReportWorkers } from '../src/worker.js';
import type { ReportPeriodOutcome, reportPeriodWorkflow } from '../src/workflows/report-period-workflow.js';
import { periodSearchAttributes } from '../src/workflows/search-attributes.js';
import { count, heading, line, milliseconds, seconds, spread, table } from './format.js';
import { timingsOf, WORKFLOW_TASK, type WorkflowTimings } from './history-timings.js';
import { cpuSince, cpuSnapshot, SELF_LABEL, type CpuSpent } from './cpu-usage.js';
import { BenchFailure, type TargetResult } from './outcome.js';
import { percentile, spreadOf, sum } from './stats.js';

/** Events per client and day: a small daily period (≈ 80 to 160 events, 95 % of them in the report). */
const EVENTS_PER_CLIENT_DAY = 125;
const CUSTOMERS_PER_DAILY_CLIENT = 500;
/** Clients of the warm-up round (not counted): loads the workflow bundle, fills pools and caches. */
const WARM_UP_CLIENTS = 10;
/** First day reported; each round takes the next day, so every round has fresh period ids. */
const FIRST_DAY: LocalDate = '2026-06-01';
/** Zones the daily clients are spread over (each delivers its own local day). */
const TIME_ZONES = ['America/Chicago', 'Europe/Berlin', 'Asia/Tokyo', 'UTC', 'Australia/Sydney', 'America/Los_Angeles'];
const WEEKDAY_HOURS = [['08:00', '17:00']];
const AFTER_HOURS = { businessHours: { mon: WEEKDAY_HOURS, tue: WEEKDAY_HOURS, wed: WEEKDAY_HOURS, thu: WEEKDAY_HOURS, fri: WEEKDAY_HOURS } };
/** The workflow's steps, in the order they run, for the table. */
const STEP_ORDER = [WORKFLOW_TASK, 'startRun', 'claimHost', 'buildReport', 'deliverReport', 'finishRun'];
/** Seeded margin around the reported days: local days in UTC−7 … UTC+10 reach past the UTC ones. */
const SEED_MARGIN_DAYS = 1;
const P95 = 95;

export interface TemporalBenchOptions {
  readonly workDir: string;
  readonly knex: Knex;
  readonly databaseUrl: string;
  readonly clients: number;
  readonly runs: number;
}

interface Round {
  readonly day: LocalDate;
  readonly wallSeconds: number;
  readonly cpu: CpuSpent;
  readonly startSeconds: number;
  readonly timings: readonly WorkflowTimings[];
}

let runtimeInstalled = false;

/** Once per process, before any connection: Temporal's own errors only (its start-up warnings would interleave with the report). */
function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  runtimeInstalled = true;
}

function clientIds(total: number): string[] {
  return Array.from({ length: total }, (_, index) => `daily-${String(index + 1).padStart(4, '0')}`);
}

/** One folder per client under the sshd user's home, owned by that user (created here as root). */
async function deliveryFor(sftp: SftpServer, clientId: string): Promise<Record<string, unknown>> {
  const remoteDir = join(sftp.rootDir, clientId);
  await mkdir(remoteDir, { recursive: true });
  const owner = await stat(sftp.rootDir);
  await chown(remoteDir, owner.uid, owner.gid);
  return {
    protocol: 'sftp',
    host: sftp.host,
    port: sftp.port,
    username: sftp.username,
    remoteDir,
    hostKeySha256: sftp.hostKeySha256,
    privateKey: { file: sftp.userKeyPath },
  };
}

async function seedDailyClients(knex: Knex, sftp: SftpServer, ids: readonly string[], days: readonly LocalDate[]): Promise<void> {
  const started = performance.now();
  const deliveries = new Map<string, unknown>();
  for (const id of ids) deliveries.set(id, await deliveryFor(sftp, id));
  const clients: SeedClient[] = ids.map((id, index) => ({
    id,
    name: `Daily client ${id}`,
    environment: 'production',
    timezone: TIME_ZONES[index % TIME_ZONES.length] ?? 'UTC',
    frequency: 'daily',
    afterHours: index % 2 === 0 ? AFTER_HOURS : null,
  }));
  await seedClients(knex, clients, (id) => deliveries.get(id));
  const from = Date.parse(`${days[0]}T00:00:00Z`) - SEED_MARGIN_DAYS * MS_PER_DAY;
  const to = Date.parse(`${days[days.length - 1]}T00:00:00Z`) + (1 + SEED_MARGIN_DAYS) * MS_PER_DAY;
  const seededDays = (to - from) / MS_PER_DAY;
  const events = ids.length * EVENTS_PER_CLIENT_DAY * seededDays;
  await seedEvents(knex, { clientIds: ids, from, to, count: events, customersPerClient: CUSTOMERS_PER_DAILY_CLIENT });
  line(
    `seeded ${count(ids.length)} daily clients (${TIME_ZONES.length} zones, half with after-hours settings), ${count(events)} events over ${seededDays} days in ${seconds((performance.now() - started) / MS_PER_SECOND)}`,
  );
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Every period must be delivered, and the delivered bytes must be the built file's. */
async function checkOutcome(outcome: ReportPeriodOutcome): Promise<void> {
  if (outcome.status !== 'delivered') throw new BenchFailure(`${outcome.clientId} ${outcome.periodStart}: ${outcome.status}, expected delivered`);
  const delivered = sha256(await readFile(outcome.remotePath));
  if (delivered !== outcome.sha256) throw new BenchFailure(`${outcome.remotePath}: sha256 ${delivered}, the built file had ${outcome.sha256}`);
}

/** Starts one period workflow per client for `day`, all at once, and waits for all of them. */
async function runRound(client: Client, taskQueue: string, ids: readonly string[], day: LocalDate): Promise<Round> {
  const cpuAtStart = cpuSnapshot();
  const started = performance.now();
  const handles: WorkflowHandle<typeof reportPeriodWorkflow>[] = await Promise.all(
    ids.map((clientId) =>
      client.workflow.start<typeof reportPeriodWorkflow>('reportPeriodWorkflow', {
        taskQueue,
        workflowId: periodWorkflowId(clientId, 'daily', day),
        args: [{ clientId, frequency: 'daily', periodStart: day }],
        typedSearchAttributes: periodSearchAttributes(clientId, 'daily', day),
      }),
    ),
  );
  const allStarted = performance.now();
  const outcomes = await Promise.all(handles.map((handle) => handle.result()));
  const wallSeconds = (performance.now() - started) / MS_PER_SECOND;
  const cpu = cpuSince(cpuAtStart);
  for (const outcome of outcomes) await checkOutcome(outcome);
  const timings = await Promise.all(handles.map(async (handle) => timingsOf(await handle.fetchHistory())));
  return { day, wallSeconds, cpu, startSeconds: (allStarted - started) / MS_PER_SECOND, timings };
}

const PROGRAM_LABELS: Readonly<Record<string, string>> = {
  [SELF_LABEL]: 'this process (worker, client)',
  // sshd's session processes end as orphans, so only part of their CPU reaches sshd's own figures.
  sshd: 'sshd (part: ended sessions count as "everything else")',
  temporal: 'temporal (dev server)',
};

/** CPU seconds by program, and what the rest of the machine (other sessions, the kernel) used. */
function cpuRows(rounds: readonly Round[]): string[][] {
  const busy = sum(rounds.map((round) => round.cpu.machineBusySeconds));
  const byProgram = new Map<string, number>();
  for (const round of rounds) for (const [label, used] of round.cpu.byProgram) byProgram.set(label, (byProgram.get(label) ?? 0) + used);
  const listed = [...byProgram]
    .filter(([, used]) => used > 0)
    .map(([label, used]) => [PROGRAM_LABELS[label] ?? label, used] as const)
    .sort((a, b) => b[1] - a[1]);
  const rest = busy - sum(listed.map(([, used]) => used));
  return [...listed, ['everything else on the machine', Math.max(0, rest)] as const, ['machine busy, total', busy] as const].map(([label, used]) => [
    label,
    seconds(used),
    percent(used / Math.max(busy, Number.EPSILON)),
  ]);
}

function percent(share: number): string {
  return `${(100 * share).toFixed(0)} %`;
}

function stepRows(rounds: readonly Round[]): string[][] {
  const steps = rounds.flatMap((round) => round.timings.flatMap((timing) => timing.steps));
  const totalRunMs = sum(steps.map((step) => step.runMs));
  const names = [...STEP_ORDER, ...new Set(steps.map((step) => step.step).filter((name) => !STEP_ORDER.includes(name)))];
  return names.flatMap((name) => {
    const ofStep = steps.filter((step) => step.step === name);
    if (ofStep.length === 0) return [];
    const waits = ofStep.map((step) => step.scheduleToStartMs);
    const runs = ofStep.map((step) => step.runMs);
    const runTotal = sum(runs);
    return [
      [
        name,
        count(ofStep.length),
        milliseconds(spreadOf(waits).median),
        milliseconds(percentile(waits, P95)),
        milliseconds(spreadOf(runs).median),
        milliseconds(percentile(runs, P95)),
        `${seconds(runTotal / MS_PER_SECOND)} (${((100 * runTotal) / totalRunMs).toFixed(0)} %)`,
      ],
    ];
  });
}

function report(rounds: readonly Round[], clients: number): TargetResult {
  const wall = spreadOf(rounds.map((round) => round.wallSeconds));
  const rate = spreadOf(rounds.map((round) => clients / round.wallSeconds));
  const endToEnd = rounds.flatMap((round) => round.timings.map((timing) => timing.endToEndMs));
  line(
    table(
      ['', 'median (min, max)'],
      [
        ['wall time, first start → last result', spread(wall, seconds)],
        ['periods per second', spread(rate, (value) => value.toFixed(1))],
        ['starting all workflows (client side)', spread(spreadOf(rounds.map((round) => round.startSeconds)), seconds)],
        ['machine CPU busy, all cores (anything running)', spread(spreadOf(rounds.map((round) => round.cpu.machineBusyShare)), percent)],
      ],
    ),
  );
  line(`CPU by program (all measured rounds together, ${cpus().length} cores × ${seconds(sum(rounds.map((round) => round.cpu.wallSeconds)))} wall):`);
  line(table(['program', 'CPU seconds', 'share of machine busy time'], cpuRows(rounds)));
  line(
    `workflow end to end (server times, ${count(endToEnd.length)} workflows): median ${milliseconds(spreadOf(endToEnd).median)}, p95 ${milliseconds(percentile(endToEnd, P95))}, max ${milliseconds(spreadOf(endToEnd).max)}`,
  );
  line('where the time goes (all measured rounds pooled; wait = scheduled → started, run = started → completed):');
  line(table(['step', 'count', 'wait median', 'wait p95', 'run median', 'run p95', 'run total (share)'], stepRows(rounds)));
  return {
    name: `Temporal daily schedule, ${clients} clients`,
    measured: `${rate.median.toFixed(1)} periods/s (${seconds(wall.median)} wall)`,
    target: 'none (reported)',
    verdict: 'INFO',
  };
}

export async function benchTemporal(options: TemporalBenchOptions): Promise<TargetResult> {
  heading(`Temporal: a daily schedule's worth of work, ${options.clients} clients, one worker`);
  installQuietRuntime();
  const ids = clientIds(options.clients);
  const days = Array.from({ length: options.runs + 1 }, (_, index) => addDays(FIRST_DAY, index));
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    const sftp = await startSftpServer({ baseDir: join(options.workDir, 'temporal-sftp') });
    cleanups.push(() => sftp.dispose());
    await seedDailyClients(options.knex, sftp, ids, days);
    const server: TemporalDevServer = await startTemporalDevServer({ port: await freePort() });
    cleanups.push(() => server.stop());
    const nativeConnection = await NativeConnection.connect({ address: server.address });
    cleanups.push(() => nativeConnection.close());
    const connection = await Connection.connect({ address: server.address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection, namespace: 'default' });
    const config = parseWorkerConfig(process.env);
    const taskQueue = `twoway-bench-${randomBytes(4).toString('hex')}`;
    const workers: ReportWorkers = await createReportWorkers({
      connection: nativeConnection,
      namespace: 'default',
      taskQueue,
      knex: options.knex,
      databaseUrl: options.databaseUrl,
      workDir: join(options.workDir, 'temporal-work'),
      policy: config.policy,
      secretsEnv: { TWOWAY_SECRETS_DIR: sftp.secretsDir },
      logger: createSilentLogger(),
      sftpTimeouts: config.sftpTimeouts,
      maxConcurrentHostActivities: config.maxConcurrentHostActivities,
      maxConcurrentWorkflowTasks: config.maxConcurrentWorkflowTasks,
    });
    const running = workers.run();
    cleanups.push(async () => {
      workers.shutdown();
      await running;
    });
    line(
      `worker: ${config.maxConcurrentHostActivities} builds/uploads at once (TWOWAY_MAX_CONCURRENT_FILES), ${config.maxConcurrentWorkflowTasks} workflow tasks at once; Temporal dev server ${server.address} (SQLite in memory)`,
    );
    const [warmUpDay, ...measuredDays] = days;
    const warmUp = await runRound(client, taskQueue, ids.slice(0, WARM_UP_CLIENTS), warmUpDay as LocalDate);
    line(`warm-up: ${warmUp.timings.length} periods of ${warmUp.day} in ${seconds(warmUp.wallSeconds)} (not counted)`);
    const rounds: Round[] = [];
    for (const [index, day] of measuredDays.entries()) {
      const round = await runRound(client, taskQueue, ids, day);
      rounds.push(round);
      line(
        `  run ${index + 1}: ${ids.length} periods of ${day} in ${seconds(round.wallSeconds)}: ${(ids.length / round.wallSeconds).toFixed(1)} periods/s, every file delivered and its sha256 checked`,
      );
    }
    return report(rounds, ids.length);
  } finally {
    for (const cleanup of cleanups.reverse())
      await cleanup().catch((error: unknown) => line(`cleanup: ${error instanceof Error ? error.message : String(error)}`));
  }
}
