/** The benchmark's command line, parsed strictly: an unknown or malformed flag stops it before anything starts. */
import { parseArgs } from 'node:util';

export const SECTIONS = ['render', 'memory', 'sftp', 'wan', 'temporal', 'ui', 'pgp', 'shared', 'drift'] as const;
export type Section = (typeof SECTIONS)[number];

export interface BenchOptions {
  /** Also seed and measure the 5M-event month. */
  readonly large: boolean;
  /** Measured runs per figure (after one warm-up); each figure is their median, with min and max. */
  readonly runs: number;
  readonly sections: ReadonlySet<Section>;
  /** Size of the SFTP test file, in MiB. */
  readonly sftpMb: number;
  /** Size of the file delivered through the WAN proxy, in MiB. */
  readonly wanMb: number;
  /** Size of the PGP test file, in MiB. */
  readonly pgpMb: number;
  /** Daily clients in the Temporal section. */
  readonly clients: number;
  /** Worker process counts the Temporal section measures, in order. */
  readonly workerCounts: readonly number[];
}

const DEFAULT_RUNS = 3;
const DEFAULT_SFTP_MB = 512;
const DEFAULT_PGP_MB = 1024;
/** The floor for the delivery comparison; smaller files are allowed for a quick try, flagged as such. */
export const TARGET_SFTP_MIN_MB = 500;
const DEFAULT_WAN_MB = 256;
/** The size for the WAN comparison; smaller files are a quick try, flagged as such. */
export const TARGET_WAN_MIN_MB = 256;
const DEFAULT_CLIENTS = 2_000;
const DEFAULT_WORKER_COUNTS = [1, 2];
const MAX_WORKERS = 8;
const MAX_RUNS = 50;
const MAX_SFTP_MB = 64 * 1024;
const MAX_CLIENTS = 5_000;

export const USAGE = `usage: npm run bench -- [--large] [--runs N] [--only render|memory|sftp|wan|temporal|ui|pgp|shared|drift]... [--sftp-mb N] [--wan-mb N] [--pgp-mb N] [--clients N] [--workers N,M]

  --large        also seed and measure a 5M-event month (takes minutes to seed)
  --runs N       measured runs per figure, after one warm-up (default ${DEFAULT_RUNS})
  --only NAME    run only this section; repeatable (default: all nine; wan is SFTP through a latency proxy, ui the status page, shared the 30M-event shared table, drift the late-data check)
  --sftp-mb N    size of the SFTP test file in MiB (default ${DEFAULT_SFTP_MB}; below ${TARGET_SFTP_MIN_MB} is a quick try, not a target measurement)
  --wan-mb N     size of the file delivered through the WAN proxy in MiB (default ${DEFAULT_WAN_MB}; below ${TARGET_WAN_MIN_MB} is a quick try)
  --pgp-mb N     size of the PGP test file in MiB (default ${DEFAULT_PGP_MB}; smaller is a quick try)
  --clients N    daily clients in the Temporal section (default ${DEFAULT_CLIENTS})
  --workers N,M  worker process counts the Temporal section measures (default ${DEFAULT_WORKER_COUNTS.join(',')})`;

export class BenchUsageError extends Error {}

function wholeNumber(flag: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max)
    throw new BenchUsageError(`--${flag} is "${raw}"; allowed: a whole number from ${min} to ${max}`);
  return value;
}

function workerCountsOf(raw: string | undefined): number[] {
  if (raw === undefined) return [...DEFAULT_WORKER_COUNTS];
  return raw.split(',').map((part) => wholeNumber('workers', part.trim(), 1, 1, MAX_WORKERS));
}

function sectionsOf(raw: readonly string[] | undefined): Set<Section> {
  if (!raw || raw.length === 0) return new Set(SECTIONS);
  const chosen = new Set<Section>();
  for (const name of raw) {
    const section = SECTIONS.find((candidate) => candidate === name);
    if (!section) throw new BenchUsageError(`--only is "${name}"; allowed: ${SECTIONS.join(', ')}`);
    chosen.add(section);
  }
  return chosen;
}

export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        large: { type: 'boolean' },
        runs: { type: 'string' },
        only: { type: 'string', multiple: true },
        'sftp-mb': { type: 'string' },
        'wan-mb': { type: 'string' },
        'pgp-mb': { type: 'string' },
        clients: { type: 'string' },
        workers: { type: 'string' },
      },
    }));
  } catch (error) {
    throw new BenchUsageError(error instanceof Error ? error.message : String(error));
  }
  return {
    large: values.large ?? false,
    runs: wholeNumber('runs', values.runs, DEFAULT_RUNS, 1, MAX_RUNS),
    sections: sectionsOf(values.only),
    sftpMb: wholeNumber('sftp-mb', values['sftp-mb'], DEFAULT_SFTP_MB, 1, MAX_SFTP_MB),
    wanMb: wholeNumber('wan-mb', values['wan-mb'], DEFAULT_WAN_MB, 1, MAX_SFTP_MB),
    pgpMb: wholeNumber('pgp-mb', values['pgp-mb'], DEFAULT_PGP_MB, 1, MAX_SFTP_MB),
    clients: wholeNumber('clients', values.clients, DEFAULT_CLIENTS, 1, MAX_CLIENTS),
    workerCounts: workerCountsOf(values.workers),
  };
}
