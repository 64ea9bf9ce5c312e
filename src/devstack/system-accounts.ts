/** System users for the SFTP harness: created with a password and a home, deleted with their processes. */
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../observability/logger.js';
import { killAndWait, killQuietly, processesOfUser, runCommand } from './processes.js';

const NOLOGIN_SHELL = existsSync('/usr/sbin/nologin') ? '/usr/sbin/nologin' : '/bin/false';
// useradd/userdel take a lock on /etc/passwd; parallel harnesses may meet it held.
const ACCOUNT_LOCK_ATTEMPTS = 20;
const ACCOUNT_LOCK_RETRY_MS = 100;
/** How long a deleted user's killed processes get to leave the process table. */
const PROCESS_EXIT_GRACE_MS = 3_000;

export interface SystemUser {
  readonly username: string;
  readonly password: string;
  /** The user's home; created when missing. */
  readonly homeDir: string;
  /** The home may hold files of earlier users, which are handed to this one. */
  readonly homeKept: boolean;
}

/** The numeric user and group ids of an account, or null when it does not exist. */
function accountIds(username: string): { uid: number; gid: number } | null {
  const uid = runCommand('id', ['-u', username]);
  const gid = runCommand('id', ['-g', username]);
  return uid.status === 0 && gid.status === 0 ? { uid: Number(uid.stdout), gid: Number(gid.stdout) } : null;
}

/** Runs an account command, retrying while another process holds the password-file lock. */
async function runAccountCommand(command: string, args: readonly string[], input?: string): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    const result = runCommand(command, args, input);
    if (result.status === 0) return;
    const locked = /lock|try again/i.test(result.stderr);
    if (!locked || attempt >= ACCOUNT_LOCK_ATTEMPTS) {
      throw new Error(`${command} ${args.join(' ')} exited with status ${result.status}: ${result.stderr}`);
    }
    await sleep(ACCOUNT_LOCK_RETRY_MS * attempt);
  }
}

/** A user's processes must get through every parent folder of its home. */
export async function openParentsToOthers(dir: string): Promise<void> {
  for (let current = dirname(dir); ; current = dirname(current)) {
    const mode = (await stat(current)).mode;
    if ((mode & 0o001) === 0) await chmod(current, (mode & 0o7777) | 0o001);
    if (dirname(current) === current) return;
  }
}

/** Creates a user that can log in with its password only (no shell), owning its home; as root. */
export async function createSystemUser({ username, password, homeDir, homeKept }: SystemUser): Promise<void> {
  await runAccountCommand('useradd', ['--no-create-home', '--home-dir', homeDir, '--shell', NOLOGIN_SHELL, '--user-group', username]);
  try {
    await runAccountCommand('chpasswd', [], `${username}:${password}\n`);
    await mkdir(homeDir, { recursive: true, mode: 0o755 });
    const ids = accountIds(username);
    if (!ids) throw new Error(`useradd created no account ${username}`);
    if (homeKept) {
      await openParentsToOthers(homeDir);
      const owned = runCommand('chown', ['-R', `${ids.uid}:${ids.gid}`, homeDir]);
      if (owned.status !== 0) throw new Error(`chown -R ${username} ${homeDir} failed: ${owned.stderr}`);
    } else {
      await chown(homeDir, ids.uid, ids.gid);
    }
  } catch (error) {
    await runAccountCommand('userdel', [username]).catch(() => undefined);
    throw error;
  }
}

/**
 * Deletes a user; a failure is logged, not thrown. Its processes are killed first: sessions can
 * outlive a stop that raced with a login, and userdel refuses a user with processes.
 */
export async function deleteSystemUser(username: string, logger: Logger): Promise<void> {
  const ids = accountIds(username);
  if (ids) await killAndWait(processesOfUser(ids.uid), PROCESS_EXIT_GRACE_MS);
  await runAccountCommand('userdel', [username]).catch((error: unknown) => {
    logger.warn({ err: error, user: username }, 'could not delete the SFTP test user');
  });
}

/** deleteSystemUser, synchronously and without waiting: the last resort when the process exits. */
export function deleteSystemUserNow(username: string): void {
  const ids = accountIds(username);
  if (ids) for (const pid of processesOfUser(ids.uid)) killQuietly(pid, 'SIGKILL');
  runCommand('userdel', [username]);
}
