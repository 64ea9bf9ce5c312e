import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DEFAULT_RUN_POLICY,
  DURATION_RANGES,
  ENVIRONMENT_VARIABLES,
  formatDuration,
  InvalidEnvironmentError,
  parseLogLevel,
  parseRunPolicy,
  parseSecretRules,
  parseScheduleTime,
  parseWatchSettings,
  parseWholeNumber,
  parseWorkerConfig,
  WHOLE_NUMBER_SETTINGS,
} from '../../src/config/env.js';
import { PROJECT_ROOT } from '../../src/config/paths.js';
import { formatDueTime } from '../../src/domain/deadlines.js';
import { runCliProcess } from '../support/cli.js';

/** Every duration variable at its smallest allowed value: still a consistent configuration. */
const ALL_MINIMUMS = {
  TWOWAY_DELIVERY_DEADLINE: '5s',
  TWOWAY_RETRY_INITIAL_INTERVAL: '100ms',
  TWOWAY_RETRY_MAX_INTERVAL: '100ms',
  TWOWAY_BUILD_TIMEOUT: '5s',
  TWOWAY_BUILD_DEADLINE: '5s',
  TWOWAY_HEARTBEAT_TIMEOUT: '2s',
  TWOWAY_HOST_TIMEOUT: '1s',
  TWOWAY_SFTP_CONNECT_TIMEOUT: '1s',
  TWOWAY_SFTP_OPERATION_TIMEOUT: '1s',
  TWOWAY_WATCH_INTERVAL: '1m',
  TWOWAY_DRIFT_INTERVAL: '1h',
};

const ALL_MAXIMUMS = {
  TWOWAY_DELIVERY_DEADLINE: '30d',
  TWOWAY_RETRY_INITIAL_INTERVAL: '1h',
  TWOWAY_RETRY_MAX_INTERVAL: '1d',
  TWOWAY_BUILD_TIMEOUT: '1d',
  TWOWAY_BUILD_DEADLINE: '7d',
  TWOWAY_HEARTBEAT_TIMEOUT: '1h',
  TWOWAY_HOST_TIMEOUT: '1d',
  TWOWAY_SFTP_CONNECT_TIMEOUT: '10m',
  TWOWAY_SFTP_OPERATION_TIMEOUT: '1h',
  TWOWAY_WATCH_INTERVAL: '1h',
  TWOWAY_DRIFT_INTERVAL: '7d',
};

function refusal(env: NodeJS.ProcessEnv): InvalidEnvironmentError {
  try {
    parseWorkerConfig(env);
  } catch (error) {
    assert.ok(error instanceof InvalidEnvironmentError, String(error));
    return error;
  }
  assert.fail(`accepted ${JSON.stringify(env)}`);
}

describe('configuration: durations', () => {
  it('accepts the defaults', () => {
    assert.deepEqual(parseRunPolicy({}), DEFAULT_RUN_POLICY);
    assert.deepEqual(DEFAULT_RUN_POLICY, {
      deliveryDeadlineMs: 86_400_000,
      retryInitialIntervalMs: 30_000,
      retryMaxIntervalMs: 900_000,
      buildTimeoutMs: 7_200_000,
      buildDeadlineMs: 21_600_000,
      heartbeatTimeoutMs: 120_000,
      hostScheduleToStartTimeoutMs: 300_000,
      maxHosts: 3,
    });
    assert.deepEqual(parseWorkerConfig({}).sftpTimeouts, { connectTimeoutMs: 20_000, operationTimeoutMs: 60_000 });
  });

  it('accepts every variable at its smallest and at its largest allowed value', () => {
    const smallest = parseWorkerConfig(ALL_MINIMUMS);
    assert.deepEqual(
      [
        smallest.policy.deliveryDeadlineMs,
        smallest.policy.retryInitialIntervalMs,
        smallest.policy.heartbeatTimeoutMs,
        smallest.policy.hostScheduleToStartTimeoutMs,
        smallest.sftpTimeouts.connectTimeoutMs,
      ],
      [5_000, 100, 2_000, 1_000, 1_000],
    );
    const largest = parseWorkerConfig(ALL_MAXIMUMS);
    assert.deepEqual(
      [largest.policy.deliveryDeadlineMs, largest.policy.buildDeadlineMs, largest.sftpTimeouts.operationTimeoutMs],
      [30 * 86_400_000, 7 * 86_400_000, 3_600_000],
    );
    assert.equal(parseRunPolicy({ TWOWAY_DELIVERY_DEADLINE: '1.5h' }).deliveryDeadlineMs, 5_400_000);
  });

  for (const range of Object.values(DURATION_RANGES)) {
    it(`refuses ${range.variable} of zero, below ${formatDuration(range.minMs)}, above ${formatDuration(range.maxMs)} or not a duration`, () => {
      const allowed = `allowed: a duration from ${formatDuration(range.minMs)} to ${formatDuration(range.maxMs)}, such as 500ms, 30s, 15m, 6h or 2d`;
      for (const given of ['0s', '0ms', `${range.minMs - 1}ms`, `${range.maxMs + 1}ms`, '10', 'soon', '-5s']) {
        // The other variables at their limits, so only this one can be out of range.
        const error = refusal({ ...(given.startsWith('0') || given === `${range.minMs - 1}ms` ? ALL_MINIMUMS : ALL_MAXIMUMS), [range.variable]: given });
        assert.equal(error.variable, range.variable);
        assert.equal(error.message, `${range.variable} is "${given}"; ${allowed}`);
      }
    });
  }

  it('refuses a delivery deadline, build deadline or build timeout not longer than the heartbeat timeout', () => {
    assert.equal(
      refusal({ TWOWAY_DELIVERY_DEADLINE: '2m' }).message,
      'TWOWAY_DELIVERY_DEADLINE is "2m"; allowed: longer than TWOWAY_HEARTBEAT_TIMEOUT (2m), or a stuck build or upload is never noticed',
    );
    assert.equal(
      refusal({ TWOWAY_HEARTBEAT_TIMEOUT: '1h', TWOWAY_BUILD_TIMEOUT: '30m' }).message,
      'TWOWAY_BUILD_TIMEOUT is "30m"; allowed: longer than TWOWAY_HEARTBEAT_TIMEOUT (1h), or a stuck build or upload is never noticed',
    );
    assert.equal(refusal({ TWOWAY_HEARTBEAT_TIMEOUT: '10m', TWOWAY_BUILD_TIMEOUT: '5m', TWOWAY_BUILD_DEADLINE: '10m' }).variable, 'TWOWAY_BUILD_DEADLINE');
  });

  it('refuses a build deadline shorter than one build attempt, naming the default in force', () => {
    assert.equal(
      refusal({ TWOWAY_BUILD_TIMEOUT: '12h' }).message,
      'TWOWAY_BUILD_DEADLINE is 6h (the default); allowed: at least TWOWAY_BUILD_TIMEOUT (12h), which bounds all build attempts together',
    );
    assert.equal(parseRunPolicy({ TWOWAY_BUILD_TIMEOUT: '6h' }).buildTimeoutMs, DEFAULT_RUN_POLICY.buildDeadlineMs);
  });

  it('refuses a host timeout that the deadlines would cut short', () => {
    assert.match(
      refusal({ TWOWAY_HOST_TIMEOUT: '7h' }).message,
      /^TWOWAY_BUILD_DEADLINE is 6h \(the default\); allowed: longer than TWOWAY_HOST_TIMEOUT \(7h\), or a lost host ends the run/,
    );
    assert.equal(refusal({ ...ALL_MINIMUMS, TWOWAY_HOST_TIMEOUT: '5s' }).variable, 'TWOWAY_DELIVERY_DEADLINE');
  });

  it('refuses a longest retry delay shorter than the first', () => {
    assert.equal(
      refusal({ TWOWAY_RETRY_INITIAL_INTERVAL: '1m', TWOWAY_RETRY_MAX_INTERVAL: '30s' }).message,
      'TWOWAY_RETRY_MAX_INTERVAL is "30s"; allowed: at least TWOWAY_RETRY_INITIAL_INTERVAL (1m), the first retry delay',
    );
    assert.equal(
      refusal({ TWOWAY_RETRY_INITIAL_INTERVAL: '1h' }).message,
      'TWOWAY_RETRY_MAX_INTERVAL is 15m (the default); allowed: at least TWOWAY_RETRY_INITIAL_INTERVAL (1h), the first retry delay',
    );
  });

  it('stops a worker at start with the reason on one line and exit status 1', async () => {
    // Nothing reachable behind it: if the check let the value through, the worker would fail later, on the database.
    const result = await runCliProcess(['worker'], {
      TWOWAY_DELIVERY_DEADLINE: '0s',
      DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
      TEMPORAL_ADDRESS: '127.0.0.1:1',
      TWOWAY_METRICS_ADDRESS: 'off',
    });
    assert.equal(result.status, 1);
    assert.equal(result.stderr, 'twoway-report: TWOWAY_DELIVERY_DEADLINE is "0s"; allowed: a duration from 5s to 30d, such as 500ms, 30s, 15m, 6h or 2d\n');
  });
});

describe('configuration: secret references', () => {
  it("defaults to TWOWAY_SECRET_ and /run/secrets/twoway, and never allows the worker's own settings", () => {
    const rules = parseSecretRules({});
    assert.equal(rules.envPrefix, 'TWOWAY_SECRET_');
    assert.equal(rules.secretsDir, '/run/secrets/twoway');
    for (const entry of ENVIRONMENT_VARIABLES) assert.ok(rules.ownVariables.has(entry.name), entry.name);
    assert.ok(rules.ownVariables.has('DATABASE_URL') && rules.ownVariables.has('TEMPORAL_API_KEY') && rules.ownVariables.has('TWOWAY_SECRET_ENV_PREFIX'));
    assert.deepEqual(rules.ownFiles, []);
    const row = (name: string) => ENVIRONMENT_VARIABLES.find((entry) => entry.name === name)?.default;
    assert.deepEqual([row('TWOWAY_SECRET_ENV_PREFIX'), row('TWOWAY_SECRETS_DIR')], [rules.envPrefix, rules.secretsDir]);
    assert.deepEqual(parseWorkerConfig({}).secrets, rules);
  });

  it("takes an operator's prefix and folder, and the files the worker's own settings name", () => {
    const rules = parseSecretRules({
      TWOWAY_SECRET_ENV_PREFIX: ' ACME_SECRET_ ',
      TWOWAY_SECRETS_DIR: '/srv//secrets/',
      TEMPORAL_TLS_KEY: '/srv/secrets/../tls/worker.key',
      TEMPORAL_TLS_CA: ' ',
    });
    assert.equal(rules.envPrefix, 'ACME_SECRET_');
    assert.equal(rules.secretsDir, '/srv/secrets');
    assert.deepEqual(rules.ownFiles, [{ variable: 'TEMPORAL_TLS_KEY', path: '/srv/tls/worker.key' }]);
  });

  it('refuses an empty prefix (it would allow every variable), a prefix that is not a whole word, and a folder that is not a plain absolute one', () => {
    const refused = (env: NodeJS.ProcessEnv, message: string) =>
      assert.throws(
        () => parseSecretRules(env),
        (error: unknown) => error instanceof InvalidEnvironmentError && error.message === message,
        JSON.stringify(env),
      );
    const prefixAllowed = 'allowed: letters, digits and "_", starting with a letter and ending with "_", such as TWOWAY_SECRET_';
    refused({ TWOWAY_SECRET_ENV_PREFIX: '' }, `TWOWAY_SECRET_ENV_PREFIX is empty (which would allow every variable); ${prefixAllowed}`);
    refused({ TWOWAY_SECRET_ENV_PREFIX: '  ' }, `TWOWAY_SECRET_ENV_PREFIX is empty (which would allow every variable); ${prefixAllowed}`);
    refused({ TWOWAY_SECRET_ENV_PREFIX: 'ACME' }, `TWOWAY_SECRET_ENV_PREFIX is "ACME"; ${prefixAllowed}`);
    refused({ TWOWAY_SECRET_ENV_PREFIX: '_' }, `TWOWAY_SECRET_ENV_PREFIX is "_"; ${prefixAllowed}`);
    refused({ TWOWAY_SECRET_ENV_PREFIX: 'A-B_' }, `TWOWAY_SECRET_ENV_PREFIX is "A-B_"; ${prefixAllowed}`);
    const dirAllowed = 'allowed: an absolute folder other than /, without ".." parts, holding client secrets only, such as /run/secrets/twoway';
    for (const dir of ['secrets', './secrets', '/', '//', '/run/secrets/../..', '/run/../etc']) {
      refused({ TWOWAY_SECRETS_DIR: dir }, `TWOWAY_SECRETS_DIR is ${JSON.stringify(dir)}; ${dirAllowed}`);
    }
  });

  it('stops a worker at start on an empty prefix', async () => {
    const result = await runCliProcess(['worker'], {
      TWOWAY_SECRET_ENV_PREFIX: '',
      DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
      TEMPORAL_ADDRESS: '127.0.0.1:1',
      TWOWAY_METRICS_ADDRESS: 'off',
    });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /^twoway-report: TWOWAY_SECRET_ENV_PREFIX is empty \(which would allow every variable\); allowed: /);
  });
});

describe('configuration: the watchdog', () => {
  it('takes due times per frequency and the pass interval, with defaults', () => {
    assert.deepEqual(parseWatchSettings({}), {
      scheduleTime: { hour: 3, minute: 0 },
      defaultDue: {
        daily: { daysAfterEnd: 0, minuteOfDay: 540 },
        weekly: { daysAfterEnd: 0, minuteOfDay: 540 },
        monthly: { daysAfterEnd: 7, minuteOfDay: 540 },
      },
      intervalMs: 300_000,
    });
    const set = parseWatchSettings({ TWOWAY_DUE_DAILY: '+1 06:15', TWOWAY_WATCH_INTERVAL: '2m', TWOWAY_SCHEDULE_TIME: '02:30' });
    assert.deepEqual([set.defaultDue.daily, set.intervalMs, set.scheduleTime], [{ daysAfterEnd: 1, minuteOfDay: 375 }, 120_000, { hour: 2, minute: 30 }]);
  });

  it('refuses a due time that is not +N HH:MM, naming the variable and the form', () => {
    for (const variable of ['TWOWAY_DUE_DAILY', 'TWOWAY_DUE_WEEKLY', 'TWOWAY_DUE_MONTHLY']) {
      for (const given of ['09:00', '+1 9:00', '+40 09:00', 'tomorrow']) {
        assert.throws(
          () => parseWorkerConfig({ [variable]: given }),
          (error: unknown) =>
            error instanceof InvalidEnvironmentError &&
            error.variable === variable &&
            error.message.startsWith(`${variable} is "${given}"; allowed: "+N HH:MM"`),
          `${variable}=${given}`,
        );
      }
    }
  });
});

describe('configuration: the settings table', () => {
  const row = (name: string) => {
    const found = ENVIRONMENT_VARIABLES.find((entry) => entry.name === name);
    assert.ok(found, `${name} is in the settings table`);
    return found;
  };

  it('documents as default what each parser returns when nothing is set', () => {
    const config = parseWorkerConfig({});
    for (const range of Object.values(DURATION_RANGES)) assert.equal(row(range.variable).default, formatDuration(range.defaultMs), range.variable);
    assert.deepEqual(
      [config.policy.deliveryDeadlineMs, config.policy.heartbeatTimeoutMs, config.sftpTimeouts.connectTimeoutMs, config.watch.intervalMs].map(formatDuration),
      ['TWOWAY_DELIVERY_DEADLINE', 'TWOWAY_HEARTBEAT_TIMEOUT', 'TWOWAY_SFTP_CONNECT_TIMEOUT', 'TWOWAY_WATCH_INTERVAL'].map((name) => row(name).default),
    );
    assert.deepEqual(
      [
        config.policy.maxHosts,
        config.maxConcurrentFiles,
        config.maxConcurrentSmallFiles,
        config.maxConcurrentWorkflowTasks,
        parseWholeNumber({}, WHOLE_NUMBER_SETTINGS.embeddedPgPort),
      ].map(String),
      [
        'TWOWAY_MAX_HOSTS',
        'TWOWAY_MAX_CONCURRENT_FILES',
        'TWOWAY_MAX_CONCURRENT_SMALL_FILES',
        'TWOWAY_MAX_CONCURRENT_WORKFLOW_TASKS',
        'TWOWAY_EMBEDDED_PG_PORT',
      ].map((name) => row(name).default),
    );
    assert.equal(formatDueTime(config.watch.defaultDue.monthly), row('TWOWAY_DUE_MONTHLY').default);
    assert.equal(config.metricsAddress, row('TWOWAY_METRICS_ADDRESS').default);
    assert.equal(config.temporal.address, row('TEMPORAL_ADDRESS').default);
    assert.equal(parseLogLevel({}), row('LOG_LEVEL').default);
    const { hour, minute } = parseScheduleTime({});
    assert.equal(`${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`, row('TWOWAY_SCHEDULE_TIME').default);
  });

  it('lists every variable the code reads (nothing reads the environment around it)', () => {
    const read = new Set<string>();
    const sourceFiles = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
        entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
      );
    for (const file of sourceFiles(join(PROJECT_ROOT, 'src'))) {
      for (const match of readFileSync(file, 'utf8').matchAll(/\benv\??\.([A-Z][A-Z0-9_]+)|\benv\[['"]([A-Z][A-Z0-9_]+)['"]\]/g))
        read.add(match[1] ?? match[2] ?? '');
    }
    assert.ok(read.has('TWOWAY_WEBHOOK_URL') && read.has('DATABASE_URL'), 'the scan finds reads');
    // PATH is the system's, not a setting.
    const unlisted = [...read].filter((name) => name !== 'PATH' && !ENVIRONMENT_VARIABLES.some((entry) => entry.name === name));
    assert.deepEqual(unlisted, []);
  });

  it('refuses a LOG_LEVEL pino does not know, naming the allowed ones', () => {
    assert.throws(() => parseLogLevel({ LOG_LEVEL: 'verbose' }), /LOG_LEVEL is "verbose"; allowed: trace, debug, info, warn, error/);
    assert.equal(parseLogLevel({ LOG_LEVEL: 'DEBUG' }), 'debug');
  });
});
