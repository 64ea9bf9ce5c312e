import type { Knex } from 'knex';
import { dataDir } from '../config/paths.js';
import { WHOLE_NUMBER_SETTINGS, parseWholeNumber } from '../config/env.js';
import { startEmbeddedPostgres } from './embedded.js';
import { createKnex } from './knex.js';

export interface Database {
  readonly knex: Knex;
  readonly url: string;
  /** True when this process runs the embedded server (and stops it on close). */
  readonly embedded: boolean;
  close(): Promise<void>;
}

/**
 * `DATABASE_URL` when set; otherwise the project's embedded PostgreSQL in `.data/postgres`,
 * reused when already running (the demo, a worker) and else started for this process.
 */
export async function openDatabase(env: NodeJS.ProcessEnv = process.env, onLog?: (line: string) => void): Promise<Database> {
  const configured = env.DATABASE_URL?.trim();
  if (configured) {
    const knex = createKnex(configured);
    return { knex, url: configured, embedded: false, close: () => knex.destroy() };
  }
  const port = parseWholeNumber(env, WHOLE_NUMBER_SETTINGS.embeddedPgPort);
  const server = await startEmbeddedPostgres({ dataDir: `${dataDir(env)}/postgres`, port, ...(onLog ? { onLog } : {}) });
  const knex = createKnex(server.url);
  return {
    knex,
    url: server.url,
    embedded: server.startedHere,
    close: async () => {
      await knex.destroy();
      await server.stop();
    },
  };
}
