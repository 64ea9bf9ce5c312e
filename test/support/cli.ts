import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/config/paths.js';
import { waitUntil } from './wait.js';

export interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A CLI process whose output can be awaited line by line, for steps that must happen while it runs. */
export function startCliProcess(args: readonly string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'twoway-report.js'), ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { stdout: '', stderr: '' };
  type Stream = keyof typeof output;
  const watchers: { stream: Stream; pattern: RegExp; found: () => void }[] = [];
  const onData = (stream: Stream) => (chunk: string) => {
    output[stream] += chunk;
    for (const watcher of watchers.filter((each) => each.stream === stream && each.pattern.test(output[stream]))) {
      watchers.splice(watchers.indexOf(watcher), 1);
      watcher.found();
    }
  };
  child.stdout.setEncoding('utf8').on('data', onData('stdout'));
  child.stderr.setEncoding('utf8').on('data', onData('stderr'));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout: output.stdout, stderr: output.stderr }));
  });
  const matches = (stream: Stream, pattern: RegExp) =>
    Promise.race([
      new Promise<void>((resolve) => (pattern.test(output[stream]) ? resolve() : watchers.push({ stream, pattern, found: resolve }))),
      done.then((result) =>
        Promise.reject(new Error(`the command ended (status ${result.status}) before ${stream} matched ${pattern}:\n${result.stdout}\n${result.stderr}`)),
      ),
    ]);
  return {
    done,
    /** Resolves once standard error matches; rejects if the process ends first. */
    stderrMatches: (pattern: RegExp) => matches('stderr', pattern),
    /** Resolves once standard output matches; rejects if the process ends first. */
    stdoutMatches: (pattern: RegExp) => matches('stdout', pattern),
    /** Standard output so far. */
    stdout: () => output.stdout,
    /** Ctrl-C: the command stops as it would in a terminal. */
    interrupt: () => child.exitCode === null && child.kill('SIGINT'),
    kill: () => child.exitCode === null && child.kill('SIGKILL'),
  };
}

/** Runs `twoway-report …` as a user would: a separate process through the package's bin. */
export function runCliProcess(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return startCliProcess(args, env).done;
}

/** How long a worker process may take to connect and start polling. */
export const WORKER_START_TIMEOUT_MS = 30_000;

export interface WorkerProcess {
  readonly child: ChildProcess;
  /** Everything it printed so far (JSON log lines). */
  log(): string;
  /** SIGKILL unless it has already ended. */
  kill(): void;
}

/** Starts `twoway-report worker` and waits until it says it started; fails at once if it ends first. */
export async function startWorkerProcess(env: NodeJS.ProcessEnv): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'twoway-report.js'), 'worker'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (log += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (log += chunk));
  const worker: WorkerProcess = { child, log: () => log, kill: () => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')) };
  try {
    await waitUntil(
      () => {
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`the worker ended (${child.exitCode ?? child.signalCode}) before starting:\n${log}`);
        return log.includes('"worker started"');
      },
      { timeoutMs: WORKER_START_TIMEOUT_MS, what: () => `the worker to start; its log:\n${log}` },
    );
  } catch (error) {
    worker.kill();
    throw error;
  }
  return worker;
}
