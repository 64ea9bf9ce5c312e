import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/config/paths.js';

export interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A CLI process whose standard error can be awaited line by line, for steps that must happen while it runs. */
export function startCliProcess(args: readonly string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'twoway-report.js'), ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const watchers: { pattern: RegExp; found: () => void }[] = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    for (const watcher of watchers.filter((each) => each.pattern.test(stderr))) {
      watchers.splice(watchers.indexOf(watcher), 1);
      watcher.found();
    }
  });
  const done = new Promise<CliResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
  return {
    done,
    /** Resolves once standard error matches; rejects if the process ends first. */
    stderrMatches: (pattern: RegExp) =>
      Promise.race([
        new Promise<void>((resolve) => (pattern.test(stderr) ? resolve() : watchers.push({ pattern, found: resolve }))),
        done.then((result) => Promise.reject(new Error(`the command ended (status ${result.status}) before stderr matched ${pattern}:\n${result.stderr}`))),
      ]),
    kill: () => child.exitCode === null && child.kill('SIGKILL'),
  };
}

/** Runs `twoway-report …` as a user would: a separate process through the package's bin. */
export function runCliProcess(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return startCliProcess(args, env).done;
}
