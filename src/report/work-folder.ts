/**
 * The work folder, where workers write built files before delivering them. It holds personal
 * data (agent e-mails, customer names), so it is private to the worker's user (0700, files
 * 0600), each process writes in a folder of its own, and what no running attempt can own is
 * swept: the folders of ended processes at once, anything else once older than the build and
 * delivery deadlines together (domain/leftovers.ts says why both are safe).
 */
import { chmod, lstat, mkdir, readdir, rm, rmdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { hasEnded, parseWorkerFolderName, workerFolderName, type WorkerProcess } from '../domain/leftovers.js';
import type { Logger } from '../observability/logger.js';

/** Folders of the work folder: the worker's user only. */
export const WORK_FOLDER_MODE = 0o700;
/** Built files and every temporary file next to them: the worker's user only. */
export const WORK_FILE_MODE = 0o600;

/**
 * Creates the work folder and this process's folder in it, both 0700; an existing work folder
 * is narrowed to 0700 (an older version created it with the default mode). Returns the
 * process's folder.
 */
export async function createWorkerFolder(workDir: string, worker: WorkerProcess, logger: Logger): Promise<string> {
  await mkdir(workDir, { recursive: true, mode: WORK_FOLDER_MODE });
  try {
    await chmod(workDir, WORK_FOLDER_MODE);
  } catch (error) {
    logger.warn({ workDir, err: error }, 'cannot make the work folder private (0700); each worker folder in it still is');
  }
  const own = join(workDir, workerFolderName(worker));
  await mkdir(own, { mode: WORK_FOLDER_MODE });
  return own;
}

/** Whether a process on this host is running (a process of another user counts). */
export function isProcessRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface WorkFolderSweep {
  readonly workDir: string;
  /** This process: its own folder is kept (its old files are not). */
  readonly self: WorkerProcess;
  /** Age after which a file no ended process owned is removed anyway (workFileMaxAgeMs). */
  readonly maxAgeMs: number;
  readonly now: () => number;
  readonly isRunning?: (pid: number) => boolean;
  readonly logger: Logger;
}

/** What a sweep removed, as paths inside the work folder. */
export interface SweepResult {
  readonly folders: string[];
  readonly files: string[];
}

function isGone(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTEMPTY';
}

/**
 * Removes from the work folder what no running attempt can own: the folder of every ended
 * worker process on this host, and any other file (a `.part` of a build, a gzip `.tmp`, a
 * built CSV, files of older versions' layout) not written for `maxAgeMs`, with the folders
 * this leaves empty that are as old. What it cannot remove is logged and left.
 */
export async function sweepWorkFolder(options: WorkFolderSweep): Promise<SweepResult> {
  const { workDir, self, logger } = options;
  const isRunning = options.isRunning ?? isProcessRunning;
  const cutoff = options.now() - options.maxAgeMs;
  const removed: SweepResult = { folders: [], files: [] };
  const own = workerFolderName(self);
  const remove = async (path: string, how: () => Promise<void>): Promise<boolean> => {
    try {
      await how();
      return true;
    } catch (error) {
      if (!isGone(error)) logger.warn({ path, err: error }, 'cannot remove a leftover in the work folder');
      return false;
    }
  };
  // Symbolic links are removed as links, never followed.
  const sweepOld = async (path: string, mayRemoveFolder: boolean): Promise<void> => {
    const stats = await lstat(path).catch(() => null);
    if (!stats) return;
    if (!stats.isDirectory()) {
      if (stats.mtimeMs < cutoff && (await remove(path, () => rm(path, { force: true })))) removed.files.push(relative(workDir, path));
      return;
    }
    for (const name of await readdir(path).catch(() => [])) await sweepOld(join(path, name), true);
    // Its time is from before the sweep: a folder something was written to lately stays.
    if (mayRemoveFolder && stats.mtimeMs < cutoff) await remove(path, () => rmdir(path));
  };

  for (const name of await readdir(workDir).catch(() => [])) {
    const owner = parseWorkerFolderName(name);
    if (owner && name !== own && hasEnded(owner, self, isRunning)) {
      const path = join(workDir, name);
      if (await remove(path, () => rm(path, { recursive: true, force: true }))) removed.folders.push(name);
    } else {
      await sweepOld(join(workDir, name), name !== own);
    }
  }
  if (removed.folders.length > 0 || removed.files.length > 0) {
    logger.info({ workDir, endedWorkers: removed.folders, oldFiles: removed.files }, 'removed files in the work folder that no running attempt can own');
  }
  return removed;
}
