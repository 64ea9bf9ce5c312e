/** Finding processes through /proc, so a drill kills exactly the processes it started and nothing else. */
import { readFileSync } from 'node:fs';
import { allPids, parentOf } from '../src/devstack/processes.js';

/** The process's arguments, or null once it is gone. */
export function commandLineOf(pid: number): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return null;
  }
}

/** True while the process exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/** The direct children of a process. */
export function childrenOf(pid: number): number[] {
  return allPids().filter((candidate) => parentOf(candidate) === pid);
}

/** The one child of this process whose arguments contain every one of `parts`, or null. */
export function findOwnChild(parts: readonly string[]): number | null {
  const found = childrenOf(process.pid).filter((pid) => {
    const args = commandLineOf(pid);
    return args !== null && parts.every((part) => args.includes(part));
  });
  if (found.length > 1) throw new Error(`more than one child process has the arguments ${parts.join(' ')}: ${found.join(', ')}`);
  return found[0] ?? null;
}
