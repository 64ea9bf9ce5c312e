/**
 * A drill's own Temporal dev server, persisting to a SQLite file in the drill's folder, that can
 * be SIGKILLed and started again on the same file and port.
 */
import { existsSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { Client, Connection } from '@temporalio/client';
import { freePort } from '../src/devstack/ports.js';
import { killQuietly } from '../src/devstack/processes.js';
import { startTemporalDevServer, type TemporalDevServer } from '../src/devstack/temporal-dev-server.js';
import { findOwnChild } from './processes.js';
import { waitUntil } from '../test/support/wait.js';

const KILL_TIMEOUT_MS = 10_000;

export interface DrillTemporal {
  readonly address: string;
  readonly port: number;
  /** The drill's own client (starting workflows, fetching histories); reconnects after a restart. */
  readonly client: Client;
  /** SIGKILL to the dev server; resolves once it is gone. Returns its pid. */
  kill(): Promise<number>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startDrillTemporal(dbFile: string, logFile: string): Promise<DrillTemporal> {
  const port = await freePort();
  const onLog = (line: string) => void appendFile(logFile, `${line}\n`).catch(() => undefined);
  const start = () => startTemporalDevServer({ port, uiPort: null, dbFile, onLog });
  let server: TemporalDevServer = await start();
  const connection = await Connection.connect({ address: server.address, connectTimeout: '5 seconds' });
  const client = new Client({ connection, namespace: 'default' });
  return {
    address: server.address,
    port,
    client,
    async kill() {
      // The dev server API hides its child process; it is the child of this process that uses this drill's database file.
      const pid = findOwnChild(['--db-filename', dbFile]);
      if (pid === null) throw new Error(`no Temporal dev server child process uses ${dbFile}`);
      killQuietly(pid, 'SIGKILL');
      await waitUntil(() => !existsSync(`/proc/${pid}`), { timeoutMs: KILL_TIMEOUT_MS, intervalMs: 5, what: 'the Temporal dev server to die' });
      return pid;
    },
    async restart() {
      server = await start();
    },
    async stop() {
      await connection.close().catch(() => undefined);
      await server.stop();
    },
  };
}
