/** Processes of this machine: short system commands, signals, and finding and ending processes through /proc. */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** How often a wait for processes to go checks again. */
const EXIT_POLL_INTERVAL_MS = 10;

/** Runs a short system command; throws only when it cannot start. */
export function runCommand(command: string, args: readonly string[], input?: string): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  if (result.error) throw new Error(`${command} could not start: ${result.error.message}`);
  return { status: result.status ?? 1, stdout: result.stdout.trim(), stderr: result.stderr.trim() };
}

/** Sends `signal` to `pid`; a process that is already gone is not an error. */
export function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/** Whether a process still exists (an exited child is gone once Node has reaped it and told its listeners). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Every process id in /proc. */
export function allPids(): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number);
}

/** The parent of a process, or -1 once it is gone. */
export function parentOf(pid: number): number {
  try {
    const statLine = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 4 (ppid) follows the parenthesised command name, which may hold spaces.
    return Number(statLine.slice(statLine.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return -1;
  }
}

/** Still in the process table (running, or a zombie its parent has not reaped yet). */
function inProcessTable(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}

/** Live processes (no zombies: they cannot be killed, only reaped) running as `uid`. */
export function processesOfUser(uid: number): number[] {
  return allPids().filter((pid) => {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      return Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]) === uid && !/^State:\s+Z/m.test(status);
    } catch {
      return false;
    }
  });
}

/** Every process below `rootPid`, including those in sessions of their own. */
export function descendantPids(rootPid: number): number[] {
  const children = new Map<number, number[]>();
  for (const pid of allPids()) {
    const ppid = parentOf(pid);
    children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  const found: number[] = [];
  const queue = [rootPid];
  while (queue.length > 0) {
    const below = children.get(queue.shift() as number) ?? [];
    found.push(...below);
    queue.push(...below);
  }
  return found;
}

/** The processes among `pids` that have no children (zombies included: their parent reaps them). */
function leavesAmong(pids: readonly number[]): number[] {
  const parents = new Set(pids.map(parentOf));
  return pids.filter((pid) => !parents.has(pid));
}

/**
 * Ends the processes below `rootPid` from the bottom up, while it runs: each process exits
 * once its child has, and is reaped by its parent. Killing a whole tree at once would leave
 * orphans for init to reap, which some containers' init never does. What is left after
 * `graceMs` is killed.
 */
export async function endDescendants(rootPid: number, graceMs: number): Promise<void> {
  const deadline = Date.now() + graceMs;
  for (let below = descendantPids(rootPid); below.length > 0; below = descendantPids(rootPid)) {
    if (Date.now() > deadline) {
      for (const pid of below) killQuietly(pid, 'SIGKILL');
      return;
    }
    for (const pid of leavesAmong(below)) killQuietly(pid, 'SIGTERM');
    await sleep(EXIT_POLL_INTERVAL_MS);
  }
}

/** Kills `pids` and waits up to `graceMs` for them to leave the process table; those still there are killed again. */
export async function killAndWait(pids: readonly number[], graceMs: number): Promise<void> {
  for (const pid of pids) killQuietly(pid, 'SIGKILL');
  const deadline = Date.now() + graceMs;
  let left = pids.filter(inProcessTable);
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(EXIT_POLL_INTERVAL_MS);
    left = left.filter(inProcessTable);
  }
  for (const pid of left) killQuietly(pid, 'SIGKILL');
}
