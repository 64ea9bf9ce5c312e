/** Runs a command as a child process and times it from spawn to exit, the way a user or a scheduler would see it. */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { MS_PER_SECOND } from '../src/domain/time-zone.js';

export interface TimedRun {
  readonly seconds: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Called with the child's pid once it is spawned (to watch it from /proc, say). */
  readonly onSpawn?: (pid: number) => void;
}

/** Output kept in memory per stream; children here print a few lines, anything more is noise. */
const MAX_KEPT_OUTPUT_CHARS = 64 * 1024;

function keepTail(kept: string, more: string): string {
  const joined = kept + more;
  return joined.length > MAX_KEPT_OUTPUT_CHARS ? joined.slice(joined.length - MAX_KEPT_OUTPUT_CHARS) : joined;
}

/** Resolves when the command exits with status 0; rejects with its stderr otherwise. */
export function runTimed(command: string, args: readonly string[], options: RunOptions = {}): Promise<TimedRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid !== undefined) options.onSpawn?.(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (data: string) => (stdout = keepTail(stdout, data)));
    child.stderr.setEncoding('utf8').on('data', (data: string) => (stderr = keepTail(stderr, data)));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      const seconds = (performance.now() - started) / MS_PER_SECOND;
      if (code === 0) resolve({ seconds, stdout, stderr });
      else reject(new Error(`${command} ${args.join(' ')} exited with ${signal ?? `status ${code}`}: ${stderr.trim() || stdout.trim()}`));
    });
  });
}
