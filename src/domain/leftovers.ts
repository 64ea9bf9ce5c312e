/**
 * When a file a run leaves behind may be removed (README: "What is stored where and for how
 * long"): this host's work folder and the client's remote folder. Pure rules; the sweeps that
 * apply them are report/work-folder.ts and delivery/remote-folder.ts.
 */
import type { RunPolicy } from './types.js';

/** A worker process: its host, its pid, and a random token that tells two lives of one pid apart. */
export interface WorkerProcess {
  readonly hostname: string;
  readonly pid: number;
  readonly token: string;
}

/**
 * Each worker process builds in a folder of its own, `worker+<hostname>+<pid>+<token>` inside
 * the work folder: a file there is used by that process only (build and delivery of a file stay
 * on one host), so once the process has ended everything in it is garbage. "+" is in no client
 * id and no hostname, so these folders are told apart from the per-client folders that older
 * versions wrote at the top of the work folder.
 */
const WORKER_FOLDER = /^worker\+([^+/]+)\+(\d+)\+([0-9a-f]+)$/;

export function workerFolderName(worker: WorkerProcess): string {
  return `worker+${worker.hostname}+${worker.pid}+${worker.token}`;
}

export function parseWorkerFolderName(name: string): WorkerProcess | null {
  const match = WORKER_FOLDER.exec(name);
  if (!match) return null;
  const [, hostname, pid, token] = match as unknown as [string, string, string, string];
  return { hostname, pid: Number(pid), token };
}

/**
 * Whether the process that owns a worker folder has certainly ended. Only a process on this host
 * can be looked up (by its pid); a folder with this process's own pid and another token is from
 * an earlier life of it (a container restarted keeps its hostname and its pid 1). Hostname and
 * pid identify a process within one host only: containers sharing a work volume need distinct
 * hostnames (Docker's default). A folder of another host is left to the age rule.
 */
export function hasEnded(owner: WorkerProcess, self: WorkerProcess, isRunning: (pid: number) => boolean): boolean {
  if (owner.hostname !== self.hostname) return false;
  if (owner.pid === self.pid) return owner.token !== self.token;
  return !isRunning(owner.pid);
}

/**
 * Age (since last written) after which no attempt can still use a file in a work folder, whoever
 * wrote it: a build writes its file until it ends, within the build deadline, and the delivery
 * that reads it ends within the delivery deadline of being scheduled. Workers of one deployment
 * share these settings.
 */
export function workFileMaxAgeMs(policy: Pick<RunPolicy, 'buildDeadlineMs' | 'deliveryDeadlineMs'>): number {
  return policy.buildDeadlineMs + policy.deliveryDeadlineMs;
}

/** The SFTP server's clock, which dates remote files, may differ from ours by this much. */
export const REMOTE_CLOCK_MARGIN_MS = 60 * 60 * 1000;

/**
 * Age (since last written, by the server's clock) after which no delivery attempt can still own
 * a temporary upload: every attempt of a delivery ends within the delivery deadline.
 */
export function remoteTemporaryMaxAgeMs(policy: Pick<RunPolicy, 'deliveryDeadlineMs'>): number {
  return policy.deliveryDeadlineMs + REMOTE_CLOCK_MARGIN_MS;
}

export interface RemoteTemporary {
  /** Its full path on the server. */
  readonly path: string;
  /** Whether it is an upload of one of the period's names, whose lock the sweeping attempt holds. */
  readonly ofThisPeriod: boolean;
  readonly modifiedMs: number;
}

/**
 * Whether an attempt that holds a period's lock may remove a temporary upload of ours from the
 * client's folder. A temporary file the ledger records (a revision still `publishing`) is the
 * evidence the next attempt reconciles with, so it stays. Any other one of this period's names
 * belongs to no attempt (one attempt per period at a time). One of another period (its lock is
 * not held, its attempt may be uploading right now) only once no attempt can still be running.
 */
export function isRemovableTemporary(
  temporary: RemoteTemporary,
  context: { readonly recorded: ReadonlySet<string>; readonly nowMs: number; readonly maxAgeMs: number },
): boolean {
  if (context.recorded.has(temporary.path)) return false;
  return temporary.ofThisPeriod || context.nowMs - temporary.modifiedMs > context.maxAgeMs;
}
