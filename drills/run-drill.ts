/** Runs one drill from a fresh stack to its checks, under its overall timeout, and always cleans up. */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { checkDrill, redactSecrets, type CheckCounts, type FailedCheck, type PeriodExpectation } from './checks.js';
import { describeError, mainPeriod, type Drill, type DrillContext } from './drill.js';
import { CLIENT_ID, DrillStack } from './stack.js';

/** Checks run after the drill, even one that timed out; they get this long of their own. */
const CHECKS_TIMEOUT_MS = 120_000;

export interface DrillResult {
  readonly name: string;
  readonly fault: string;
  readonly survived: boolean;
  readonly seconds: number;
  readonly failures: readonly FailedCheck[];
  readonly counts: CheckCounts;
  readonly timeline: readonly string[];
  readonly notes: readonly string[];
  /** The drill's folder (logs of every process), kept when it did not survive. */
  readonly keptDir: string | null;
}

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000} s`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

async function renderReference(stack: DrillStack): Promise<{ bytes: number; sha256: string }> {
  const render = stack.cli(['render', '--client', CLIENT_ID, '--period', stack.period.start, '--out-dir', join(stack.dir, 'reference')]);
  await render.exited;
  const match = /: (\d+) rows, (\d+) bytes, sha256 ([0-9a-f]{64})/.exec(render.output());
  if (!match) throw new Error(`render of the reference file failed: ${render.output().slice(-500)}`);
  await rm(join(stack.dir, 'reference'), { recursive: true, force: true });
  return { bytes: Number(match[2]), sha256: match[3] as string };
}

export async function runDrill(
  drill: Drill,
  options: { readonly keepLogs?: 'always' | 'failed' | 'never'; readonly signal?: AbortSignal } = {},
): Promise<DrillResult> {
  const startedAt = Date.now();
  const timeline: string[] = [];
  const note = (text: string) => timeline.push(`${((Date.now() - startedAt) / 1000).toFixed(1).padStart(6)} s  ${text}`);
  const failures: FailedCheck[] = [];
  let counts: CheckCounts = { partialFilesSeen: 0, duplicates: 0, lost: 0, workersCrashed: 0 };
  let notes: string[] = [];
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`the drill's ${drill.timeoutMs / 1000} s ran out`)), drill.timeoutMs);
  const interrupted = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', interrupted, { once: true });
  let stack: DrillStack | null = null;
  let keptDir: string | null = null;
  try {
    stack = await DrillStack.start(drill.stack);
    note(
      `stack ready in ${stack.dir}: PostgreSQL, Temporal dev server, sshd behind a proxy${drill.stack.bytesPerSecond ? ` (${drill.stack.bytesPerSecond} B/s)` : ''}, ${drill.stack.events} events`,
    );
    const reference = await renderReference(stack);
    note(`reference render: ${reference.bytes} bytes`);
    const context: DrillContext = { stack, reference, note, signal: controller.signal };
    let expectations: PeriodExpectation[] = [mainPeriod(stack)];
    try {
      expectations = await drill.run(context);
    } catch (error) {
      const reason = controller.signal.aborted ? describeError(controller.signal.reason) : describeError(error);
      note(`drill stopped: ${reason}`);
      failures.push({ check: 'outcome', detail: `the drill did not run to its end: ${reason}` });
    }
    if (options.signal?.aborted) throw options.signal.reason;
    const checked = await withTimeout(checkDrill(stack, expectations), CHECKS_TIMEOUT_MS, 'the checks');
    failures.push(...checked.failures);
    counts = checked.counts;
    notes = checked.notes;
  } catch (error) {
    failures.push({ check: 'outcome', detail: `the drill failed to run: ${describeError(error)}` });
    counts = { ...counts, lost: Math.max(counts.lost, 1) };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', interrupted);
    const survived = failures.length === 0;
    if (stack) {
      const keepLogs = options.keepLogs ?? 'failed';
      const keep = keepLogs === 'always' || (keepLogs === 'failed' && !survived);
      await stack.close({ keepDir: keep });
      keptDir = keep ? stack.dir : null;
    }
  }
  // A secret found somewhere is reported, never printed.
  const secrets = stack?.secrets ?? [];
  const redact = (text: string) => redactSecrets(secrets, text);
  return {
    name: drill.name,
    fault: drill.fault,
    survived: failures.length === 0,
    seconds: (Date.now() - startedAt) / 1000,
    failures: failures.map((failure) => ({ check: failure.check, detail: redact(failure.detail) })),
    counts,
    timeline: timeline.map(redact),
    notes: notes.map(redact),
    keptDir,
  };
}
