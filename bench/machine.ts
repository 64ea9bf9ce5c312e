/** The machine a run was made on, printed with the results (figures mean little without it). */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { BYTES_PER_GB } from './format.js';

function osName(): string {
  try {
    return /^PRETTY_NAME="?([^"\n]+)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function openSshVersion(): string {
  const result = spawnSync('ssh', ['-V'], { encoding: 'utf8' });
  return (result.stderr || result.stdout || 'not found').trim();
}

export function describeMachine(postgresVersion: string | null): string[] {
  const processors = cpus();
  return [
    `date:        ${new Date().toISOString()}`,
    `CPU:         ${processors[0]?.model.trim() ?? 'unknown'}, ${processors.length} cores`,
    `RAM:         ${(totalmem() / BYTES_PER_GB).toFixed(1)} GB`,
    `OS:          ${osName()}, Linux ${release()}`,
    `load avg:    ${loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')} (1, 5, 15 min) at start`,
    `Node:        ${process.version}`,
    `PostgreSQL:  ${postgresVersion ?? 'not started (no section needs it)'}`,
    `OpenSSH:     ${openSshVersion()}`,
  ];
}
