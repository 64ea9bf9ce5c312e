import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../src/db/embedded.js';
import { createKnex, migrateLatest } from '../../src/db/knex.js';
import { freePort } from '../../src/devstack/ports.js';

export interface TestDatabase {
  readonly url: string;
  readonly knex: Knex;
  drop(): Promise<void>;
}

let ownServer: Promise<{ adminUrl: string; stop(): Promise<void> }> | undefined;

/**
 * The server tests create their databases on: the one `scripts/run-tests.mjs` started
 * (TWOWAY_TEST_ADMIN_URL), the one DATABASE_URL points at, or else an embedded server of
 * this test process's own.
 */
async function adminUrl(): Promise<string> {
  const given = process.env.TWOWAY_TEST_ADMIN_URL ?? process.env.DATABASE_URL;
  if (given) return given;
  ownServer ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'twoway-test-pg-'));
    // The server does not hold the process: when the file's tests are done, it exits and the server stops with it.
    return startEmbeddedPostgres({ dataDir: dir, port: await freePort(), holdsProcess: false });
  })();
  return (await ownServer).adminUrl;
}

/** A fresh, migrated database of its own for one test file; `drop()` removes it. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const admin = await adminUrl();
  const name = `twoway_test_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  client.on('error', () => undefined);
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  const knex = createKnex(url.toString());
  await migrateLatest(knex);
  return {
    url: url.toString(),
    knex,
    drop: async () => {
      await knex.destroy();
      const dropper = new pg.Client({ connectionString: admin });
      dropper.on('error', () => undefined);
      await dropper.connect();
      await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await dropper.end();
    },
  };
}
