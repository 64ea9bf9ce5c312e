/**
 * CPU spent over an interval: the whole machine's (busy share of all cores) and, from
 * /proc, each of this process's child process trees (Temporal server, PostgreSQL, sshd)
 * and this process itself, so "where the time goes" also says which program used the CPU.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { MS_PER_SECOND } from '../src/domain/time-zone.js';

/** Clock ticks per second of /proc's CPU times (almost always 100 on Linux). */
const CLOCK_TICKS_PER_SECOND = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;
/** This process's own CPU (its threads), without the children it has reaped. */
export const SELF_LABEL = 'this process';
/** Children of this process that ended and were reaped (e.g. OpenSSH's sftp and its ssh). */
export const ENDED_CHILDREN_LABEL = 'ended child processes';

interface ProcessTimes {
  readonly ppid: number;
  readonly name: string;
  /** utime + stime of the process. */
  readonly ownTicks: number;
  /** cutime + cstime: its children that ended and were reaped (sshd's sessions, PostgreSQL's backends). */
  readonly reapedTicks: number;
}

export interface CpuSnapshot {
  readonly machineBusyMs: number;
  readonly machineTotalMs: number;
  readonly atMs: number;
  /** CPU seconds so far, by label. */
  readonly byProgram: ReadonlyMap<string, number>;
}

export interface CpuSpent {
  readonly wallSeconds: number;
  /** 0..1: how busy all cores together were (other processes on the machine included). */
  readonly machineBusyShare: number;
  readonly machineBusySeconds: number;
  /** CPU seconds in the interval, by program (this process, each child process tree). */
  readonly byProgram: ReadonlyMap<string, number>;
}

function readProcesses(): Map<number, ProcessTimes> {
  const found = new Map<number, ProcessTimes>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The name is in parentheses and may hold spaces; fields after it are space separated.
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat
        .slice(stat.lastIndexOf(')') + 2)
        .split(' ')
        .map(Number);
      // After the name: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14).
      found.set(Number(entry), {
        ppid: fields[1] ?? 0,
        name,
        ownTicks: (fields[11] ?? 0) + (fields[12] ?? 0),
        reapedTicks: (fields[13] ?? 0) + (fields[14] ?? 0),
      });
    } catch {
      // Ended while being read.
    }
  }
  return found;
}

function subtreeTicks(processes: ReadonlyMap<number, ProcessTimes>, root: number): number {
  let ticks = 0;
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.pop() as number;
    const times = processes.get(pid);
    if (times) ticks += times.ownTicks + times.reapedTicks;
    for (const [child, childTimes] of processes) if (childTimes.ppid === pid) queue.push(child);
  }
  return ticks;
}

function cpuByProgram(): Map<string, number> {
  const processes = readProcesses();
  const seconds = new Map<string, number>();
  const self = processes.get(process.pid);
  // Only its own time: children it reaped earlier (render runs) belong to earlier sections.
  seconds.set(SELF_LABEL, (self?.ownTicks ?? 0) / CLOCK_TICKS_PER_SECOND);
  seconds.set(ENDED_CHILDREN_LABEL, (self?.reapedTicks ?? 0) / CLOCK_TICKS_PER_SECOND);
  for (const [pid, times] of processes) {
    if (times.ppid !== process.pid) continue;
    seconds.set(times.name, (seconds.get(times.name) ?? 0) + subtreeTicks(processes, pid) / CLOCK_TICKS_PER_SECOND);
  }
  return seconds;
}

export function cpuSnapshot(): CpuSnapshot {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus()) {
    const all = times.user + times.nice + times.sys + times.irq + times.idle;
    total += all;
    busy += all - times.idle;
  }
  return { machineBusyMs: busy, machineTotalMs: total, atMs: performance.now(), byProgram: cpuByProgram() };
}

export function cpuSince(start: CpuSnapshot): CpuSpent {
  const now = cpuSnapshot();
  const byProgram = new Map<string, number>();
  for (const [label, seconds] of now.byProgram) byProgram.set(label, seconds - (start.byProgram.get(label) ?? 0));
  const machineTotalMs = Math.max(1, now.machineTotalMs - start.machineTotalMs);
  const machineBusyMs = now.machineBusyMs - start.machineBusyMs;
  const wallSeconds = (now.atMs - start.atMs) / MS_PER_SECOND;
  // os.cpus() times are per core; their sum over cores, per wall second, is the core count.
  return {
    wallSeconds,
    machineBusyShare: machineBusyMs / machineTotalMs,
    machineBusySeconds: (machineBusyMs / machineTotalMs) * wallSeconds * cpus().length,
    byProgram,
  };
}
