import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { migrationSource } from './migrations/index.js';

// Keep numeric and timestamp columns as PostgreSQL prints them; the code converts where it
// needs to, and bigint counts must not lose precision.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));
pg.types.setTypeParser(pg.types.builtins.DATE, (value: string) => value);

const POOL_MAX_CONNECTIONS = 10;

export function createKnex(url: string): Knex {
  return knexFactory({
    client: 'pg',
    connection: url,
    pool: { min: 0, max: POOL_MAX_CONNECTIONS },
    migrations: { migrationSource, tableName: 'knex_migrations' },
  });
}

/** Applies every pending migration; returns the names applied. */
export async function migrateLatest(knex: Knex): Promise<string[]> {
  const [, applied] = (await knex.migrate.latest()) as [number, string[]];
  return applied;
}
