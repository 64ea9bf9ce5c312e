/**
 * A drill's own embedded PostgreSQL, in the drill's temporary folder on a free port, that can be
 * killed like a crashed host (SIGKILL to the postmaster and every backend) and started again on
 * the same data folder and port.
 */
import { existsSync, readFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/db/embedded.js';
import { createKnex, migrateLatest } from '../src/db/knex.js';
import { freePort } from '../src/devstack/ports.js';
import { killQuietly } from '../src/devstack/processes.js';
import { childrenOf, isAlive } from './processes.js';
import { waitUntil } from '../test/support/wait.js';

const KILL_TIMEOUT_MS = 10_000;

export interface DrillPostgres {
  readonly url: string;
  readonly port: number;
  /** The drill's own connection pool (seeding, checks); a new one after a restart. */
  readonly knex: Knex;
  /** SIGKILL to every backend and the postmaster; resolves once all are gone. Returns the pids killed. */
  kill(): Promise<number[]>;
  /** Starts the server again on the same data folder and port (crash recovery runs). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function postmasterPid(clusterDir: string): number | null {
  try {
    const pid = Number(readFileSync(join(clusterDir, 'postmaster.pid'), 'utf8').split('\n', 1)[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

export async function startDrillPostgres(dataDir: string, logFile: string): Promise<DrillPostgres> {
  const port = await freePort();
  const onLog = (line: string) => void appendFile(logFile, `${line}\n`).catch(() => undefined);
  const clusterDir = join(dataDir, 'cluster');
  let server: EmbeddedPostgres = await startEmbeddedPostgres({ dataDir, port, onLog });
  let knex = createKnex(server.url);
  await migrateLatest(knex);
  // After a crash the postmaster would restart itself and fork new processes; killed now, those
  // would be orphans that this machine's init never reaps. Off, it exits once its children are gone.
  await knex.raw('ALTER SYSTEM SET restart_after_crash = off');
  await knex.raw('SELECT pg_reload_conf()');

  return {
    url: server.url,
    port,
    get knex() {
      return knex;
    },
    async kill() {
      // The drill's own pool is not under test: closed first, so only the worker meets the crash.
      await knex.destroy().catch(() => undefined);
      const postmaster = postmasterPid(clusterDir);
      if (postmaster === null || !isAlive(postmaster)) throw new Error(`PostgreSQL in ${clusterDir} is not running`);
      const pids: number[] = [];
      // Children first, each reaped by the postmaster before it goes, so none is left a zombie.
      await waitUntil(
        () => {
          const children = childrenOf(postmaster);
          for (const pid of children) {
            if (!pids.includes(pid)) pids.push(pid);
            killQuietly(pid, 'SIGKILL');
          }
          return children.length === 0 && pids.every((pid) => !existsSync(`/proc/${pid}`));
        },
        { timeoutMs: KILL_TIMEOUT_MS, intervalMs: 5, what: 'the PostgreSQL backends to die' },
      );
      killQuietly(postmaster, 'SIGKILL');
      pids.push(postmaster);
      await waitUntil(() => !existsSync(`/proc/${postmaster}`), { timeoutMs: KILL_TIMEOUT_MS, intervalMs: 5, what: 'the postmaster to die' });
      return pids;
    },
    async restart() {
      server = await startEmbeddedPostgres({ dataDir, port, onLog });
      knex = createKnex(server.url);
    },
    async stop() {
      await knex.destroy().catch(() => undefined);
      // A killed server's stale postmaster.pid names a dead process: stop() then only forgets it.
      await server.stop();
    },
  };
}
