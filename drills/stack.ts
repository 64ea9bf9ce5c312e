/**
 * Everything one drill runs against, fresh and its own: a temporary folder, an embedded
 * PostgreSQL, a Temporal dev server, OpenSSH's sshd behind a TCP proxy, one client with a
 * day of data, worker processes and CLI commands, and the poller on the client's folder.
 * `close()` ends every process it started, whatever happened.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { seedEvents } from '../src/db/seed.js';
import { startSftpServer, type SftpServer } from '../src/devstack/sftp-server.js';
import { DEFAULT_FILE_NAME_TEMPLATE, reportFileName } from '../src/domain/file-name.js';
import { previousPeriod } from '../src/domain/periods.js';
import type { Period } from '../src/domain/types.js';
import { createLogger } from '../src/observability/logger.js';
import { deliveryFor } from '../test/support/delivery.js';
import { startTcpProxy, type TcpProxy } from '../test/support/tcp-proxy.js';
import { ChildSet, type DrillChild } from './children.js';
import { FolderPoller } from './poller.js';
import { startDrillPostgres, type DrillPostgres } from './postgres.js';
import { startDrillTemporal, type DrillTemporal } from './temporal.js';
import { waitUntil } from '../test/support/wait.js';

export const CLIENT_ID = 'drill';
const CLIENT_FOLDER = 'inbound';
/** The environment variable the client's delivery names for its password. */
export const PASSWORD_VARIABLE = 'TWOWAY_SECRET_DRILL_SFTP_PASSWORD';
const WORKER_START_TIMEOUT_MS = 60_000;

/** Short policy values, so that host loss and retries take seconds (a worker's environment). */
export const DRILL_POLICY_ENV: Readonly<Record<string, string>> = {
  TWOWAY_HEARTBEAT_TIMEOUT: '5s',
  TWOWAY_HOST_TIMEOUT: '5s',
  TWOWAY_RETRY_INITIAL_INTERVAL: '500ms',
  TWOWAY_RETRY_MAX_INTERVAL: '2s',
  TWOWAY_DELIVERY_DEADLINE: '3m',
  TWOWAY_BUILD_TIMEOUT: '2m',
  TWOWAY_BUILD_DEADLINE: '4m',
  TWOWAY_SFTP_CONNECT_TIMEOUT: '5s',
  TWOWAY_SFTP_OPERATION_TIMEOUT: '10s',
  TWOWAY_MAX_HOSTS: '5',
};

export interface StackOptions {
  /** Report events in the client's day; the file has about 240 bytes per event. */
  readonly events: number;
  /** Upload speed through the proxy, each way; null: unthrottled. */
  readonly bytesPerSecond?: number | null;
  readonly checksumFile?: boolean;
  /** Workers reach Temporal through a proxy of their own (`temporalProxy`), so a drill can cut them off it. */
  readonly temporalProxy?: boolean;
}

/** The variables a child gets from this process: enough to run, nothing that configures the project. */
function baseEnv(): NodeJS.ProcessEnv {
  const keep = ['PATH', 'HOME', 'LANG', 'TZ', 'NODE_OPTIONS', 'TEMPORAL_CLI_PATH'];
  return Object.fromEntries(keep.filter((name) => process.env[name] !== undefined).map((name) => [name, process.env[name]]));
}

export class DrillStack {
  readonly children: ChildSet;
  readonly workers: DrillChild[] = [];
  readonly poller: FolderPoller;
  readonly period: Period;
  /** Final name of revision 1 of the period's file. */
  readonly fileName: string;
  private workerCount = 0;
  private cliCount = 0;

  private constructor(
    readonly dir: string,
    readonly postgres: DrillPostgres,
    readonly temporal: DrillTemporal,
    readonly sftp: SftpServer,
    readonly proxy: TcpProxy,
    /** Between the workers and Temporal, when the drill asked for it. */
    readonly temporalProxy: TcpProxy | null,
    /** The client's folder on the local disk. */
    readonly folder: string,
    readonly checksumFile: boolean,
  ) {
    this.children = new ChildSet(join(dir, 'logs'));
    this.poller = new FolderPoller(folder);
    this.period = previousPeriod('daily', Date.now(), 'UTC');
    this.fileName = reportFileName(DEFAULT_FILE_NAME_TEMPLATE, { clientId: CLIENT_ID, frequency: 'daily', period: this.period });
  }

  static async start(options: StackOptions): Promise<DrillStack> {
    const dir = await mkdtemp(join(tmpdir(), 'twoway-drill-'));
    await mkdir(join(dir, 'logs'));
    const started: { postgres?: DrillPostgres; temporal?: DrillTemporal; sftp?: SftpServer; proxy?: TcpProxy; temporalProxy?: TcpProxy } = {};
    try {
      started.postgres = await startDrillPostgres(join(dir, 'postgres'), join(dir, 'logs', 'postgres.log'));
      started.temporal = await startDrillTemporal(join(dir, 'temporal.sqlite'), join(dir, 'logs', 'temporal.log'));
      const sshdLog = createLogger({ level: 'debug', name: 'sshd', destination: pino.destination({ dest: join(dir, 'logs', 'sshd.log'), sync: false }) });
      started.sftp = await startSftpServer({ baseDir: join(dir, 'sftp'), logger: sshdLog });
      started.proxy = await startTcpProxy({ targetPort: started.sftp.port, bytesPerSecond: options.bytesPerSecond ?? null });
      if (options.temporalProxy) started.temporalProxy = await startTcpProxy({ targetPort: started.temporal.port });
      const checksumFile = options.checksumFile ?? true;
      // The worker reaches sshd through the proxy; the host key pin stays sshd's.
      const delivery = await deliveryFor(started.sftp, CLIENT_FOLDER, { port: started.proxy.port, password: { env: PASSWORD_VARIABLE }, checksumFile });
      const stack = new DrillStack(
        dir,
        started.postgres,
        started.temporal,
        started.sftp,
        started.proxy,
        started.temporalProxy ?? null,
        join(started.sftp.rootDir, CLIENT_FOLDER),
        checksumFile,
      );
      await stack.seed(delivery, options.events);
      stack.poller.start();
      return stack;
    } catch (error) {
      await started.proxy?.close().catch(() => undefined);
      await started.temporalProxy?.close().catch(() => undefined);
      await started.sftp?.dispose().catch(() => undefined);
      await started.temporal?.stop().catch(() => undefined);
      await started.postgres?.stop().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  private async seed(delivery: Record<string, unknown>, events: number): Promise<void> {
    const knex = this.postgres.knex;
    await knex('clients').insert({
      id: CLIENT_ID,
      name: 'Drill Client',
      environment: 'production',
      timezone: 'UTC',
      frequency: 'daily',
      enabled: true,
      after_hours: null,
      delivery: JSON.stringify(delivery),
      file_name_template: null,
    });
    await seedEvents(knex, { clientIds: [CLIENT_ID], from: this.period.startInstant, to: this.period.endInstant, count: events, customersPerClient: 500 });
    await knex.raw('VACUUM ANALYZE twoway_events');
  }

  /** The environment of this drill's CLI commands and workers. */
  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
      ...baseEnv(),
      DATABASE_URL: this.postgres.url,
      TEMPORAL_ADDRESS: this.temporal.address,
      TEMPORAL_NAMESPACE: 'default',
      TWOWAY_DATA_DIR: join(this.dir, 'data'),
      TWOWAY_METRICS_ADDRESS: 'off',
      ...extra,
    };
  }

  /** The secret values that must appear in no log, output or history. */
  get secrets(): string[] {
    return [this.sftp.password];
  }

  /** Starts a worker process and waits until it says it has started. */
  async startWorker(extraEnv: Record<string, string> = {}): Promise<DrillChild> {
    this.workerCount += 1;
    const name = `worker-${this.workerCount}`;
    const worker = this.children.start(
      name,
      ['worker'],
      this.env({
        ...DRILL_POLICY_ENV,
        LOG_LEVEL: 'debug',
        TWOWAY_WORK_DIR: join(this.dir, 'work', name),
        [PASSWORD_VARIABLE]: this.sftp.password,
        ...(this.temporalProxy ? { TEMPORAL_ADDRESS: `127.0.0.1:${this.temporalProxy.port}` } : {}),
        ...extraEnv,
      }),
    );
    this.workers.push(worker);
    await waitUntil(
      () => {
        if (!worker.running) throw new Error(`${name} exited during start-up: ${worker.output().slice(-2000)}`);
        return worker.output().includes('"msg":"worker started"');
      },
      { timeoutMs: WORKER_START_TIMEOUT_MS, intervalMs: 100, what: `${name} to start` },
    );
    return worker;
  }

  /** Starts a CLI command (`run`, `backfill`, `render`, …) without waiting for it. */
  cli(args: readonly string[]): DrillChild {
    this.cliCount += 1;
    return this.children.start(`cli-${this.cliCount}-${args[0] ?? 'none'}`, args, this.env({ LOG_LEVEL: 'info' }));
  }

  /** `run --client drill --period <the period>` (with `--force` when asked), started now. */
  run(options: { readonly force?: boolean } = {}): DrillChild {
    return this.cli(['run', '--client', CLIENT_ID, '--period', this.period.start, ...(options.force ? ['--force'] : [])]);
  }

  /** One more report event inside the period, so a file built from now on has different bytes. */
  async insertEvent(): Promise<void> {
    await this.postgres.knex('twoway_events').insert({
      client_id: CLIENT_ID,
      event_name: 'twoway_webhook.customer_message_sent',
      event_time: new Date(this.period.startInstant + 60_000),
      ccid: 'cc-1',
      conversation_id: 'drill-extra-event',
      sender_type: 'customer',
    });
  }

  async close(options: { readonly keepDir?: boolean } = {}): Promise<void> {
    const steps: Array<() => Promise<unknown>> = [
      () => this.poller.stop(),
      () => this.children.stopAll(),
      () => this.proxy.close(),
      async () => this.temporalProxy?.close(),
      () => this.sftp.stop(),
      () => this.temporal.stop(),
      () => this.postgres.stop(),
    ];
    for (const step of steps) await step().catch(() => undefined);
    // The sshd user and its files go in any case; logs stay when asked (a failed drill).
    await this.sftp.dispose().catch(() => undefined);
    if (!options.keepDir) await rm(this.dir, { recursive: true, force: true });
    else for (const bulky of ['postgres', 'work', 'data', 'render']) await rm(join(this.dir, bulky), { recursive: true, force: true });
  }
}
