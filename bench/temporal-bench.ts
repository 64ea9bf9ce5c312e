/**
 * The Temporal section: a daily schedule's worth of work (one small period per client, all
 * started at once, as the schedules fire together at 03:00) through one and then two worker
 * processes (the real `twoway-report worker` command, production defaults), against one real
 * Temporal dev server, PostgreSQL and sshd. It reports periods per second against the target,
 * end-to-end latency, CPU by program, where the time goes, and the Temporal Cloud Actions per
 * period: counted from every workflow's history, and read from the server's `action` counter.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chown, mkdir, readFile, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { Knex } from 'knex';
import { parseWorkerConfig } from '../src/config/env.js';
import { seedClients, seedEvents, type SeedClient } from '../src/db/seed.js';
import { startSftpServer, type SftpServer } from '../src/devstack/sftp-server.js';
import { startTemporalDevServer, type TemporalDevServer } from '../src/devstack/temporal-dev-server.js';
import { freePort } from '../src/devstack/ports.js';
import { addDays } from '../src/domain/local-date.js';
import { MS_PER_DAY, MS_PER_SECOND } from '../src/domain/time-zone.js';
import type { LocalDate } from '../src/domain/types.js';
import { periodWorkflowId, TASK_QUEUE } from '../src/domain/workflow-ids.js';
import type { ReportPeriodOutcome, reportPeriodWorkflow } from '../src/workflows/report-period-workflow.js';
import { periodSearchAttributes } from '../src/workflows/search-attributes.js';
import { count, heading, line, milliseconds, seconds, spread, table } from './format.js';
import { actionsOf, retryReasonsOf, sumActions, totalActions, type ActionCounts } from './history-actions.js';
import { timingsOf, WORKFLOW_TASK, type WorkflowTimings } from './history-timings.js';
import { cpuSince, cpuSnapshot, ENDED_CHILDREN_LABEL, SELF_LABEL, type CpuSpent } from './cpu-usage.js';
import { BenchFailure, verdict, type TargetResult } from './outcome.js';
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
const CLI_PATH = fileURLToPath(new URL('../../bin/twoway-report.js', import.meta.url));
/** How long worker processes get to start polling, and to drain when stopped. */
const WORKER_START_TIMEOUT_MS = 60_000;
const WORKER_STOP_TIMEOUT_MS = 90_000;
const POLL_INTERVAL_MS = 200;
/** Client calls in flight at once (starts, result waits, history reads). */
const CLIENT_CALLS_AT_ONCE = 100;
/** Output kept per worker process, for the error when one dies. */
const MAX_WORKER_OUTPUT_CHARS = 16 * 1024;
/** Seeded margin around the reported days: local days in UTC−7 … UTC+10 reach past the UTC ones. */
const SEED_MARGIN_DAYS = 1;
const P95 = 95;

export interface TemporalBenchOptions {
  readonly workDir: string;
  readonly knex: Knex;
  readonly databaseUrl: string;
  readonly clients: number;
  readonly runs: number;
  /** Each figure is measured with this many worker processes (e.g. 1 and 2). */
  readonly workerCounts: readonly number[];
}

/** One worker process must reach this rate of periods (the target, on this 2-core machine). */
export const PERIODS_PER_SECOND_TARGET = 15;

interface Round {
  readonly day: LocalDate;
  readonly wallSeconds: number;
  readonly cpu: CpuSpent;
  readonly startSeconds: number;
  readonly timings: readonly WorkflowTimings[];
  readonly actions: readonly ActionCounts[];
  /** Why steps were retried (activity type and the failure before each retry). */
  readonly retryReasons: readonly string[];
  /** The server's own `action` counter over the round, by action type (heartbeats included). */
  readonly serverActions: ReadonlyMap<string, number>;
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
  await mapLimited(ids, CLIENT_CALLS_AT_ONCE, async (id) => deliveries.set(id, await deliveryFor(sftp, id)));
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

/** The server's `action` counter of the namespace, by action type, from its Prometheus text. */
async function readServerActions(metricsUrl: string | null): Promise<Map<string, number>> {
  const byType = new Map<string, number>();
  if (!metricsUrl) return byType;
  const text = await (await fetch(metricsUrl)).text();
  for (const match of text.matchAll(/^action\{([^}]*)\} (\S+)$/gm)) {
    const labels = match[1] ?? '';
    if (!labels.includes('namespace="default"')) continue;
    const type = /action_type="([^"]*)"/.exec(labels)?.[1] ?? 'unknown';
    byType.set(type, (byType.get(type) ?? 0) + Number(match[2]));
  }
  return byType;
}

function difference(after: ReadonlyMap<string, number>, before: ReadonlyMap<string, number>): Map<string, number> {
  const spent = new Map<string, number>();
  for (const [type, value] of after) {
    const grown = value - (before.get(type) ?? 0);
    if (grown > 0) spent.set(type, grown);
  }
  return spent;
}

/** `work` over `items`, at most `limit` at a time (thousands of calls at once overrun the client's channel). */
async function mapLimited<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    for (let index = next++; index < items.length; index = next++) results[index] = await work(items[index] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

/** Starts one period workflow per client for `day`, as fast as the client can (as schedules firing together), and waits for all of them. */
async function runRound(client: Client, metricsUrl: string | null, ids: readonly string[], day: LocalDate): Promise<Round> {
  const actionsAtStart = await readServerActions(metricsUrl);
  const cpuAtStart = cpuSnapshot();
  const started = performance.now();
  const handles: WorkflowHandle<typeof reportPeriodWorkflow>[] = await mapLimited(ids, CLIENT_CALLS_AT_ONCE, (clientId) =>
    client.workflow.start<typeof reportPeriodWorkflow>('reportPeriodWorkflow', {
      taskQueue: TASK_QUEUE,
      workflowId: periodWorkflowId(clientId, 'daily', day),
      args: [{ clientId, frequency: 'daily', periodStart: day }],
      typedSearchAttributes: periodSearchAttributes(clientId, 'daily', day),
    }),
  );
  const allStarted = performance.now();
  const outcomes = await mapLimited(handles, CLIENT_CALLS_AT_ONCE, (handle) => handle.result());
  const wallSeconds = (performance.now() - started) / MS_PER_SECOND;
  const cpu = cpuSince(cpuAtStart);
  for (const outcome of outcomes) await checkOutcome(outcome);
  const histories = await mapLimited(handles, CLIENT_CALLS_AT_ONCE, (handle) => handle.fetchHistory());
  // Read last: the server publishes its counters a moment after the work (reading histories is no Action).
  const serverActions = difference(await readServerActions(metricsUrl), actionsAtStart);
  return {
    day,
    wallSeconds,
    cpu,
    startSeconds: (allStarted - started) / MS_PER_SECOND,
    timings: histories.map(timingsOf),
    actions: histories.map(actionsOf),
    retryReasons: histories.flatMap(retryReasonsOf),
    serverActions,
  };
}

/** Programs of the run itself (children by name, and this process); the rest of the machine is other load. */
const OWN_PROGRAMS = [SELF_LABEL, 'node', 'temporal', 'postgres', 'sshd'];

const PROGRAM_LABELS: Readonly<Record<string, string>> = {
  [SELF_LABEL]: 'this process (client: starts, results, histories)',
  node: 'node worker process(es)',
  // sshd's session processes end as orphans, so only part of their CPU reaches sshd's own figures.
  sshd: 'sshd (part: ended sessions count as "everything else")',
  temporal: 'temporal (dev server)',
  [ENDED_CHILDREN_LABEL]: 'ended child processes',
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

function perPeriod(value: number, periods: number): string {
  return (value / periods).toFixed(2);
}

/** Actions per period: by kind from the histories, and the server's own counter by action type. */
function reportActions(rounds: readonly Round[]): number {
  const all = rounds.flatMap((round) => round.actions);
  const periods = all.length;
  const byKind = sumActions(all);
  const fromHistories = totalActions(byKind);
  line(`Temporal Cloud Actions per period, counted from ${count(periods)} histories (rule: bench/history-actions.ts, https://docs.temporal.io/cloud/actions):`);
  line(
    table(
      ['kind', 'per period'],
      [...[...byKind].sort((a, b) => b[1] - a[1]).map(([kind, actions]) => [kind, perPeriod(actions, periods)]), ['total', perPeriod(fromHistories, periods)]],
    ),
  );
  const server = new Map<string, number>();
  for (const round of rounds) for (const [type, value] of round.serverActions) server.set(type, (server.get(type) ?? 0) + value);
  if (server.size > 0) {
    const serverTotal = sum([...server.values()]);
    line("the server's own `action` counter over the same rounds (namespace default; heartbeats and the bench's own calls included):");
    line(
      table(
        ['action_type', 'per period'],
        [...[...server].sort((a, b) => b[1] - a[1]).map(([type, value]) => [type, perPeriod(value, periods)]), ['total', perPeriod(serverTotal, periods)]],
      ),
    );
  }
  const reasons = new Map<string, number>();
  for (const reason of rounds.flatMap((round) => round.retryReasons)) reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  if (reasons.size > 0) {
    line(`steps retried: ${count(sum([...reasons.values()]))} in ${count(periods)} periods; the failure before each retry:`);
    line(
      table(
        ['retries', 'step: failure'],
        [...reasons].sort((a, b) => b[1] - a[1]).map(([reason, times]) => [count(times), reason]),
      ),
    );
  }
  return fromHistories / periods;
}

function report(rounds: readonly Round[], clients: number, workers: number): TargetResult[] {
  const wall = spreadOf(rounds.map((round) => round.wallSeconds));
  const rate = spreadOf(rounds.map((round) => clients / round.wallSeconds));
  const endToEnd = rounds.flatMap((round) => round.timings.map((timing) => timing.endToEndMs));
  const p95s = spreadOf(
    rounds.map((round) =>
      percentile(
        round.timings.map((timing) => timing.endToEndMs),
        P95,
      ),
    ),
  );
  line(
    table(
      ['', 'median (min, max)'],
      [
        ['wall time, first start → last result', spread(wall, seconds)],
        ['periods per second', spread(rate, (value) => value.toFixed(1))],
        ['p95 end to end per period, each run', spread(p95s, milliseconds)],
        ['starting all workflows (client side)', spread(spreadOf(rounds.map((round) => round.startSeconds)), seconds)],
        ['machine CPU busy, all cores (anything running)', spread(spreadOf(rounds.map((round) => round.cpu.machineBusyShare)), percent)],
      ],
    ),
  );
  line(`CPU by program (all measured rounds together, ${cpus().length} cores × ${seconds(sum(rounds.map((round) => round.cpu.wallSeconds)))} wall):`);
  line(table(['program', 'CPU seconds', 'share of machine busy time'], cpuRows(rounds)));
  // The run's own programs only: other sessions on a shared machine take the rest, so this is what the pipeline costs.
  const ownCpu = sum(rounds.flatMap((round) => OWN_PROGRAMS.map((program) => round.cpu.byProgram.get(program) ?? 0)));
  const periods = clients * rounds.length;
  line(
    `CPU per period of the pipeline's own programs (worker, Temporal, PostgreSQL, sshd, this client): ${milliseconds((MS_PER_SECOND * ownCpu) / periods)}; on ${cpus().length} cores of its own that is at most ${((cpus().length * periods) / ownCpu).toFixed(1)} periods/s`,
  );
  line(
    `workflow end to end (server times, ${count(endToEnd.length)} workflows): median ${milliseconds(spreadOf(endToEnd).median)}, p95 ${milliseconds(percentile(endToEnd, P95))}, max ${milliseconds(spreadOf(endToEnd).max)}`,
  );
  line('where the time goes (all measured rounds pooled; wait = scheduled → started, run = started → completed):');
  line(table(['step', 'count', 'wait median', 'wait p95', 'run median', 'run p95', 'run total (share)'], stepRows(rounds)));
  const actions = reportActions(rounds);
  const label = `${clients} clients, ${workers} worker process${workers === 1 ? '' : 'es'}`;
  return [
    {
      name: `Temporal daily run, ${label}`,
      measured: `${rate.median.toFixed(1)} periods/s (min ${rate.min.toFixed(1)}, max ${rate.max.toFixed(1)}), p95 ${milliseconds(percentile(endToEnd, P95))}`,
      target: workers === 1 ? `≥ ${PERIODS_PER_SECOND_TARGET} periods/s` : 'none (reported)',
      verdict: workers === 1 ? verdict(rate.median >= PERIODS_PER_SECOND_TARGET) : 'INFO',
    },
    { name: `Temporal Actions per period, ${label}`, measured: actions.toFixed(2), target: 'as few as buy something', verdict: 'INFO' },
  ];
}

/**
 * The environment of a worker process: this bench's database and Temporal, nothing of the caller's Temporal or project settings,
 * and a Prometheus endpoint of its own (two workers on the default address would clash).
 */
function workerEnv(databaseUrl: string, temporalAddress: string, workDir: string, secretsDir: string, metricsPort: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('TEMPORAL_') && !name.startsWith('TWOWAY_')) env[name] = value;
  return {
    ...env,
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_NAMESPACE: 'default',
    TWOWAY_WORK_DIR: workDir,
    TWOWAY_SECRETS_DIR: secretsDir,
    TWOWAY_METRICS_ADDRESS: `127.0.0.1:${metricsPort}`,
    LOG_LEVEL: 'warn',
  };
}

interface WorkerProcesses {
  stop(): Promise<void>;
}

/** Identities of the pollers of the shared task queue's workflow tasks (one per worker process; the server remembers stopped ones for a while). */
async function workflowPollers(client: Client): Promise<Set<string>> {
  const response = await client.workflowService.describeTaskQueue({
    namespace: 'default',
    taskQueue: { name: TASK_QUEUE, kind: proto.temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: proto.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  return new Set((response.pollers ?? []).flatMap((poller) => poller.identity ?? []));
}

/** Starts `n` `twoway-report worker` processes and waits until each polls the shared task queue. */
async function startWorkers(client: Client, n: number, env: (index: number) => NodeJS.ProcessEnv): Promise<WorkerProcesses> {
  const earlier = await workflowPollers(client);
  const children: { child: ChildProcess; output: string; exited: boolean }[] = [];
  for (let index = 0; index < n; index++) {
    const child = spawn(process.execPath, [CLI_PATH, 'worker'], { env: env(index), stdio: ['ignore', 'pipe', 'pipe'] });
    const entry = { child, output: '', exited: false };
    const keep = (chunk: string) => (entry.output = (entry.output + chunk).slice(-MAX_WORKER_OUTPUT_CHARS));
    child.stdout?.setEncoding('utf8').on('data', keep);
    child.stderr?.setEncoding('utf8').on('data', keep);
    child.once('exit', () => (entry.exited = true));
    children.push(entry);
  }
  const killAll = () => children.forEach(({ child }) => child.kill('SIGKILL'));
  process.once('exit', killAll);
  const stop = async () => {
    process.removeListener('exit', killAll);
    await Promise.all(
      children.map(async ({ child, exited }) => {
        if (exited) return;
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        if ((await Promise.race([gone.then(() => true), sleep(WORKER_STOP_TIMEOUT_MS).then(() => false)])) === false) child.kill('SIGKILL');
      }),
    );
  };
  const deadline = Date.now() + WORKER_START_TIMEOUT_MS;
  const polling = async () => [...(await workflowPollers(client))].filter((identity) => !earlier.has(identity)).length;
  while ((await polling()) < n) {
    const dead = children.find((entry) => entry.exited);
    if (dead || Date.now() > deadline) {
      await stop();
      throw new BenchFailure(`a worker process ${dead ? 'exited' : 'did not poll in time'}: ${(dead ?? children[0])?.output.trim()}`);
    }
    await sleep(POLL_INTERVAL_MS);
  }
  return { stop };
}

export async function benchTemporal(options: TemporalBenchOptions): Promise<TargetResult[]> {
  const ids = clientIds(options.clients);
  const roundsPerCount = options.runs + 1;
  const days = Array.from({ length: roundsPerCount * options.workerCounts.length }, (_, index) => addDays(FIRST_DAY, index));
  const cleanups: (() => Promise<unknown>)[] = [];
  const results: TargetResult[] = [];
  try {
    heading(`Temporal: a daily run of ${options.clients} clients (seeding)`);
    const sftp = await startSftpServer({ baseDir: join(options.workDir, 'temporal-sftp') });
    cleanups.push(() => sftp.dispose());
    await seedDailyClients(options.knex, sftp, ids, days);
    const server: TemporalDevServer = await startTemporalDevServer({ port: await freePort(), metricsPort: await freePort() });
    cleanups.push(() => server.stop());
    const connection = await Connection.connect({ address: server.address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection, namespace: 'default' });
    const config = parseWorkerConfig({});
    for (const [countIndex, workers] of options.workerCounts.entries()) {
      heading(`Temporal: a daily run of ${options.clients} clients, ${workers} worker process${workers === 1 ? '' : 'es'}`);
      const metricsPorts: number[] = [];
      for (let index = 0; index < workers; index++) metricsPorts.push(await freePort());
      const processes = await startWorkers(client, workers, (index) =>
        workerEnv(options.databaseUrl, server.address, join(options.workDir, `temporal-work-${workers}-${index}`), sftp.secretsDir, metricsPorts[index] ?? 0),
      );
      try {
        line(
          `each worker process: \`twoway-report worker\`, ${config.maxConcurrentSmallFiles} small and ${config.maxConcurrentFiles} large builds/uploads at once (TWOWAY_MAX_CONCURRENT_SMALL_FILES, TWOWAY_MAX_CONCURRENT_FILES), ${config.maxConcurrentWorkflowTasks} workflow tasks at once, LOG_LEVEL=warn; Temporal dev server ${server.address} (SQLite in memory)`,
        );
        const [warmUpDay, ...measuredDays] = days.slice(countIndex * roundsPerCount, (countIndex + 1) * roundsPerCount);
        const warmUp = await runRound(client, null, ids.slice(0, WARM_UP_CLIENTS), warmUpDay as LocalDate);
        line(`warm-up: ${warmUp.timings.length} periods of ${warmUp.day} in ${seconds(warmUp.wallSeconds)} (not counted)`);
        const rounds: Round[] = [];
        for (const [index, day] of measuredDays.entries()) {
          const round = await runRound(client, server.metricsUrl, ids, day);
          rounds.push(round);
          line(
            `  run ${index + 1}: ${ids.length} periods of ${day} in ${seconds(round.wallSeconds)}: ${(ids.length / round.wallSeconds).toFixed(1)} periods/s, every file delivered and its sha256 checked`,
          );
        }
        results.push(...report(rounds, ids.length, workers));
      } catch (error) {
        // Said before the clean-up closes the connection (calls still retrying would then end the process first).
        line(`Temporal section failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        throw error;
      } finally {
        await processes.stop();
      }
    }
    return results;
  } finally {
    for (const cleanup of cleanups.reverse())
      await cleanup().catch((error: unknown) => line(`cleanup: ${error instanceof Error ? error.message : String(error)}`));
  }
}
