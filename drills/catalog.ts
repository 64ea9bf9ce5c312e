/** Every drill: one real fault each, against real processes, then the shared checks. */
import { stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { addDays } from '../src/domain/local-date.js';
import { reportFileName, DEFAULT_FILE_NAME_TEMPLATE } from '../src/domain/file-name.js';
import { periodContaining } from '../src/domain/periods.js';
import { periodWorkflowId, scheduleId, scheduledWorkflowId } from '../src/domain/workflow-ids.js';
import type { PeriodExpectation } from './checks.js';
import type { DrillChild } from './children.js';
import {
  buildPartPath,
  describeError,
  LARGE_DAY_EVENTS,
  mainPeriod,
  SLOW_LINK_BYTES_PER_SECOND,
  SMALL_DAY_EVENTS,
  waitForExit,
  waitForPeriodClosed,
  waitForUpload,
  waitInDrill,
  workerFolder,
  type Drill,
  type DrillContext,
} from './drill.js';
import { CLIENT_ID } from './stack.js';
import { filesUnder } from '../test/support/files.js';

const DRILL_TIMEOUT_MS = 240_000;
/** How long sshd stays down in its drill. */
const SSHD_DOWN_MS = 20_000;
/** How long PostgreSQL stays down in its drill. */
const POSTGRES_DOWN_MS = 6_000;
/** How long the Temporal dev server stays down in its drill. */
const TEMPORAL_DOWN_MS = 5_000;
/** Where the connection is cut: this share of the file's bytes. */
const CUT_AT_FRACTION = 0.4;
/** A build counts as under way once its temporary file holds this much. */
const BUILD_UNDER_WAY_BYTES = 1024 * 1024;
/** How long B may take from starting its delivery to uploading before A is thawed anyway. */
const B_UPLOAD_TIMEOUT_MS = 20_000;
/** After a run ends, how long to wait for the other CLI commands of the drill. */
const CLI_END_TIMEOUT_MS = 30_000;

/** Waits until the worker's build has written at least BUILD_UNDER_WAY_BYTES. */
async function waitForBuild(context: DrillContext, worker: DrillChild): Promise<void> {
  const part = await waitInDrill(
    context,
    async () => {
      const path = await buildPartPath(context.stack, worker);
      return path !== null && ((await stat(path).catch(() => null))?.size ?? 0) >= BUILD_UNDER_WAY_BYTES ? path : null;
    },
    { timeoutMs: 60_000, intervalMs: 10, what: `${worker.name} to be building` },
  );
  context.note(`${worker.name} is building: its temporary file ${part} holds ≥ ${BUILD_UNDER_WAY_BYTES} bytes`);
}

/** Waits for the period's run to end and for the `run` command that started it. */
async function finish(context: DrillContext, ...commands: DrillChild[]): Promise<void> {
  const end = await waitForPeriodClosed(context, context.stack.period.start);
  // A run still open keeps its command waiting; it is ended with the drill.
  for (const command of commands) await waitForExit(context, command, end ? CLI_END_TIMEOUT_MS : 1_000);
}

/** The worker's own (SDK, debug level) log line saying an attempt of `activityType` started, completed or failed after `since`, if any. */
function activityLogSince(worker: DrillChild, activityType: string, since: number, messages: readonly string[]): { attempt: number; msg: string } | null {
  for (const line of worker.output().split('\n')) {
    if (!line.includes(`"activityType":"${activityType}"`) || !messages.some((msg) => line.includes(`"msg":"${msg}"`))) continue;
    const entry = JSON.parse(line) as { time: string; attempt: number; msg: string };
    if (Date.parse(entry.time) >= since) return { attempt: entry.attempt, msg: entry.msg };
  }
  return null;
}

/** Recent log lines of a worker at warn and above, or about delivery, for the timeline. */
function deliveryLogLines(worker: DrillChild, since: number): string[] {
  const wanted = /delivered file|already delivered|rename|uploading|uploaded|removing a temporary|conflict/i;
  return worker
    .output()
    .split('\n')
    .flatMap((line) => {
      try {
        const entry = JSON.parse(line) as {
          level?: string;
          msg?: string;
          time?: string;
          attempt?: number;
          activityType?: string;
          err?: { message?: string };
          error?: { message?: string; detail?: string };
        };
        if (!entry.time || Date.parse(entry.time) < since) return [];
        if (entry.level !== 'warn' && entry.level !== 'error' && !wanted.test(entry.msg ?? '')) return [];
        const what = [entry.activityType, entry.attempt === undefined ? null : `attempt ${entry.attempt}`].filter(Boolean).join(' ');
        const why = entry.err?.message ?? entry.error?.message ?? entry.error?.detail;
        return [`${entry.time.slice(11, 23)} ${entry.level} ${entry.msg}${what ? ` (${what})` : ''}${why ? `: ${why}` : ''}`.slice(0, 300)];
        return [];
      } catch {
        return [];
      }
    })
    .slice(-12);
}

const workerKilledMidBuild: Drill = {
  name: 'worker-killed-mid-build',
  fault:
    "SIGKILL to the only worker while its build file holds ≥ 1 MB (≈ 80 MB day); then a new worker on the same work folder, which sweeps the killed one's files",
  stack: { events: LARGE_DAY_EVENTS },
  timeoutMs: DRILL_TIMEOUT_MS,
  async run(context) {
    const { stack } = context;
    const first = await stack.startWorker();
    const run = stack.run();
    await waitForBuild(context, first);
    const killedFolder = await workerFolder(first);
    first.signal('SIGKILL');
    await first.exited;
    context.note(`SIGKILL to ${first.name} (pid ${first.pid}); left in its folder: ${(await filesUnder(killedFolder ?? '')).join(', ') || 'nothing'}`);
    const workDir = first.env.TWOWAY_WORK_DIR ?? '';
    const second = await stack.startWorker({ TWOWAY_WORK_DIR: workDir });
    const swept = killedFolder !== null && (await stat(killedFolder).catch(() => null)) === null;
    context.note(`${second.name} started on the same work folder; ${first.name}'s folder ${swept ? 'is swept' : 'is still there'}`);
    if (!swept) throw new Error(`${second.name} left ${killedFolder} in place at its start`);
    await finish(context, run);
    const left = await filesUnder(workDir);
    context.note(`work folder at the end: ${left.join(', ') || 'no file'}`);
    if (left.length > 0) throw new Error(`files left in the work folder after the run: ${left.join(', ')}`);
    return [mainPeriod(stack)];
  },
};

const workerKilledMidUpload: Drill = {
  name: 'worker-killed-mid-upload',
  fault: 'SIGKILL to the only worker when its upload (1 MB/s proxy) is 30 % through; then a new worker',
  stack: { events: SMALL_DAY_EVENTS, bytesPerSecond: SLOW_LINK_BYTES_PER_SECOND },
  timeoutMs: DRILL_TIMEOUT_MS,
  async run(context) {
    const { stack } = context;
    const first = await stack.startWorker();
    const run = stack.run();
    await waitForUpload(context, 0.3);
    first.signal('SIGKILL');
    context.note(`SIGKILL to ${first.name} (pid ${first.pid})`);
    await stack.startWorker();
    context.note('worker-2 started');
    await finish(context, run);
    return [mainPeriod(stack)];
  },
};

const sshdDown: Drill = {
  name: 'sshd-down-20s',
  fault: 'sshd and its sessions stopped when the upload is 30 % through; started again 20 s later on the same port and host key',
  stack: { events: SMALL_DAY_EVENTS, bytesPerSecond: SLOW_LINK_BYTES_PER_SECOND },
  timeoutMs: DRILL_TIMEOUT_MS,
  async run(context) {
    const { stack } = context;
    await stack.startWorker();
    const run = stack.run();
    await waitForUpload(context, 0.3);
    await stack.sftp.stop();
    context.note('sshd stopped');
    await sleep(SSHD_DOWN_MS, undefined, { signal: context.signal });
    await stack.sftp.start();
    context.note('sshd started again');
    await finish(context, run);
    return [mainPeriod(stack)];
  },
};

const connectionCut: Drill = {
  name: 'connection-cut',
  fault: `the proxy (2 MB/s) resets the SFTP connection after ${CUT_AT_FRACTION * 100} % of the file's bytes, then lets retries through`,
  stack: { events: SMALL_DAY_EVENTS, bytesPerSecond: 2 * SLOW_LINK_BYTES_PER_SECOND },
  timeoutMs: DRILL_TIMEOUT_MS,
  async run(context) {
    const { stack, reference } = context;
    const cutAt = Math.round(reference.bytes * CUT_AT_FRACTION);
    stack.proxy.cutAfter(cutAt);
    await stack.startWorker();
    const run = stack.run();
    await waitInDrill(context, () => stack.proxy.cuts > 0, { timeoutMs: 60_000, intervalMs: 10, what: 'the proxy to cut a connection' });
    stack.proxy.cutAfter(null);
    context.note(`connection cut after ${cutAt} client bytes; later connections go through`);
    await finish(context, run);
    return [mainPeriod(stack)];
  },
};

const postgresKilled: Drill = {
  name: 'postgres-killed-mid-extract',
  fault:
    'SIGKILL to the postmaster and every backend while the only worker streams the period out (≈ 80 MB day); started again 6 s later on the same data folder and port',
  stack: { events: LARGE_DAY_EVENTS },
  timeoutMs: DRILL_TIMEOUT_MS,
  async run(context) {
    const { stack } = context;
    const worker = await stack.startWorker();
    const run = stack.run();
    await waitForBuild(context, worker);
    const extracting = await stack.postgres.knex.raw<{ rows: { count: string }[] }>(
      "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'twoway-report build' AND state = 'active'",
    );
    context.note(`build queries active in PostgreSQL: ${extracting.rows[0]?.count ?? '?'}`);
    const killed = await stack.postgres.kill();
    context.note(`SIGKILL to the postmaster and ${killed.length - 1} backends`);
    await sleep(POSTGRES_DOWN_MS, undefined, { signal: context.signal });
    await stack.postgres.restart();
    context.note(
      `PostgreSQL started again; ${worker.name} is ${worker.running ? 'running' : `gone (${worker.exit?.signal ?? `status ${worker.exit?.code}`})`}`,
    );
    await finish(context, run);
    return [mainPeriod(stack)];
  },
};

const temporalRestarted: Drill = {
  name: 'temporal-restarted',
  fault: 'SIGKILL to the Temporal dev server when the upload is 30 % through; started again 5 s later on the same --db-filename and port',
  stack: { events: SMALL_DAY_EVENTS, bytesPerSecond: SLOW_LINK_BYTES_PER_SECOND },
  timeoutMs: DRILL_TIMEOUT_MS,
  async run(context) {
    const { stack } = context;
    await stack.startWorker();
    const run = stack.run();
    await waitForUpload(context, 0.3);
    const pid = await stack.temporal.kill();
    context.note(`SIGKILL to the Temporal dev server (pid ${pid})`);
    await sleep(TEMPORAL_DOWN_MS, undefined, { signal: context.signal });
    await stack.temporal.restart();
    context.note('Temporal dev server started again');
    await finish(context, run);
    return [mainPeriod(stack)];
  },
};

const twoRunsAtOnce: Drill = {
  name: 'two-runs-at-once',
  fault: 'two `run` commands of one period started together, two workers',
  stack: { events: SMALL_DAY_EVENTS, bytesPerSecond: SLOW_LINK_BYTES_PER_SECOND },
  timeoutMs: DRILL_TIMEOUT_MS,
  async run(context) {
    const { stack } = context;
    await Promise.all([stack.startWorker(), stack.startWorker()]);
    const runs = [stack.run(), stack.run()];
    context.note('two `run` commands started');
    await finish(context, ...runs);
    return [mainPeriod(stack)];
  },
};

const scheduleDuringBackfill: Drill = {
  name: 'schedule-during-backfill',
  fault: "a backfill of the last two days started and the client's schedule triggered at the same moment (the schedule runs yesterday)",
  stack: { events: SMALL_DAY_EVENTS, bytesPerSecond: SLOW_LINK_BYTES_PER_SECOND },
  timeoutMs: DRILL_TIMEOUT_MS,
  async run(context) {
    const { stack } = context;
    await stack.startWorker();
    const sync = stack.cli(['schedules', 'sync']);
    if ((await waitForExit(context, sync, 60_000)) !== 0) throw new Error(`schedules sync failed: ${sync.output().slice(-500)}`);
    const dayBefore = addDays(stack.period.start, -1);
    const [backfill] = await Promise.all([
      Promise.resolve(stack.cli(['backfill', '--client', CLIENT_ID, '--from', dayBefore, '--to', stack.period.start])),
      stack.temporal.client.schedule.getHandle(scheduleId(CLIENT_ID)).trigger(),
    ]);
    context.note(`backfill ${dayBefore}..${stack.period.start} started and the schedule triggered`);
    await waitForExit(context, backfill);
    await waitForPeriodClosed(context, dayBefore);
    await waitForPeriodClosed(context, stack.period.start);
    const scheduledRuns = async () => {
      const found = [];
      for await (const execution of stack.temporal.client.workflow.list()) {
        if (execution.workflowId.startsWith(scheduledWorkflowId(CLIENT_ID))) found.push(execution);
      }
      return found;
    };
    await waitInDrill(
      context,
      async () => {
        const runs = await scheduledRuns();
        return runs.length > 0 && runs.every((execution) => execution.status.name !== 'RUNNING');
      },
      { timeoutMs: CLI_END_TIMEOUT_MS, intervalMs: 250, what: 'the scheduled run to end' },
    );
    for (const execution of await scheduledRuns()) {
      const result = await stack.temporal.client.workflow
        .getHandle(execution.workflowId, execution.runId)
        .result()
        .then(
          (outcome: { status?: string }) => outcome.status ?? 'no status',
          (error: unknown) => describeError(error),
        );
      context.note(`scheduled run ${execution.workflowId}: ${execution.status.name} (${result})`);
    }
    const dayBeforePeriod = periodContaining('daily', dayBefore, 'UTC');
    return [
      mainPeriod(stack),
      {
        periodStart: dayBefore,
        fileName: reportFileName(DEFAULT_FILE_NAME_TEMPLATE, { clientId: CLIENT_ID, frequency: 'daily', period: dayBeforePeriod }),
        revisions: 1,
        compareWith: 'render',
      },
    ];
  },
};

const overlappingAttempts: Drill = {
  name: 'overlapping-attempts-different-bytes',
  fault:
    'worker A frozen (SIGSTOP) 30 % into its upload, one event inserted, worker B started and rebuilds; A thawed (SIGCONT) while B uploads (or once B has tried for 20 s, if it cannot upload while A is frozen)',
  stack: { events: SMALL_DAY_EVENTS, bytesPerSecond: SLOW_LINK_BYTES_PER_SECOND },
  timeoutMs: DRILL_TIMEOUT_MS,
  async run(context): Promise<PeriodExpectation[]> {
    const { stack } = context;
    const a = await stack.startWorker();
    const run = stack.run();
    const uploadA = await waitForUpload(context, 0.3);
    a.signal('SIGSTOP');
    context.note(`SIGSTOP to ${a.name} (A)`);
    await stack.insertEvent();
    context.note('one event inserted: a rebuild now has different bytes');
    const b = await stack.startWorker();
    context.note(`${b.name} (B) started`);
    // B gets the run once A's attempts have timed out (tasks already handed to A's frozen pollers time out one by one).
    const bDelivers = await waitInDrill(context, () => activityLogSince(b, 'deliverReport', 0, ['Activity started']), {
      timeoutMs: 150_000,
      intervalMs: 100,
      what: 'B to rebuild and start delivering',
    });
    context.note(`B rebuilt and started deliverReport (attempt ${bDelivers.attempt})`);
    let bUploads = true;
    try {
      await waitForUpload(context, 0.1, { except: [uploadA], timeoutMs: B_UPLOAD_TIMEOUT_MS });
    } catch (error) {
      if (context.signal.aborted) throw error;
      bUploads = false;
      const locks = await stack.postgres.knex.raw<{ rows: { application_name: string; granted: boolean }[] }>(
        "SELECT a.application_name, l.granted FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory'",
      );
      const held = locks.rows.map((row) => `${row.application_name} (${row.granted ? 'granted' : 'waiting'})`).join(', ') || 'none';
      context.note(`B has not uploaded ${B_UPLOAD_TIMEOUT_MS / 1000} s after starting deliverReport; advisory locks in PostgreSQL: ${held}`);
    }
    const thawedAt = Date.now();
    a.signal('SIGCONT');
    context.note(`SIGCONT to ${a.name} (A) while B ${bUploads ? 'uploads' : 'waits'}`);
    await finish(context, run);
    for (const line of deliveryLogLines(a, thawedAt)) context.note(`A after SIGCONT: ${line}`);
    for (const line of deliveryLogLines(b, thawedAt)) context.note(`B: ${line}`);
    return [mainPeriod(stack, { compareWith: 'ledger' })];
  },
};

/** Acts the moment the poller sees the period's final file name (the rename has just happened). */
function onFinalName(context: DrillContext, act: () => void): () => void {
  let done = false;
  return context.stack.poller.onListing((entries) => {
    if (done || !entries.has(context.stack.fileName)) return;
    done = true;
    act();
  });
}

const completionLostAfterRename: Drill = {
  name: 'completion-lost-after-rename',
  fault: 'SIGKILL to the only worker the moment the final file name appears; one event inserted; a new worker started',
  stack: { events: SMALL_DAY_EVENTS, bytesPerSecond: SLOW_LINK_BYTES_PER_SECOND },
  timeoutMs: DRILL_TIMEOUT_MS,
  async run(context) {
    const { stack } = context;
    const first = await stack.startWorker();
    const run = stack.run();
    let killedAt = 0;
    const stopWatching = onFinalName(context, () => {
      first.signal('SIGKILL');
      killedAt = Date.now();
    });
    try {
      await waitInDrill(context, () => killedAt > 0, { timeoutMs: 90_000, intervalMs: 10, what: 'the final file name to appear' });
    } finally {
      stopWatching();
    }
    context.note(`${stack.fileName} appeared; SIGKILL to ${first.name}`);
    await stack.insertEvent();
    context.note('one event inserted: a rebuild now has different bytes');
    await stack.startWorker();
    context.note('worker-2 started');
    await finish(context, run);
    return [mainPeriod(stack, { compareWith: 'ledger' })];
  },
};

const completionLostSameHost: Drill = {
  name: 'completion-lost-same-host',
  fault:
    "the only worker cut off Temporal (its proxy resets every connection) the moment the final file name appears, until the upload's heartbeat has timed out and a retry is scheduled; then let back, so the retry lands on the same process",
  stack: { events: SMALL_DAY_EVENTS, bytesPerSecond: SLOW_LINK_BYTES_PER_SECOND, temporalProxy: true },
  timeoutMs: DRILL_TIMEOUT_MS,
  async run(context) {
    const { stack } = context;
    const temporalProxy = stack.temporalProxy;
    if (!temporalProxy) throw new Error('this drill needs the Temporal proxy');
    // Long enough that the retry waits for this host to come back rather than counting it lost.
    const worker = await stack.startWorker({ TWOWAY_HOST_TIMEOUT: '60s' });
    const run = stack.run();
    let cutAt = 0;
    const stopWatching = onFinalName(context, () => {
      temporalProxy.cutAfter(0);
      cutAt = Date.now();
    });
    try {
      await waitInDrill(context, () => cutAt > 0, { timeoutMs: 90_000, intervalMs: 10, what: 'the final file name to appear' });
    } finally {
      stopWatching();
    }
    context.note(`${stack.fileName} appeared; ${worker.name} cut off Temporal`);
    // The SDK logs (at debug) each activity it has finished; the completion itself cannot get through.
    const finished = await waitInDrill(context, () => activityLogSince(worker, 'deliverReport', cutAt, ['Activity completed', 'Activity failed']), {
      timeoutMs: 30_000,
      intervalMs: 50,
      what: `${worker.name} to finish its deliverReport attempt`,
    });
    context.note(`${worker.name} finished deliverReport attempt ${finished.attempt} on its side (${finished.msg}); the completion cannot reach Temporal`);
    const handle = stack.temporal.client.workflow.getHandle(periodWorkflowId(CLIENT_ID, 'daily', stack.period.start));
    const retried = await waitInDrill(
      context,
      async () => {
        const pending = await handle.describe().then(
          (described) => described.raw.pendingActivities ?? [],
          () => [],
        );
        return pending.find((activity) => activity.activityType?.name === 'deliverReport' && (activity.attempt ?? 0) >= 2);
      },
      { timeoutMs: 60_000, intervalMs: 250, what: 'the delivery to time out and be retried' },
    );
    temporalProxy.cutAfter(null);
    const reconnectedAt = Date.now();
    context.note(
      `deliverReport attempt ${retried.attempt} scheduled (${retried.lastFailure?.message ?? 'no failure message'}); ${worker.name} let back to Temporal`,
    );
    await waitForPeriodClosed(context, stack.period.start, 60_000);
    await waitForExit(context, run, 5_000);
    for (const line of deliveryLogLines(worker, reconnectedAt)) context.note(`after reconnecting: ${line}`);
    return [mainPeriod(stack)];
  },
};

export const DRILLS: readonly Drill[] = [
  workerKilledMidBuild,
  workerKilledMidUpload,
  sshdDown,
  connectionCut,
  postgresKilled,
  temporalRestarted,
  twoRunsAtOnce,
  scheduleDuringBackfill,
  overlappingAttempts,
  completionLostAfterRename,
  completionLostSameHost,
];

/** The drills `npm test` runs (quick ones that cover a kill, a cut and a race). */
export const SHORT_FORM: readonly string[] = ['worker-killed-mid-upload', 'connection-cut', 'two-runs-at-once'];
