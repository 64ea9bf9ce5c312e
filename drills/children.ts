/**
 * The drill's child processes (workers, CLI commands): started through the package's bin as a
 * user would, output kept in a file each, and every one still running ended when the drill
 * ends, whatever happened in it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROJECT_ROOT } from '../src/config/paths.js';
import { killQuietly } from '../src/devstack/processes.js';

const BIN = join(PROJECT_ROOT, 'bin', 'twoway-report.js');
/** A child asked to stop (SIGTERM) that is still there after this long is killed. */
const STOP_GRACE_MS = 10_000;

export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** One `twoway-report …` process. */
export class DrillChild {
  private exitInfo: ChildExit | null = null;
  readonly exited: Promise<ChildExit>;
  /** Signals the drill sent on purpose (a SIGKILL here is a fault, not a crash). */
  readonly signalsSent: NodeJS.Signals[] = [];

  constructor(
    readonly name: string,
    readonly args: readonly string[],
    readonly logFile: string,
    /** Its environment (holds secrets: never print it). */
    readonly env: NodeJS.ProcessEnv,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
      // Only when it could not start at all; then there is no exit event.
      child.once('error', () => {
        this.exitInfo ??= { code: null, signal: null };
        resolve(this.exitInfo);
      });
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.name} did not start`);
    return this.child.pid;
  }

  get exit(): ChildExit | null {
    return this.exitInfo;
  }

  get running(): boolean {
    return this.exitInfo === null;
  }

  /** stdout and stderr as written so far. */
  output(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  signal(signal: NodeJS.Signals): void {
    this.signalsSent.push(signal);
    if (this.running) killQuietly(this.pid, signal);
  }

  /** SIGTERM, then SIGKILL after a grace period; a frozen (SIGSTOPped) child is woken first so it can hear it. */
  async stop(): Promise<void> {
    if (!this.running) return;
    killQuietly(this.pid, 'SIGCONT');
    killQuietly(this.pid, 'SIGTERM');
    const stopped = await Promise.race([this.exited.then(() => true), sleep(STOP_GRACE_MS).then(() => false)]);
    if (!stopped) {
      killQuietly(this.pid, 'SIGKILL');
      await this.exited;
    }
  }
}

export class ChildSet {
  private readonly children: DrillChild[] = [];
  // The last resort when the drill's process exits without stopping them (a second Ctrl-C).
  private readonly killOnExit = () => {
    for (const child of this.children) if (child.running) killQuietly(child.pid, 'SIGKILL');
  };

  constructor(private readonly logDir: string) {
    process.once('exit', this.killOnExit);
  }

  /** Starts `node bin/twoway-report.js <args>` with exactly `env` (nothing inherited but what the caller passes). */
  start(name: string, args: readonly string[], env: NodeJS.ProcessEnv): DrillChild {
    const logFile = join(this.logDir, `${name}.log`);
    const fd = openSync(logFile, 'a');
    try {
      const child = spawn(process.execPath, [BIN, ...args], { cwd: PROJECT_ROOT, env, stdio: ['ignore', fd, fd] });
      const started = new DrillChild(name, args, logFile, env, child);
      this.children.push(started);
      return started;
    } finally {
      closeSync(fd);
    }
  }

  get all(): readonly DrillChild[] {
    return this.children;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.children.map((child) => child.stop()));
    process.removeListener('exit', this.killOnExit);
  }
}
