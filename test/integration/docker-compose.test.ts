/**
 * The production shape cannot run here (no Docker), so docker-compose.yml is validated by the
 * real Compose v2 (`config`, built by set-up into .tools/bin from its Go module), and the
 * project's own promises are checked on the model Compose resolves: the worker gets every
 * variable of the settings table (ENVIRONMENT_VARIABLES) except local-only ones, with the
 * code's defaults, each overridable from the environment; temporal-init registers exactly the
 * workflows' search attributes. The image's health check is run for real.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { DEFAULT_RUN_POLICY, ENVIRONMENT_VARIABLES, parseSecretRules, parseWatchSettings, parseWorkerConfig } from '../../src/config/env.js';
import { PROJECT_ROOT } from '../../src/config/paths.js';
import { freePort } from '../../src/devstack/ports.js';
import { SEARCH_ATTRIBUTE_KEYS } from '../../src/workflows/search-attributes.js';

const execFileAsync = promisify(execFile);
const COMPOSE = join(PROJECT_ROOT, '.tools', 'bin', 'docker-compose');
const COMPOSE_FILE = join(PROJECT_ROOT, 'docker-compose.yml');

/** Variables of the settings table the compose worker leaves out, and why. */
const LOCAL_ONLY_VARIABLES: Readonly<Record<string, string>> = {
  TWOWAY_DATA_DIR: 'state of the embedded services of a developer machine; DATABASE_URL always points at the event-store service',
  TWOWAY_EMBEDDED_PG_PORT: 'port of the embedded PostgreSQL, never started when DATABASE_URL is set',
  TWOWAY_DEMO_TEMPORAL_PORT: "the demo's own Temporal dev server; the worker connects to TEMPORAL_ADDRESS",
  TWOWAY_DEMO_UI_PORT: "the demo's own Temporal dev server; compose runs its own temporal-ui service",
  TEMPORAL_API_KEY: 'hosted clusters only; the bundled server speaks plaintext on the compose network',
  TEMPORAL_TLS: 'hosted clusters only; the bundled server speaks plaintext on the compose network',
  TEMPORAL_TLS_CERT: 'mTLS to a hosted cluster needs mounted certificates: an override file, not this one',
  TEMPORAL_TLS_KEY: 'mTLS to a hosted cluster needs mounted certificates: an override file, not this one',
  TEMPORAL_TLS_CA: 'CA of a hosted cluster; the bundled server has no TLS',
  TEMPORAL_CLI_PATH: 'developer tools; the worker image runs no Temporal CLI',
  TEMPORAL_TEST_SERVER_PATH: 'developer tools; the worker image runs no Temporal CLI',
  TWOWAY_UI_ADDRESS: 'read by `twoway-report ui`, not by the worker; compose runs no status page',
  TWOWAY_UI_TOKEN: 'read by `twoway-report ui`, not by the worker; compose runs no status page',
  TWOWAY_TEMPORAL_UI_URL: "the status page's links; compose runs no status page (its temporal-ui service is reached directly)",
};
/** Worker variables whose value the compose file fixes (the services it names), not a code default. */
const COMPOSE_WIRED_VARIABLES = ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'TWOWAY_WORK_DIR'];
/** Worker variables that are not settings but an example of an SFTP client's secret. */
const SECRET_EXAMPLE_VARIABLES = ['TWOWAY_SECRET_DEMO_SFTP_PASSWORD'];
/** The only variable compose has no default for. */
const BASE_ENV = { DEMO_SFTP_PASSWORD: 'demo-password' };

interface ComposeModel {
  readonly services: Record<
    string,
    {
      environment?: Record<string, string | null>;
      entrypoint?: string[] | null;
      command?: string[] | null;
      secrets?: { source: string; target?: string; uid?: string; mode?: number }[];
    }
  >;
}

/** `docker-compose config` on `file`, with only `env` (and PATH) in its environment. */
function composeConfig(file: string, env: Record<string, string>, args: string[]) {
  return spawnSync(COMPOSE, ['-f', file, '--project-directory', PROJECT_ROOT, 'config', ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', ...env },
  });
}

function resolvedModel(env: Record<string, string> = {}): ComposeModel {
  const result = composeConfig(COMPOSE_FILE, { ...BASE_ENV, ...env }, ['--format', 'json']);
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as ComposeModel;
}

function workerEnvironment(model: ComposeModel): Record<string, string> {
  const environment = model.services.worker?.environment;
  assert.ok(environment, 'the worker service has an environment');
  return Object.fromEntries(Object.entries(environment).map(([name, value]) => [name, value ?? '']));
}

/** A service's shell script as sh sees it (Compose's JSON keeps `$$` escaped). */
function script(model: ComposeModel, name: string): string {
  const svc = model.services[name];
  assert.deepEqual(svc?.entrypoint?.[0], '/bin/sh', `${name} runs a shell script`);
  return (svc?.command ?? []).join('\n').replaceAll('$$', '$');
}

describe('docker-compose.yml, as the real Compose v2 reads it', () => {
  let scratch: string;

  before(async () => {
    assert.ok(existsSync(COMPOSE), `${COMPOSE} exists (scripts/setup.mjs builds it)`);
    scratch = await mkdtemp(join(tmpdir(), 'twoway-compose-'));
  });

  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('is valid: `config --quiet` accepts it, and refuses a copy with a dependency on a missing service', () => {
    const valid = composeConfig(COMPOSE_FILE, BASE_ENV, ['--quiet']);
    assert.equal(valid.status, 0, valid.stderr);
    const broken = join(scratch, 'broken.yml');
    writeFileSync(
      broken,
      readFileSync(COMPOSE_FILE, 'utf8').replace(
        /^(\s+)migrate:\n(\s+)condition: service_completed_successfully/m,
        '$1no-such-service:\n$2condition: service_completed_successfully',
      ),
    );
    const refused = composeConfig(broken, BASE_ENV, ['--quiet']);
    assert.notEqual(refused.status, 0, 'a broken file is refused');
    assert.match(refused.stderr, /no-such-service/);
  });

  it('gives the worker every setting the code reads (local-only ones aside), with the code defaults, each overridable', () => {
    const names = new Set(ENVIRONMENT_VARIABLES.map((entry) => entry.name));
    for (const name of Object.keys(LOCAL_ONLY_VARIABLES)) assert.ok(names.has(name), `${name} (left out as local-only) is still a setting the code reads`);
    const env = workerEnvironment(resolvedModel());
    for (const name of Object.keys(env)) {
      assert.ok(names.has(name) || SECRET_EXAMPLE_VARIABLES.includes(name), `worker variable ${name} is a setting (ENVIRONMENT_VARIABLES) or a secret example`);
      assert.ok(!(name in LOCAL_ONLY_VARIABLES), `${name} is local-only: ${LOCAL_ONLY_VARIABLES[name]}`);
    }
    const configurable = ENVIRONMENT_VARIABLES.filter((entry) => !(entry.name in LOCAL_ONLY_VARIABLES));
    for (const entry of configurable) {
      assert.ok(entry.name in env, `the worker sets ${entry.name} (${entry.meaning})`);
      if (!COMPOSE_WIRED_VARIABLES.includes(entry.name)) assert.equal(env[entry.name], entry.default, `${entry.name}'s default is the code's`);
    }
    const overrides = Object.fromEntries(
      configurable.filter((entry) => !COMPOSE_WIRED_VARIABLES.includes(entry.name)).map((entry) => [entry.name, `set-${entry.name}`]),
    );
    const overridden = workerEnvironment(resolvedModel(overrides));
    for (const [name, value] of Object.entries(overrides)) assert.equal(overridden[name], value, `${name} can be set from the environment (.env)`);

    // What the worker receives passes the code's own checks.
    const config = parseWorkerConfig(env);
    assert.equal(config.temporal.address, 'temporal:7233');
    assert.equal(config.temporal.tls, false);
    assert.equal(config.workDir, '/var/lib/twoway/work');
    assert.deepEqual(config.policy, DEFAULT_RUN_POLICY);
    assert.deepEqual(config.watch, parseWatchSettings({}));
  });

  it('mounts the example secret file inside TWOWAY_SECRETS_DIR, owned by the worker user and readable by it only', () => {
    const env = workerEnvironment(resolvedModel());
    const rules = parseSecretRules(env);
    const [secret, ...others] = resolvedModel().services.worker?.secrets ?? [];
    assert.deepEqual(others, []);
    assert.ok(secret?.target?.startsWith(`${rules.secretsDir}/`), `${secret?.target} is inside ${rules.secretsDir}`);
    assert.equal(secret?.uid, '1000', "the Dockerfile's USER");
    assert.equal(secret?.mode, 0o400, 'group and others cannot read it, or the worker refuses it');
    for (const name of SECRET_EXAMPLE_VARIABLES) assert.ok(name.startsWith(rules.envPrefix), `${name} is under TWOWAY_SECRET_ENV_PREFIX`);
  });

  it("registers exactly the workflows' search attributes, as Keyword, on the worker's namespace, in a valid shell script", () => {
    const model = resolvedModel({ TEMPORAL_NAMESPACE: 'reports' });
    const init = script(model, 'temporal-init');
    const created = [...init.matchAll(/^\s*(?:retry\s+)?ensure_search_attribute\s+(\S+)\s+(\S+)\s*$/gm)].map((match) => `${match[1]}:${match[2]}`).sort();
    assert.deepEqual(created, SEARCH_ATTRIBUTE_KEYS.map((key) => `${key.name}:Keyword`).sort());
    assert.equal(
      model.services['temporal-init']?.environment?.TEMPORAL_NAMESPACE,
      workerEnvironment(model).TEMPORAL_NAMESPACE,
      'on the namespace the worker uses',
    );
    assert.equal(workerEnvironment(model).TEMPORAL_NAMESPACE, 'reports');
    const parsed = spawnSync('sh', ['-n', '-c', init], { encoding: 'utf8' });
    assert.equal(parsed.status, 0, parsed.stderr);
  });
});

describe('Dockerfile health check', () => {
  /** The HEALTHCHECK's exec-form command. */
  function healthcheckCommand(): string[] {
    const exec = /^HEALTHCHECK\b[^\n]*\\\n\s*CMD\s+(\[.*\])\s*$/m.exec(readFileSync(join(PROJECT_ROOT, 'Dockerfile'), 'utf8'));
    assert.ok(exec?.[1], 'the Dockerfile has an exec-form HEALTHCHECK');
    return JSON.parse(exec[1]) as string[];
  }

  async function runHealthcheck(metricsAddress: string): Promise<number> {
    const [program, ...args] = healthcheckCommand();
    assert.equal(program, 'node', 'the health check runs node (the slim image has no curl)');
    try {
      await execFileAsync(process.execPath, args, { env: { ...process.env, TWOWAY_METRICS_ADDRESS: metricsAddress }, timeout: 15_000 });
      return 0;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      return typeof code === 'number' ? code : -1;
    }
  }

  async function withMetricsServer<T>(status: number, body: (port: number) => Promise<T>): Promise<T> {
    const server = createServer((request, response) => {
      response.statusCode = request.url === '/metrics' ? status : 404;
      response.end('# metrics\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    assert.ok(address && typeof address === 'object');
    try {
      return await body(address.port);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  it('passes only while /metrics answers', async () => {
    assert.equal(await withMetricsServer(200, (port) => runHealthcheck(`0.0.0.0:${port}`)), 0, 'healthy when /metrics answers 200');
    assert.notEqual(await withMetricsServer(500, (port) => runHealthcheck(`127.0.0.1:${port}`)), 0, 'unhealthy when /metrics fails');
    assert.notEqual(await runHealthcheck(`127.0.0.1:${await freePort()}`), 0, 'unhealthy when nothing listens');
  });
});
