import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { migrationSource } from './migrations/index.js';

// bigint (INT8) columns are row counts, byte sizes and ids, far below 2^53, so they are read as
// numbers; dates stay the `YYYY-MM-DD` text PostgreSQL prints (a local date has no time zone to
// convert it with); timestamps are Dates, the driver's default.
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
