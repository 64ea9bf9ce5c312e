/** What a drill is, what it gets to work with, and the waits every drill shares. */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseWorkerFolderName } from '../src/domain/leftovers.js';
import { buildingPath } from '../src/report/build-report.js';
import { periodWorkflowId } from '../src/domain/workflow-ids.js';
import type { LocalDate } from '../src/domain/types.js';
import type { PeriodExpectation } from './checks.js';
import type { DrillChild } from './children.js';
import { CLIENT_ID, type DrillStack, type StackOptions } from './stack.js';
import { waitUntil, type WaitOptions } from '../test/support/wait.js';

/** A build small enough to upload in seconds through the throttled proxy: ≈ 4 MB. */
export const SMALL_DAY_EVENTS = 20_000;
/** A build that takes seconds on its own (≈ 80 MB, ≈ 3 s on a 2-core machine), to hit it mid-way. */
export const LARGE_DAY_EVENTS = 400_000;
/** Upload speed through the proxy when a drill needs an upload to take seconds: ≈ 4 s for the small day. */
export const SLOW_LINK_BYTES_PER_SECOND = 1_000_000;
/** How long a run may take to end after its fault before it counts as lost. */
export const RUN_END_TIMEOUT_MS = 150_000;

export interface DrillContext {
  readonly stack: DrillStack;
  /** The file as `render` built it before the drill started (size thresholds). */
  readonly reference: { readonly bytes: number; readonly sha256: string };
  /** Adds a line to the drill's timeline, with the seconds since it started. */
  note(text: string): void;
  readonly signal: AbortSignal;
}

export interface Drill {
  readonly name: string;
  /** How the fault is produced, in one line. */
  readonly fault: string;
  readonly stack: StackOptions;
  /** The whole drill, checks included, must end within this. */
  readonly timeoutMs: number;
  /** Runs the fault and waits for the runs to end; returns what each period must end with. */
  run(context: DrillContext): Promise<PeriodExpectation[]>;
}

/** The drill's main period, delivered once, its bytes equal to render's. */
export function mainPeriod(stack: DrillStack, overrides: Partial<PeriodExpectation> = {}): PeriodExpectation {
  return { periodStart: stack.period.start, fileName: stack.fileName, revisions: 1, compareWith: 'render', ...overrides };
}

/** waitUntil, also ended at once when the drill's time runs out (or it is interrupted). */
export function waitInDrill<T>(context: DrillContext, condition: () => T | Promise<T>, options: WaitOptions): ReturnType<typeof waitUntil<T>> {
  return waitUntil(() => {
    context.signal.throwIfAborted();
    return condition();
  }, options);
}

/** A temporary upload of the period's file (`.<name>.<hex>.part`) in the folder. */
export function isTemporaryOf(entry: string, fileName: string): boolean {
  return entry.startsWith(`.${fileName}.`) && entry.endsWith('.part');
}

/**
 * Waits until an upload of the period's file under a temporary name holds at least `fraction`
 * of the file; returns the temporary's name. `except` skips temporaries already known (another attempt's).
 */
export async function waitForUpload(
  context: DrillContext,
  fraction: number,
  options: { readonly except?: readonly string[]; readonly timeoutMs?: number } = {},
): Promise<string> {
  const { stack, reference } = context;
  let found: string | null = null;
  const stopListening = stack.poller.onListing((entries) => {
    for (const [name, size] of entries) {
      if (isTemporaryOf(name, stack.fileName) && !options.except?.includes(name) && size >= reference.bytes * fraction) found ??= name;
    }
  });
  try {
    const name = await waitInDrill(context, () => found, {
      timeoutMs: options.timeoutMs ?? 60_000,
      intervalMs: 10,
      what: `an upload of ${stack.fileName} at ${Math.round(fraction * 100)} %`,
    });
    context.note(`upload ${name} reached ${Math.round(fraction * 100)} % of ${reference.bytes} bytes`);
    return name;
  } finally {
    stopListening();
  }
}

/** A run cannot end while no worker runs; after this long without one, waiting stops. */
const NO_WORKER_GRACE_MS = 15_000;

export interface RunEnd {
  readonly status: string;
  readonly detail: string;
}

/** Waits until the period's workflow (the latest run under its id) has closed; null when it is still open at the timeout. */
export async function waitForPeriodClosed(context: DrillContext, periodStart: LocalDate, timeoutMs = RUN_END_TIMEOUT_MS): Promise<RunEnd | null> {
  const handle = context.stack.temporal.client.workflow.getHandle(periodWorkflowId(CLIENT_ID, 'daily', periodStart));
  let noWorkerSince: number | null = null;
  let closed: string | null = null;
  try {
    await waitInDrill(
      context,
      async () => {
        // Nothing can deliver with every worker gone: no need to wait out the whole timeout.
        noWorkerSince = context.stack.workers.some((worker) => worker.running) ? null : (noWorkerSince ?? Date.now());
        if (noWorkerSince !== null && Date.now() - noWorkerSince > NO_WORKER_GRACE_MS) return true;
        try {
          const described = await handle.describe();
          closed = described.status.name === 'RUNNING' ? null : described.status.name;
          return closed !== null;
        } catch {
          // Not started yet, or Temporal not answering for a moment (the drill may have just restarted it).
          return false;
        }
      },
      { timeoutMs, intervalMs: 250, what: `the workflow of ${periodStart} to close` },
    );
  } catch (error) {
    if (context.signal.aborted) throw error;
  }
  if (closed === null) {
    const described = await handle.describe().catch(() => null);
    const pending = described?.raw.pendingActivities?.map(
      (activity) => `${activity.activityType?.name} attempt ${activity.attempt}${activity.lastFailure?.message ? `: ${activity.lastFailure.message}` : ''}`,
    );
    const after = noWorkerSince === null ? `after ${timeoutMs / 1000} s` : `with no worker running for ${NO_WORKER_GRACE_MS / 1000} s`;
    context.note(
      `workflow of ${periodStart} still ${described?.status.name ?? 'not started'} ${after}${pending?.length ? `; pending ${pending.join('; ')}` : ''}`,
    );
    return null;
  }
  let detail = '';
  try {
    const outcome = (await handle.result()) as { status?: string; revision?: number };
    detail = `${outcome.status ?? 'no status'}${outcome.revision ? `, revision ${outcome.revision}` : ''}`;
  } catch (error) {
    detail = describeError(error);
  }
  context.note(`workflow of ${periodStart} closed: ${closed} (${detail})`);
  return { status: closed, detail };
}

/** Waits for a CLI command to exit and notes how it ended and its last line. */
export async function waitForExit(context: DrillContext, child: DrillChild, timeoutMs = RUN_END_TIMEOUT_MS): Promise<number | null> {
  try {
    await waitInDrill(context, () => !child.running, { timeoutMs, intervalMs: 100, what: `${child.name} to exit` });
  } catch (error) {
    if (context.signal.aborted) throw error;
    context.note(`${child.name} (${child.args.join(' ')}) still running after ${timeoutMs / 1000} s`);
    return null;
  }
  const last =
    child
      .output()
      .trim()
      .split('\n')
      .filter((line) => !line.startsWith('{'))
      .at(-1) ?? '';
  context.note(`${child.name} exited with ${child.exit?.signal ?? `status ${child.exit?.code}`}: ${last.slice(0, 300)}`);
  return child.exit?.code ?? null;
}

export function describeError(error: unknown): string {
  let current: unknown = error;
  const parts: string[] = [];
  while (current instanceof Error && parts.length < 4) {
    parts.push(current.message);
    current = current.cause;
  }
  return parts.join(' ← ') || String(error);
}

/** The worker process's own folder in its work folder (`<work>/worker+<host>+<pid>+<token>`), once it has made it. */
export async function workerFolder(worker: DrillChild): Promise<string | null> {
  const workDir = worker.env.TWOWAY_WORK_DIR ?? '';
  const name = (await readdir(workDir).catch(() => [])).find((entry) => parseWorkerFolderName(entry)?.pid === worker.pid);
  return name === undefined ? null : join(workDir, name);
}

/** The worker's build in progress (`<worker folder>/drill/daily/<name>.part`), once the worker has made its folder. */
export async function buildPartPath(stack: DrillStack, worker: DrillChild): Promise<string | null> {
  const folder = await workerFolder(worker);
  return folder === null ? null : buildingPath(join(folder, CLIENT_ID, 'daily', stack.fileName));
}
