/**
 * Configuration from environment variables, parsed once and checked: a bad value stops the
 * process with a message naming the variable, the value and what is allowed. Secrets (API
 * keys, TLS keys) are read here but never printed.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join, posix } from 'node:path';
import type { Frequency, RunPolicy } from '../domain/types.js';
import { DEFAULT_DUE_TIMES, DUE_ALLOWED, formatDueTime, parseDueTime, type DueTime } from '../domain/deadlines.js';
import type { LocalTimeOfDay } from '../domain/schedule-plan.js';
import { TwowayError, describeValue } from '../domain/errors.js';
import { isPlainAbsolutePath, type SecretRules } from '../domain/secret-references.js';
import { MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE, MS_PER_SECOND } from '../domain/time-zone.js';
import { dataDir } from './paths.js';

export class InvalidEnvironmentError extends TwowayError {
  constructor(
    readonly variable: string,
    given: string,
    allowed: string,
  ) {
    super(`${variable} is ${given}; allowed: ${allowed}`);
  }
}

export const DEFAULT_TEMPORAL_ADDRESS = 'localhost:7233';
export const DEFAULT_TEMPORAL_NAMESPACE = 'default';
const DEFAULT_METRICS_ADDRESS = '0.0.0.0:9464';
const DEFAULT_SCHEDULE_TIME = '03:00';
export const DEFAULT_UI_ADDRESS = '127.0.0.1:8080';
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
const DEFAULT_LOG_LEVEL: LogLevel = 'info';
/** Client rows may name environment variables with this prefix only (SPEC §6's `ACME_SFTP_PASSWORD` becomes `TWOWAY_SECRET_ACME_SFTP_PASSWORD`). */
export const DEFAULT_SECRET_ENV_PREFIX = 'TWOWAY_SECRET_';
/** A folder of client secrets only: fixed and absolute, so `clients set` on any host checks what every worker checks. */
export const DEFAULT_SECRETS_DIR = '/run/secrets/twoway';
/** Letters, digits and `_`, ending in `_`, so that a prefix is a whole word of the name. */
const SECRET_ENV_PREFIX_PATTERN = /^[A-Za-z][A-Za-z0-9_]*_$/;
/** Settings whose value is a file the worker reads: never a client's secret either. */
const FILE_SETTINGS = ['TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY', 'TEMPORAL_TLS_CA'] as const;

const MS_PER_UNIT: Readonly<Record<string, number>> = { ms: 1, s: MS_PER_SECOND, m: MS_PER_MINUTE, h: MS_PER_HOUR, d: MS_PER_DAY };
const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const DURATION_EXAMPLES = 'such as 500ms, 30s, 15m, 6h or 2d';

/** A duration variable: its allowed range (zero or a near-zero value would switch a safeguard off or fail every run), default and meaning. */
interface DurationRange {
  readonly variable: string;
  readonly minMs: number;
  readonly maxMs: number;
  readonly defaultMs: number;
  readonly meaning: string;
}

/**
 * Every duration setting. Minimums are small enough for drills and demos that want failures in
 * seconds; maximums catch a unit typed wrong (`24d` for `24h`).
 */
export const DURATION_RANGES = {
  deliveryDeadline: {
    variable: 'TWOWAY_DELIVERY_DEADLINE',
    minMs: 5 * MS_PER_SECOND,
    maxMs: 30 * MS_PER_DAY,
    defaultMs: 24 * MS_PER_HOUR,
    meaning: 'how long delivery of one file keeps retrying',
  },
  retryInitialInterval: {
    variable: 'TWOWAY_RETRY_INITIAL_INTERVAL',
    minMs: 100,
    maxMs: MS_PER_HOUR,
    defaultMs: 30 * MS_PER_SECOND,
    meaning: 'first retry delay (doubles each time)',
  },
  retryMaxInterval: { variable: 'TWOWAY_RETRY_MAX_INTERVAL', minMs: 100, maxMs: MS_PER_DAY, defaultMs: 15 * MS_PER_MINUTE, meaning: 'longest retry delay' },
  buildTimeout: {
    variable: 'TWOWAY_BUILD_TIMEOUT',
    minMs: 5 * MS_PER_SECOND,
    maxMs: MS_PER_DAY,
    defaultMs: 2 * MS_PER_HOUR,
    meaning: 'longest a single file build may take',
  },
  buildDeadline: {
    variable: 'TWOWAY_BUILD_DEADLINE',
    minMs: 5 * MS_PER_SECOND,
    maxMs: 7 * MS_PER_DAY,
    defaultMs: 6 * MS_PER_HOUR,
    meaning: 'how long building one file keeps retrying (all attempts) before the run fails',
  },
  // Activities heartbeat at most once a second, so a shorter silence would count every busy host as lost.
  heartbeatTimeout: {
    variable: 'TWOWAY_HEARTBEAT_TIMEOUT',
    minMs: 2 * MS_PER_SECOND,
    maxMs: MS_PER_HOUR,
    defaultMs: 2 * MS_PER_MINUTE,
    meaning: 'silence after which a build or upload counts as stuck',
  },
  hostTimeout: {
    variable: 'TWOWAY_HOST_TIMEOUT',
    minMs: MS_PER_SECOND,
    maxMs: MS_PER_DAY,
    defaultMs: 5 * MS_PER_MINUTE,
    meaning: "wait for a file's host before rebuilding it on another",
  },
  sftpConnectTimeout: {
    variable: 'TWOWAY_SFTP_CONNECT_TIMEOUT',
    minMs: MS_PER_SECOND,
    maxMs: 10 * MS_PER_MINUTE,
    defaultMs: 20 * MS_PER_SECOND,
    meaning: 'TCP connect, handshake and login, each',
  },
  sftpOperationTimeout: {
    variable: 'TWOWAY_SFTP_OPERATION_TIMEOUT',
    minMs: MS_PER_SECOND,
    maxMs: MS_PER_HOUR,
    defaultMs: 60 * MS_PER_SECOND,
    meaning: 'every SFTP request and any stall of an upload',
  },
  // A pass must fit inside the interval (the schedule skips overlapping passes); over an hour, late and missing go unnoticed too long.
  watchInterval: {
    variable: 'TWOWAY_WATCH_INTERVAL',
    minMs: MS_PER_MINUTE,
    maxMs: MS_PER_HOUR,
    defaultMs: 5 * MS_PER_MINUTE,
    meaning: 'how often the watchdog schedule (created by `schedules sync`) judges every period and sends notifications',
  },
  // Late data is a matter of hours or days; more often than hourly would rebuild for nothing, less than weekly lets a client wait.
  driftInterval: {
    variable: 'TWOWAY_DRIFT_INTERVAL',
    minMs: MS_PER_HOUR,
    maxMs: 7 * MS_PER_DAY,
    defaultMs: MS_PER_DAY,
    meaning: "how often the drift check's schedule (created by `schedules sync`) looks for late data in delivered periods",
  },
} as const satisfies Record<string, DurationRange>;

/** A whole-number variable: its allowed range, default and meaning. */
interface WholeNumberSetting {
  readonly variable: string;
  readonly min: number;
  readonly max: number;
  readonly default: number;
  readonly meaning: string;
}

export const WHOLE_NUMBER_SETTINGS = {
  maxHosts: { variable: 'TWOWAY_MAX_HOSTS', min: 1, max: 100, default: 3, meaning: 'hosts one period run may try' },
  maxConcurrentFiles: {
    variable: 'TWOWAY_MAX_CONCURRENT_FILES',
    min: 1,
    max: 256,
    default: 4,
    meaning: 'builds and uploads of large files (8 MiB or more) at once per worker',
  },
  maxConcurrentSmallFiles: {
    variable: 'TWOWAY_MAX_CONCURRENT_SMALL_FILES',
    min: 1,
    max: 256,
    default: 16,
    meaning: 'builds and uploads of small files at once per worker, beside the large ones',
  },
  maxConcurrentWorkflowTasks: {
    variable: 'TWOWAY_MAX_CONCURRENT_WORKFLOW_TASKS',
    min: 2,
    max: 1000,
    default: 40,
    meaning: 'workflow tasks at once per worker',
  },
  // Not 5432: the project's embedded server keeps clear of a system PostgreSQL.
  embeddedPgPort: { variable: 'TWOWAY_EMBEDDED_PG_PORT', min: 1, max: 65_535, default: 54_329, meaning: 'port of the embedded PostgreSQL' },
} as const satisfies Record<string, WholeNumberSetting>;

/** Defaults of the run policy, from the settings above; every one can be set through the environment. */
export const DEFAULT_RUN_POLICY: RunPolicy = {
  deliveryDeadlineMs: DURATION_RANGES.deliveryDeadline.defaultMs,
  retryInitialIntervalMs: DURATION_RANGES.retryInitialInterval.defaultMs,
  retryMaxIntervalMs: DURATION_RANGES.retryMaxInterval.defaultMs,
  buildTimeoutMs: DURATION_RANGES.buildTimeout.defaultMs,
  buildDeadlineMs: DURATION_RANGES.buildDeadline.defaultMs,
  heartbeatTimeoutMs: DURATION_RANGES.heartbeatTimeout.defaultMs,
  hostScheduleToStartTimeoutMs: DURATION_RANGES.hostTimeout.defaultMs,
  maxHosts: WHOLE_NUMBER_SETTINGS.maxHosts.default,
};

/** The SFTP timeouts a delivery uses when its caller gives none. */
export const DEFAULT_SFTP_TIMEOUTS = {
  connectTimeoutMs: DURATION_RANGES.sftpConnectTimeout.defaultMs,
  operationTimeoutMs: DURATION_RANGES.sftpOperationTimeout.defaultMs,
} as const;

/** A row of the settings table for a duration setting: its default as people write it. */
function durationRow(range: DurationRange): SettingRow {
  return { name: range.variable, default: formatDuration(range.defaultMs), meaning: range.meaning };
}

function wholeNumberRow(setting: WholeNumberSetting): SettingRow {
  return { name: setting.variable, default: String(setting.default), meaning: setting.meaning };
}

export interface SettingRow {
  readonly name: string;
  /** The default as documented; typed settings generate it from the value their parser falls back to. */
  readonly default: string;
  readonly meaning: string;
}

/**
 * The settings table: every environment variable the project reads, with its default and
 * meaning. The parsers below read each variable with the default given here (durations and
 * whole numbers from their typed settings above), the README's configuration table and the
 * compose worker's environment are checked against it (test/integration/readme.test.ts,
 * docker-compose.test.ts), and nothing else reads the environment for settings.
 */
export const ENVIRONMENT_VARIABLES: readonly SettingRow[] = [
  { name: 'DATABASE_URL', default: 'embedded PostgreSQL in .data/postgres', meaning: 'PostgreSQL event store (source tables and ledger)' },
  { name: 'TEMPORAL_ADDRESS', default: DEFAULT_TEMPORAL_ADDRESS, meaning: 'Temporal frontend host:port' },
  { name: 'TEMPORAL_NAMESPACE', default: DEFAULT_TEMPORAL_NAMESPACE, meaning: 'Temporal namespace' },
  { name: 'TEMPORAL_API_KEY', default: 'none', meaning: 'API key for a hosted cluster (turns TLS on)' },
  { name: 'TEMPORAL_TLS', default: 'false', meaning: 'true: TLS with the system CAs' },
  { name: 'TEMPORAL_TLS_CERT', default: 'none', meaning: 'client certificate file for mTLS (with TEMPORAL_TLS_KEY)' },
  { name: 'TEMPORAL_TLS_KEY', default: 'none', meaning: 'client key file for mTLS' },
  { name: 'TEMPORAL_TLS_CA', default: 'system CAs', meaning: 'CA bundle file of the server' },
  { name: 'TWOWAY_WORK_DIR', default: '.data/work', meaning: 'where a worker writes files before delivering them' },
  {
    name: 'TWOWAY_SECRET_ENV_PREFIX',
    default: DEFAULT_SECRET_ENV_PREFIX,
    meaning: "the only environment variables a client's secret references may name (never the worker's own settings); ends in _, never empty",
  },
  {
    name: 'TWOWAY_SECRETS_DIR',
    default: DEFAULT_SECRETS_DIR,
    meaning: "the folder a client's secret files must lie inside (after symbolic links), each readable by its owner only (chmod 600)",
  },
  { name: 'TWOWAY_DATA_DIR', default: '.data', meaning: "embedded services' state (PostgreSQL, demo Temporal and sshd)" },
  wholeNumberRow(WHOLE_NUMBER_SETTINGS.embeddedPgPort),
  {
    name: 'TWOWAY_METRICS_ADDRESS',
    default: DEFAULT_METRICS_ADDRESS,
    meaning: "Prometheus endpoint of a worker (/metrics); off to disable; the demo's worker: 127.0.0.1:9464 if free, unless set",
  },
  { name: 'TWOWAY_DEMO_TEMPORAL_PORT', default: '7233 if free', meaning: "frontend port of the demo's Temporal dev server" },
  { name: 'TWOWAY_DEMO_UI_PORT', default: '8233 if free', meaning: "Web UI port of the demo's Temporal dev server" },
  durationRow(DURATION_RANGES.deliveryDeadline),
  durationRow(DURATION_RANGES.retryInitialInterval),
  durationRow(DURATION_RANGES.retryMaxInterval),
  durationRow(DURATION_RANGES.buildTimeout),
  durationRow(DURATION_RANGES.buildDeadline),
  durationRow(DURATION_RANGES.heartbeatTimeout),
  durationRow(DURATION_RANGES.hostTimeout),
  wholeNumberRow(WHOLE_NUMBER_SETTINGS.maxHosts),
  durationRow(DURATION_RANGES.sftpConnectTimeout),
  durationRow(DURATION_RANGES.sftpOperationTimeout),
  wholeNumberRow(WHOLE_NUMBER_SETTINGS.maxConcurrentFiles),
  wholeNumberRow(WHOLE_NUMBER_SETTINGS.maxConcurrentSmallFiles),
  wholeNumberRow(WHOLE_NUMBER_SETTINGS.maxConcurrentWorkflowTasks),
  { name: 'TWOWAY_SCHEDULE_TIME', default: DEFAULT_SCHEDULE_TIME, meaning: "local time (client's zone) at which schedules run" },
  {
    name: 'TWOWAY_DUE_DAILY',
    default: formatDueTime(DEFAULT_DUE_TIMES.daily),
    meaning: "when a daily file is due: local time on the N-th day after the period's end date (a client's `due` setting overrides it)",
  },
  {
    name: 'TWOWAY_DUE_WEEKLY',
    default: formatDueTime(DEFAULT_DUE_TIMES.weekly),
    meaning: 'when a weekly file is due (the end date is the Monday after the week)',
  },
  {
    name: 'TWOWAY_DUE_MONTHLY',
    default: formatDueTime(DEFAULT_DUE_TIMES.monthly),
    meaning: 'when a monthly file is due (the monthly schedule runs on the first Saturday, up to 7 days after the month)',
  },
  durationRow(DURATION_RANGES.watchInterval),
  durationRow(DURATION_RANGES.driftInterval),
  {
    name: 'TWOWAY_WEBHOOK_URL',
    default: 'off',
    meaning: 'where the watchdog POSTs period notifications (delivered, failed, late, missing, recovered, drifted, restated); off: none are sent',
  },
  {
    name: 'TWOWAY_WEBHOOK_SECRET',
    default: 'none',
    meaning: 'HMAC-SHA256 key (16 characters or more) of the Twoway-Signature header; required unless the format is slack',
  },
  { name: 'TWOWAY_WEBHOOK_FORMAT', default: 'json', meaning: 'json: the signed event; slack: a Slack-compatible { "text": … } body' },
  {
    name: 'TWOWAY_UI_ADDRESS',
    default: DEFAULT_UI_ADDRESS,
    meaning: "where `twoway-report ui` serves the status page; off loopback it requires TWOWAY_UI_TOKEN; the demo's page: 127.0.0.1:8080 if free, unless set",
  },
  {
    name: 'TWOWAY_UI_TOKEN',
    default: 'none',
    meaning:
      'token (16 characters or more) the status page requires on every request (`Authorization: Bearer` or `?token=` once); required when bound off loopback',
  },
  {
    name: 'TWOWAY_TEMPORAL_UI_URL',
    default: 'none',
    meaning: "the Temporal Web UI's address, for the status page's links to workflows (the demo sets its own)",
  },
  {
    name: 'TEMPORAL_CLI_PATH',
    default: 'temporal on PATH, else .tools/venv/bin/temporal',
    meaning: 'the Temporal CLI the demo, the tests and `twoway-report temporal` run',
  },
  {
    name: 'TEMPORAL_TEST_SERVER_PATH',
    default: '.tools/venv/bin/temporal-test-server',
    meaning: "Temporal's time-skipping test server, for the fast workflow tests",
  },
  { name: 'LOG_LEVEL', default: DEFAULT_LOG_LEVEL, meaning: LOG_LEVELS.join(', ') },
];

/** A duration as people write it: the largest unit that divides it evenly (`90s`, `2h`, `1500ms`). */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = MS_PER_UNIT[unit] ?? 1;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

function duration(env: NodeJS.ProcessEnv, range: DurationRange): number {
  const raw = env[range.variable]?.trim();
  if (!raw) return range.defaultMs;
  const match = DURATION_PATTERN.exec(raw);
  const ms = match?.[1] && match[2] ? Math.round(Number(match[1]) * (MS_PER_UNIT[match[2]] ?? 1)) : Number.NaN;
  if (!(ms >= range.minMs && ms <= range.maxMs)) {
    throw new InvalidEnvironmentError(
      range.variable,
      describeValue(raw),
      `a duration from ${formatDuration(range.minMs)} to ${formatDuration(range.maxMs)}, ${DURATION_EXAMPLES}`,
    );
  }
  return ms;
}

interface DurationSetting {
  readonly range: DurationRange;
  readonly ms: number;
}

/** Refuses a pair where one bound must exceed (or reach) another; the message names both variables and the values in force. */
function assertExceeds(env: NodeJS.ProcessEnv, longer: DurationSetting, shorter: DurationSetting, why: string, orEqual = false): void {
  if (longer.ms > shorter.ms || (orEqual && longer.ms === shorter.ms)) return;
  const given = env[longer.range.variable]?.trim();
  throw new InvalidEnvironmentError(
    longer.range.variable,
    given ? describeValue(given) : `${formatDuration(longer.ms)} (the default)`,
    `${orEqual ? 'at least' : 'longer than'} ${shorter.range.variable} (${formatDuration(shorter.ms)}), ${why}`,
  );
}

function wholeNumber(env: NodeJS.ProcessEnv, setting: Omit<WholeNumberSetting, 'default' | 'meaning'> & { readonly default: number | null }): number | null {
  const { variable, min, max } = setting;
  const raw = env[variable]?.trim();
  if (!raw) return setting.default;
  const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidEnvironmentError(variable, describeValue(raw), `a whole number from ${min} to ${max}`);
  }
  return value;
}

/** A TCP port from the environment, or null when the variable is unset. */
export function parsePort(env: NodeJS.ProcessEnv, variable: string): number | null {
  return wholeNumber(env, { variable, min: 1, max: 65_535, default: null });
}

/** A whole-number setting of the table, its default when unset. */
export function parseWholeNumber(env: NodeJS.ProcessEnv, setting: WholeNumberSetting): number {
  return wholeNumber(env, setting) ?? setting.default;
}

/** LOG_LEVEL, checked. */
export function parseLogLevel(env: NodeJS.ProcessEnv): LogLevel {
  const raw = env.LOG_LEVEL?.trim().toLowerCase() || DEFAULT_LOG_LEVEL;
  const level = LOG_LEVELS.find((known) => known === raw);
  if (!level) throw new InvalidEnvironmentError('LOG_LEVEL', describeValue(env.LOG_LEVEL), LOG_LEVELS.join(', '));
  return level;
}

/** The run policy of the environment: every duration within its range, and the bounds that depend on each other in order. */
export function parseRunPolicy(env: NodeJS.ProcessEnv): RunPolicy {
  const r = DURATION_RANGES;
  const policy: RunPolicy = {
    deliveryDeadlineMs: duration(env, r.deliveryDeadline),
    retryInitialIntervalMs: duration(env, r.retryInitialInterval),
    retryMaxIntervalMs: duration(env, r.retryMaxInterval),
    buildTimeoutMs: duration(env, r.buildTimeout),
    buildDeadlineMs: duration(env, r.buildDeadline),
    heartbeatTimeoutMs: duration(env, r.heartbeatTimeout),
    hostScheduleToStartTimeoutMs: duration(env, r.hostTimeout),
    maxHosts: parseWholeNumber(env, WHOLE_NUMBER_SETTINGS.maxHosts),
  };
  const check = (longer: DurationSetting, shorter: DurationSetting, why: string, orEqual = false) => assertExceeds(env, longer, shorter, why, orEqual);
  const heartbeat = { range: r.heartbeatTimeout, ms: policy.heartbeatTimeoutMs };
  const hostTimeout = { range: r.hostTimeout, ms: policy.hostScheduleToStartTimeoutMs };
  const deliveryDeadline = { range: r.deliveryDeadline, ms: policy.deliveryDeadlineMs };
  const buildDeadline = { range: r.buildDeadline, ms: policy.buildDeadlineMs };
  const buildTimeout = { range: r.buildTimeout, ms: policy.buildTimeoutMs };
  const stuck = 'or a stuck build or upload is never noticed';
  const moved = 'or a lost host ends the run instead of moving it to another host';
  check(deliveryDeadline, heartbeat, stuck);
  check(buildDeadline, heartbeat, stuck);
  check(buildTimeout, heartbeat, stuck);
  check(buildDeadline, buildTimeout, 'which bounds all build attempts together', true);
  check(deliveryDeadline, hostTimeout, moved);
  check(buildDeadline, hostTimeout, moved);
  check(
    { range: r.retryMaxInterval, ms: policy.retryMaxIntervalMs },
    { range: r.retryInitialInterval, ms: policy.retryInitialIntervalMs },
    'the first retry delay',
    true,
  );
  return policy;
}

/**
 * Where client secret references may point: the delivering process enforces it, and `clients
 * set`/`clients add` check it before saving. An empty prefix is refused rather than taken to
 * allow every variable.
 */
export function parseSecretRules(env: NodeJS.ProcessEnv): SecretRules {
  const rawPrefix = env.TWOWAY_SECRET_ENV_PREFIX;
  const envPrefix = rawPrefix === undefined ? DEFAULT_SECRET_ENV_PREFIX : rawPrefix.trim();
  if (!SECRET_ENV_PREFIX_PATTERN.test(envPrefix)) {
    throw new InvalidEnvironmentError(
      'TWOWAY_SECRET_ENV_PREFIX',
      envPrefix === '' ? 'empty (which would allow every variable)' : describeValue(rawPrefix),
      `letters, digits and "_", starting with a letter and ending with "_", such as ${DEFAULT_SECRET_ENV_PREFIX}`,
    );
  }
  const rawDir = env.TWOWAY_SECRETS_DIR?.trim() || DEFAULT_SECRETS_DIR;
  const secretsDir = isAbsolute(rawDir) ? posix.normalize(rawDir).replace(/\/+$/, '') : '';
  if (!isPlainAbsolutePath(secretsDir) || rawDir.split('/').includes('..')) {
    throw new InvalidEnvironmentError(
      'TWOWAY_SECRETS_DIR',
      describeValue(rawDir),
      `an absolute folder other than /, without ".." parts, holding client secrets only, such as ${DEFAULT_SECRETS_DIR}`,
    );
  }
  const ownFiles = FILE_SETTINGS.flatMap((variable) => {
    const path = env[variable]?.trim();
    return path ? [{ variable, path: posix.normalize(path) }] : [];
  });
  return { envPrefix, secretsDir, ownVariables: new Set(ENVIRONMENT_VARIABLES.map((row) => row.name)), ownFiles };
}

export interface TemporalConfig {
  readonly address: string;
  readonly namespace: string;
  /** TLS for a hosted cluster: on with an API key or client certificate, or TEMPORAL_TLS=true. */
  readonly tls: false | { readonly clientCertPair?: { readonly crt: Buffer; readonly key: Buffer }; readonly serverRootCACertificate?: Buffer };
  readonly apiKey?: string;
}

function readFileVariable(env: NodeJS.ProcessEnv, variable: string): Buffer | undefined {
  const path = env[variable]?.trim();
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch {
    throw new InvalidEnvironmentError(variable, describeValue(path), 'the path of a readable PEM file');
  }
}

export function parseTemporalConfig(env: NodeJS.ProcessEnv): TemporalConfig {
  const address = env.TEMPORAL_ADDRESS?.trim() || DEFAULT_TEMPORAL_ADDRESS;
  if (!/^[^\s:/]+:\d{1,5}$/.test(address)) throw new InvalidEnvironmentError('TEMPORAL_ADDRESS', describeValue(address), 'host:port, e.g. localhost:7233');
  const namespace = env.TEMPORAL_NAMESPACE?.trim() || DEFAULT_TEMPORAL_NAMESPACE;
  const apiKey = env.TEMPORAL_API_KEY?.trim() || undefined;
  const crt = readFileVariable(env, 'TEMPORAL_TLS_CERT');
  const key = readFileVariable(env, 'TEMPORAL_TLS_KEY');
  if (Boolean(crt) !== Boolean(key)) {
    throw new InvalidEnvironmentError(crt ? 'TEMPORAL_TLS_KEY' : 'TEMPORAL_TLS_CERT', 'not set', 'both TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY, or neither');
  }
  const ca = readFileVariable(env, 'TEMPORAL_TLS_CA');
  const tlsWanted = env.TEMPORAL_TLS?.trim().toLowerCase() === 'true' || Boolean(apiKey) || Boolean(crt) || Boolean(ca);
  const tls = tlsWanted ? { ...(crt && key ? { clientCertPair: { crt, key } } : {}), ...(ca ? { serverRootCACertificate: ca } : {}) } : false;
  return { address, namespace, tls, ...(apiKey ? { apiKey } : {}) };
}

export interface WorkerConfig {
  readonly temporal: TemporalConfig;
  readonly workDir: string;
  /** `host:port` of the Prometheus endpoint, or null when TWOWAY_METRICS_ADDRESS=off. */
  readonly metricsAddress: string | null;
  readonly policy: RunPolicy;
  readonly sftpTimeouts: { readonly connectTimeoutMs: number; readonly operationTimeoutMs: number };
  /** Builds and uploads of large files at once on this host (activities/file-permits.ts). */
  readonly maxConcurrentFiles: number;
  /** Builds and uploads of small files at once on this host, beside the large ones (each holds a database connection and a file). */
  readonly maxConcurrentSmallFiles: number;
  readonly maxConcurrentWorkflowTasks: number;
  readonly watch: WatchSettings;
  /** Checked at start, so a bad TWOWAY_SECRET_ENV_PREFIX stops the worker rather than its first delivery. */
  readonly secrets: SecretRules;
  /** Checked at start, so a bad value stops a worker at once; `schedules sync` uses it. */
  readonly driftIntervalMs: number;
}

/** TWOWAY_SFTP_CONNECT_TIMEOUT and TWOWAY_SFTP_OPERATION_TIMEOUT. */
export function parseSftpTimeouts(env: NodeJS.ProcessEnv): WorkerConfig['sftpTimeouts'] {
  return {
    connectTimeoutMs: duration(env, DURATION_RANGES.sftpConnectTimeout),
    operationTimeoutMs: duration(env, DURATION_RANGES.sftpOperationTimeout),
  };
}

/** TWOWAY_MAX_CONCURRENT_FILES, TWOWAY_MAX_CONCURRENT_SMALL_FILES and TWOWAY_MAX_CONCURRENT_WORKFLOW_TASKS. */
export function parseWorkerConcurrency(
  env: NodeJS.ProcessEnv,
): Pick<WorkerConfig, 'maxConcurrentFiles' | 'maxConcurrentSmallFiles' | 'maxConcurrentWorkflowTasks'> {
  return {
    maxConcurrentFiles: parseWholeNumber(env, WHOLE_NUMBER_SETTINGS.maxConcurrentFiles),
    maxConcurrentSmallFiles: parseWholeNumber(env, WHOLE_NUMBER_SETTINGS.maxConcurrentSmallFiles),
    maxConcurrentWorkflowTasks: parseWholeNumber(env, WHOLE_NUMBER_SETTINGS.maxConcurrentWorkflowTasks),
  };
}

export function parseWorkerConfig(env: NodeJS.ProcessEnv): WorkerConfig {
  const metrics = env.TWOWAY_METRICS_ADDRESS?.trim() || DEFAULT_METRICS_ADDRESS;
  return {
    temporal: parseTemporalConfig(env),
    workDir: parseWorkDir(env),
    metricsAddress: metrics === 'off' ? null : metrics,
    policy: parseRunPolicy(env),
    sftpTimeouts: parseSftpTimeouts(env),
    ...parseWorkerConcurrency(env),
    watch: parseWatchSettings(env),
    secrets: parseSecretRules(env),
    driftIntervalMs: parseDriftInterval(env),
  };
}

/** TWOWAY_WORK_DIR: where files are built before they are delivered (or, for the drift check, hashed). */
export function parseWorkDir(env: NodeJS.ProcessEnv): string {
  return env.TWOWAY_WORK_DIR?.trim() || join(dataDir(env), 'work');
}

/** TWOWAY_DRIFT_INTERVAL: time between two passes of the drift check's schedule. */
export function parseDriftInterval(env: NodeJS.ProcessEnv): number {
  return duration(env, DURATION_RANGES.driftInterval);
}

export interface WatchSettings {
  /** Local time the clients' schedules run at: a period with no run by then (plus a margin) is missing. */
  readonly scheduleTime: LocalTimeOfDay;
  readonly defaultDue: Readonly<Record<Frequency, DueTime>>;
  /** Time between two watchdog passes. */
  readonly intervalMs: number;
}

function dueVariable(env: NodeJS.ProcessEnv, frequency: Frequency): DueTime {
  const variable = `TWOWAY_DUE_${frequency.toUpperCase()}`;
  const raw = env[variable]?.trim();
  if (!raw) return DEFAULT_DUE_TIMES[frequency];
  const due = parseDueTime(raw);
  if (!due) throw new InvalidEnvironmentError(variable, describeValue(raw), DUE_ALLOWED);
  return due;
}

/** What the watchdog judges periods by, from the environment. */
export function parseWatchSettings(env: NodeJS.ProcessEnv): WatchSettings {
  return {
    scheduleTime: parseScheduleTime(env),
    defaultDue: { daily: dueVariable(env, 'daily'), weekly: dueVariable(env, 'weekly'), monthly: dueVariable(env, 'monthly') },
    intervalMs: duration(env, DURATION_RANGES.watchInterval),
  };
}

/** Local time of day (HH:MM, the client's zone) at which schedules run. */
export function parseScheduleTime(env: NodeJS.ProcessEnv): { readonly hour: number; readonly minute: number } {
  const raw = env.TWOWAY_SCHEDULE_TIME?.trim() || DEFAULT_SCHEDULE_TIME;
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(raw);
  if (!match) throw new InvalidEnvironmentError('TWOWAY_SCHEDULE_TIME', describeValue(raw), 'a local time HH:MM from 00:00 to 23:59');
  return { hour: Number(match[1]), minute: Number(match[2]) };
}

/** Shorter tokens are guessable; the same floor as the webhook secret. */
export const MIN_UI_TOKEN_LENGTH = 16;

export interface UiSettings {
  readonly host: string;
  readonly port: number;
  /** Required on every request when set; never printed. */
  readonly token: string | null;
  /** The Temporal Web UI's base URL, without a trailing slash; null: workflow ids are shown without links. */
  readonly temporalUiUrl: string | null;
}

/** Loopback addresses: only this machine reaches them. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * The status page's settings. Bound anywhere but loopback, it refuses to start without a
 * token: the page can start runs and pause schedules.
 */
export function parseUiSettings(env: NodeJS.ProcessEnv): UiSettings {
  const address = env.TWOWAY_UI_ADDRESS?.trim() || DEFAULT_UI_ADDRESS;
  const match = /^(\[[0-9a-fA-F:]+\]|[^\s:/[\]]+):(\d{1,5})$/.exec(address);
  const port = Number(match?.[2]);
  if (!match?.[1] || !(port >= 0 && port <= 65_535))
    throw new InvalidEnvironmentError('TWOWAY_UI_ADDRESS', describeValue(address), 'host:port, e.g. 127.0.0.1:8080 (port 0: any free port)');
  const host = match[1].replace(/^\[(.*)\]$/, '$1');
  const token = env.TWOWAY_UI_TOKEN?.trim() || null;
  // The token's value is never part of a message.
  if (token !== null && token.length < MIN_UI_TOKEN_LENGTH)
    throw new InvalidEnvironmentError('TWOWAY_UI_TOKEN', `a token of ${token.length} characters`, `${MIN_UI_TOKEN_LENGTH} characters or more`);
  if (token === null && !isLoopbackHost(host)) {
    throw new InvalidEnvironmentError(
      'TWOWAY_UI_TOKEN',
      'not set',
      `a token of ${MIN_UI_TOKEN_LENGTH} characters or more whenever TWOWAY_UI_ADDRESS (${address}) is not a loopback address`,
    );
  }
  const temporalUiUrl = env.TWOWAY_TEMPORAL_UI_URL?.trim().replace(/\/+$/, '') || null;
  if (temporalUiUrl !== null && !/^https?:\/\/[^\s]+$/.test(temporalUiUrl))
    throw new InvalidEnvironmentError('TWOWAY_TEMPORAL_UI_URL', describeValue(temporalUiUrl), 'an http:// or https:// URL, e.g. http://localhost:8233');
  return { host, port, token, temporalUiUrl };
}
