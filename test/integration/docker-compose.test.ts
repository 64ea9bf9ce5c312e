/**
 * The production shape (docker-compose.yml, Dockerfile, .dockerignore) cannot be started
 * here, so its structure is checked instead: services, images, the dependency graph, the
 * worker's configuration against the variables the code reads, the search attributes, and
 * the image's stages, user, entry point and health check (which is run for real).
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { DEFAULT_RUN_POLICY, ENVIRONMENT_VARIABLES, parseScheduleTime, parseWorkerConfig } from '../../src/config/env.js';
import { PROJECT_ROOT } from '../../src/config/paths.js';
import { freePort } from '../../src/devstack/ports.js';
import { SEARCH_ATTRIBUTE_KEYS } from '../../src/workflows/search-attributes.js';

const execFileAsync = promisify(execFile);

/** Services the issue asks for (the Temporal schema job is an extra of upstream's setup). */
const REQUIRED_SERVICES = ['temporal-postgresql', 'temporal', 'temporal-init', 'temporal-ui', 'event-store', 'migrate', 'worker', 'sftp'] as const;

/** Variables of ENVIRONMENT_VARIABLES the compose worker leaves out, and why. */
const LOCAL_ONLY_VARIABLES: Readonly<Record<string, string>> = {
  TWOWAY_DATA_DIR: 'state of the embedded services of a developer machine; DATABASE_URL always points at the event-store service',
  TWOWAY_EMBEDDED_PG_PORT: 'port of the embedded PostgreSQL, never started when DATABASE_URL is set',
  TWOWAY_DEMO_TEMPORAL_PORT: 'the demo\'s own Temporal dev server; the worker connects to TEMPORAL_ADDRESS',
  TWOWAY_DEMO_UI_PORT: 'the demo\'s own Temporal dev server; compose runs its own temporal-ui service',
  TEMPORAL_API_KEY: 'hosted clusters only; the bundled server speaks plaintext on the compose network',
  TEMPORAL_TLS: 'hosted clusters only; the bundled server speaks plaintext on the compose network',
  TEMPORAL_TLS_CERT: 'mTLS to a hosted cluster needs mounted certificates: an override file, not this one',
  TEMPORAL_TLS_KEY: 'mTLS to a hosted cluster needs mounted certificates: an override file, not this one',
  TEMPORAL_TLS_CA: 'CA of a hosted cluster; the bundled server has no TLS',
  TWOWAY_UI_ADDRESS: 'read by `twoway-report ui`, not by the worker; compose runs no status page',
  TWOWAY_UI_TOKEN: 'read by `twoway-report ui`, not by the worker; compose runs no status page',
  TWOWAY_TEMPORAL_UI_URL: "the status page's links; compose runs no status page (its temporal-ui service is reached directly)",
};

/** Worker variables that are not configuration but examples of SFTP client secrets. */
const SECRET_EXAMPLE_VARIABLES = ['DEMO_SFTP_PASSWORD'];

/** Worker variables whose compose value is fixed by the compose file itself, not a code default. */
const COMPOSE_WIRED_VARIABLES = ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'TWOWAY_WORK_DIR'];

/** The temporal CLI's names of the SDK's search attribute types. */
const CLI_ATTRIBUTE_TYPES: Readonly<Record<string, string>> = {
  TEXT: 'Text',
  KEYWORD: 'Keyword',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
};

type Env = Readonly<Record<string, string | undefined>>;
type Dict = Record<string, unknown>;

/** Only the variable compose has no default for; the rest resolve to the file's defaults. */
const BASE_ENV: Env = { DEMO_SFTP_PASSWORD: 'demo-password' };

function readProjectFile(name: string): string {
  return readFileSync(join(PROJECT_ROOT, name), 'utf8');
}

function isDict(value: unknown): value is Dict {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function dict(value: unknown, what: string): Dict {
  assert.ok(isDict(value), `${what} is a mapping`);
  return value;
}

function text(value: unknown, what: string): string {
  assert.ok(typeof value === 'string' || typeof value === 'number', `${what} is a string`);
  return String(value);
}

// ---------------------------------------------------------------- compose interpolation

interface VariableUse {
  readonly name: string;
  /** `:-`, `-`, `:?`, `?`, `:+`, `+`, or null for `$NAME` / `${NAME}`. */
  readonly operator: string | null;
}

const REFERENCE = /\$(?:\$|\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))?/g;
const BRACED = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([\s\S]*))?$/;

/** Compose's interpolation: `$$`, `$NAME`, `${NAME}`, `${NAME:-default}`, `${NAME:?error}`, … */
function interpolate(source: string, env: Env, uses: VariableUse[]): string {
  return source.replace(REFERENCE, (match: string, braced: string | undefined, bare: string | undefined) => {
    if (match === '$$') return '$';
    if (bare !== undefined) {
      uses.push({ name: bare, operator: null });
      return env[bare] ?? '';
    }
    assert.ok(braced !== undefined, `a lone "$" in ${JSON.stringify(source.slice(0, 80))}: compose needs "$$" for a literal dollar`);
    const parts = BRACED.exec(braced);
    assert.ok(parts?.[1], `"\${${braced}}" is not a valid compose interpolation`);
    const name = parts[1];
    const operator = parts[2] ?? null;
    const operand = parts[3] ?? '';
    uses.push({ name, operator });
    const value = env[name];
    const empty = value === undefined || value === '';
    switch (operator) {
      case null:
        return value ?? '';
      case ':-':
        return empty ? operand : value;
      case '-':
        return value ?? operand;
      case ':?':
      case '?':
        if (operator === ':?' ? empty : value === undefined) throw new Error(`required variable ${name} is missing: ${operand}`);
        return value ?? '';
      case ':+':
        return empty ? '' : operand;
      default:
        return value === undefined ? '' : operand;
    }
  });
}

function resolveDeep(value: unknown, env: Env, uses: VariableUse[]): unknown {
  if (typeof value === 'string') return interpolate(value, env, uses);
  if (Array.isArray(value)) return value.map((item) => resolveDeep(item, env, uses));
  if (isDict(value)) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolveDeep(item, env, uses)]));
  return value;
}

const RAW_COMPOSE: unknown = parse(readProjectFile('docker-compose.yml'));

/** The compose file as `docker compose` sees it with `env` (plus BASE_ENV) in its environment. */
function compose(env: Env = {}): { readonly doc: Dict; readonly uses: readonly VariableUse[] } {
  const uses: VariableUse[] = [];
  const doc = dict(resolveDeep(RAW_COMPOSE, { ...BASE_ENV, ...env }, uses), 'docker-compose.yml');
  return { doc, uses };
}

function services(doc: Dict): Record<string, Dict> {
  const all = dict(doc.services, 'services');
  return Object.fromEntries(Object.entries(all).map(([name, body]) => [name, dict(body, `service ${name}`)]));
}

function service(doc: Dict, name: string): Dict {
  const found = services(doc)[name];
  assert.ok(found, `service ${name} exists`);
  return found;
}

function environment(svc: Dict): Map<string, string> {
  const env = svc.environment;
  if (env === undefined || env === null) return new Map();
  if (Array.isArray(env)) {
    return new Map(
      env.map((entry) => {
        const line = text(entry, 'environment entry');
        const equals = line.indexOf('=');
        return equals < 0 ? [line, ''] : [line.slice(0, equals), line.slice(equals + 1)];
      }),
    );
  }
  return new Map(Object.entries(dict(env, 'environment')).map(([key, value]) => [key, value === null ? '' : text(value, key)]));
}

function variable(svc: Dict, name: string): string {
  const value = environment(svc).get(name);
  assert.ok(value !== undefined, `${name} is set`);
  return value;
}

function dependencies(svc: Dict): Map<string, string> {
  const deps = svc.depends_on;
  if (deps === undefined) return new Map();
  if (Array.isArray(deps)) return new Map(deps.map((name) => [text(name, 'depends_on entry'), 'service_started']));
  return new Map(Object.entries(dict(deps, 'depends_on')).map(([name, body]) => [name, isDict(body) && typeof body.condition === 'string' ? body.condition : 'service_started']));
}

function commandScript(svc: Dict): string {
  const command = svc.command;
  return Array.isArray(command) ? command.map((part) => text(part, 'command')).join('\n') : text(command, 'command');
}

interface PortMapping {
  readonly hostIp: string | null;
  readonly published: string | null;
  readonly target: number;
}

function ports(svc: Dict): PortMapping[] {
  const list = svc.ports ?? [];
  assert.ok(Array.isArray(list), 'ports is a list');
  return list.map((entry) => {
    if (isDict(entry)) {
      return { hostIp: typeof entry.host_ip === 'string' ? entry.host_ip : null, published: entry.published === undefined ? null : String(entry.published), target: Number(entry.target) };
    }
    const parts = text(entry, 'port').replace(/\/(tcp|udp)$/, '').split(':');
    const target = Number(parts.at(-1));
    if (parts.length === 1) return { hostIp: null, published: null, target };
    return { hostIp: parts.length === 3 ? (parts[0] ?? null) : null, published: parts.at(-2) ?? null, target };
  });
}

function containerPorts(svc: Dict): number[] {
  const exposed = Array.isArray(svc.expose) ? svc.expose.map((port) => Number(String(port).replace(/\/(tcp|udp)$/, ''))) : [];
  return [...ports(svc).map((port) => port.target), ...exposed];
}

interface Mount {
  readonly source: string | null;
  readonly target: string;
}

function mounts(svc: Dict): Mount[] {
  const list = svc.volumes ?? [];
  assert.ok(Array.isArray(list), 'volumes is a list');
  return list.map((entry) => {
    if (isDict(entry)) return { source: typeof entry.source === 'string' ? entry.source : null, target: text(entry.target, 'volume target') };
    const parts = text(entry, 'volume').split(':');
    return parts.length === 1 ? { source: null, target: parts[0] ?? '' } : { source: parts[0] ?? null, target: parts[1] ?? '' };
  });
}

function isNamedVolume(source: string | null): source is string {
  return source !== null && !/^[./~]/.test(source);
}

function hasHealthcheck(svc: Dict): boolean {
  if (!isDict(svc.healthcheck) || svc.healthcheck.disable === true) return false;
  const test = svc.healthcheck.test;
  return test !== undefined && !(Array.isArray(test) && test[0] === 'NONE');
}

/** `image` as repository, tag and digest. */
function imageReference(image: string): { readonly repository: string; readonly tag: string | null; readonly digest: string | null } {
  const [named = '', digest = null] = image.split('@');
  const lastSlash = named.lastIndexOf('/');
  const colon = named.indexOf(':', lastSlash + 1);
  return colon < 0 ? { repository: named, tag: null, digest } : { repository: named.slice(0, colon), tag: named.slice(colon + 1), digest };
}

function assertPinned(image: string, where: string): void {
  const { tag, digest } = imageReference(image);
  assert.notEqual(tag, 'latest', `${where}: ${image} must not float on "latest"`);
  if (digest !== null) {
    assert.match(digest, /^sha256:[0-9a-f]{64}$/, `${where}: ${image} has a valid digest`);
    return;
  }
  assert.ok(tag !== null && /\d/.test(tag), `${where}: ${image} is pinned to a version tag or a digest`);
}

/** A compose duration such as `90s`, `1m30s` or `2m` in seconds. */
function durationSeconds(value: string): number {
  const units: Readonly<Record<string, number>> = { h: 3600, m: 60, s: 1, ms: 0.001 };
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s)/g)];
  assert.ok(parts.length > 0 && parts.map((part) => part[0]).join('') === value, `${value} is a compose duration`);
  return parts.reduce((sum, part) => sum + Number(part[1]) * (units[part[2] ?? ''] ?? Number.NaN), 0);
}

// ---------------------------------------------------------------- Dockerfile

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

interface Stage {
  readonly base: string;
  readonly name: string | null;
  readonly instructions: readonly Instruction[];
}

/** Instructions with continuation lines joined and comments dropped, as the builder reads them. */
function dockerfileInstructions(source: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending = '';
  for (const line of source.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed.startsWith('#')) continue;
    if (trimmed.endsWith('\\')) {
      pending += `${trimmed.slice(0, -1)} `;
      continue;
    }
    const whole = `${pending}${trimmed}`.trim();
    pending = '';
    if (whole === '') continue;
    const match = /^(\S+)\s*([\s\S]*)$/.exec(whole);
    assert.ok(match?.[1], `Dockerfile line ${JSON.stringify(whole)} has an instruction`);
    instructions.push({ keyword: match[1].toUpperCase(), args: match[2] ?? '' });
  }
  return instructions;
}

function dockerfileStages(instructions: readonly Instruction[]): { readonly globalArgs: ReadonlyMap<string, string>; readonly stages: Stage[] } {
  const globalArgs = new Map<string, string>();
  const stages: { base: string; name: string | null; instructions: Instruction[] }[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const words = instruction.args.split(/\s+/).filter((word) => !word.startsWith('--'));
      const base = (words[0] ?? '').replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_match, name: string) => globalArgs.get(name) ?? '');
      const asIndex = words.findIndex((word) => word.toUpperCase() === 'AS');
      stages.push({ base, name: asIndex >= 0 ? (words[asIndex + 1] ?? null) : null, instructions: [] });
      continue;
    }
    const current = stages.at(-1);
    if (current) {
      current.instructions.push(instruction);
    } else if (instruction.keyword === 'ARG') {
      const [name = '', value = ''] = instruction.args.split('=');
      globalArgs.set(name.trim(), value.trim());
    }
  }
  return { globalArgs, stages };
}

function execForm(args: string, what: string): string[] {
  const parsed: unknown = JSON.parse(args);
  assert.ok(Array.isArray(parsed) && parsed.every((part) => typeof part === 'string'), `${what} uses the exec (JSON) form`);
  return parsed as string[];
}

function envInstructionValues(stage: Stage): Map<string, string> {
  const values = new Map<string, string>();
  for (const instruction of stage.instructions.filter((item) => item.keyword === 'ENV')) {
    for (const pair of instruction.args.split(/\s+/)) {
      const equals = pair.indexOf('=');
      if (equals > 0) values.set(pair.slice(0, equals), pair.slice(equals + 1));
    }
  }
  return values;
}

const DOCKERFILE = dockerfileStages(dockerfileInstructions(readProjectFile('Dockerfile')));

function finalStage(): Stage {
  const stage = DOCKERFILE.stages.at(-1);
  assert.ok(stage, 'the Dockerfile has a stage');
  return stage;
}

function healthcheckCommand(): string[] {
  const healthcheck = finalStage().instructions.find((instruction) => instruction.keyword === 'HEALTHCHECK');
  assert.ok(healthcheck, 'the final stage has a HEALTHCHECK');
  const cmd = /(?:^|\s)CMD\s+([\s\S]*)$/.exec(healthcheck.args);
  assert.ok(cmd?.[1], 'HEALTHCHECK runs a command');
  return execForm(cmd[1], 'HEALTHCHECK CMD');
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
  const server: Server = createServer((request, response) => {
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

// ---------------------------------------------------------------- tests

describe('docker-compose.yml', () => {
  it('defines every service of the production shape, each with a pinned image or a build', () => {
    const { doc } = compose();
    const all = services(doc);
    for (const name of REQUIRED_SERVICES) assert.ok(all[name], `service ${name} exists`);
    for (const [name, svc] of Object.entries(all)) {
      if (svc.build !== undefined) continue;
      assertPinned(text(svc.image, `${name}.image`), name);
    }
    for (const name of ['worker', 'migrate']) {
      const svc = service(doc, name);
      const context = isDict(svc.build) ? svc.build.context : svc.build;
      assert.equal(context, '.', `${name} is built from this project's Dockerfile`);
    }
    assert.equal(service(doc, 'worker').image, service(doc, 'migrate').image, 'migrate runs the worker image');
    assert.deepEqual(service(doc, 'worker').command, ['worker']);
    assert.deepEqual(service(doc, 'migrate').command, ['migrate']);

    const temporal = imageReference(text(service(doc, 'temporal').image, 'temporal.image'));
    assert.equal(temporal.repository, 'temporalio/server', 'the server image, not the deprecated auto-setup');
    for (const job of ['temporal-init', ...Object.keys(all).filter((name) => imageReference(String(all[name]?.image ?? '')).repository === 'temporalio/admin-tools')]) {
      const tools = imageReference(text(service(doc, job).image, `${job}.image`));
      assert.equal(tools.repository, 'temporalio/admin-tools', `${job} uses the admin tools`);
      assert.equal(tools.tag, temporal.tag, `${job}'s admin tools match the server version`);
    }
    assert.equal(imageReference(text(service(doc, 'temporal-ui').image, 'temporal-ui.image')).repository, 'temporalio/ui');
    for (const name of ['temporal-postgresql', 'event-store']) {
      assert.equal(imageReference(text(service(doc, name).image, `${name}.image`)).repository, 'postgres', `${name} is PostgreSQL`);
    }
  });

  it('wires dependencies as an acyclic graph of existing services, with conditions that can be met', () => {
    const { doc } = compose();
    const all = services(doc);
    const finalHealthcheck = finalStage().instructions.some((instruction) => instruction.keyword === 'HEALTHCHECK');
    const jobs = new Set(Object.entries(all).filter(([, svc]) => svc.restart === 'no').map(([name]) => name));
    for (const job of ['migrate', 'temporal-init']) assert.ok(jobs.has(job), `${job} runs once (restart: "no")`);
    const healthy = (name: string) => {
      const svc = all[name];
      return svc !== undefined && (hasHealthcheck(svc) || (svc.build !== undefined && svc.healthcheck === undefined && finalHealthcheck));
    };

    for (const [name, svc] of Object.entries(all)) {
      for (const [target, condition] of dependencies(svc)) {
        assert.ok(all[target], `${name} depends on ${target}, which exists`);
        if (jobs.has(target)) {
          assert.equal(condition, 'service_completed_successfully', `${name} waits for the one-off ${target} to succeed`);
        } else if (healthy(target)) {
          assert.equal(condition, 'service_healthy', `${name} waits for ${target} to be healthy`);
        } else {
          assert.equal(condition, 'service_started', `${name} can only wait for ${target} to start (it has no health check)`);
        }
      }
    }

    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (name: string, path: readonly string[]): void => {
      if (state.get(name) === 'done') return;
      assert.notEqual(state.get(name), 'visiting', `depends_on has a cycle: ${[...path, name].join(' -> ')}`);
      state.set(name, 'visiting');
      for (const target of dependencies(all[name] ?? {}).keys()) visit(target, [...path, name]);
      state.set(name, 'done');
    };
    for (const name of Object.keys(all)) visit(name, []);

    const expected: ReadonlyArray<readonly [string, string, string]> = [
      ['temporal', 'temporal-postgresql', 'service_healthy'],
      ['temporal-init', 'temporal', 'service_healthy'],
      ['temporal-ui', 'temporal', 'service_healthy'],
      ['migrate', 'event-store', 'service_healthy'],
      ['worker', 'event-store', 'service_healthy'],
      ['worker', 'migrate', 'service_completed_successfully'],
      ['worker', 'temporal', 'service_healthy'],
      ['worker', 'temporal-init', 'service_completed_successfully'],
    ];
    for (const [from, to, condition] of expected) {
      assert.equal(dependencies(service(doc, from)).get(to), condition, `${from} depends on ${to} (${condition})`);
    }
  });

  it('gives the worker every variable the code reads, except local-only ones, with the code defaults', () => {
    const names = new Set(ENVIRONMENT_VARIABLES.map((entry) => entry.name));
    for (const name of Object.keys(LOCAL_ONLY_VARIABLES)) assert.ok(names.has(name), `${name} (left out as local-only) is still a variable the code reads`);

    const raw = environment(service(dict(RAW_COMPOSE, 'docker-compose.yml'), 'worker'));
    for (const key of raw.keys()) {
      assert.ok(names.has(key) || SECRET_EXAMPLE_VARIABLES.includes(key), `worker variable ${key} is read by the code (ENVIRONMENT_VARIABLES) or is a secret example`);
      assert.ok(!(key in LOCAL_ONLY_VARIABLES), `${key} is local-only: ${LOCAL_ONLY_VARIABLES[key]}`);
    }
    for (const entry of ENVIRONMENT_VARIABLES) {
      if (entry.name in LOCAL_ONLY_VARIABLES) continue;
      const value = raw.get(entry.name);
      assert.ok(value !== undefined, `the worker sets ${entry.name} (${entry.meaning})`);
      if (COMPOSE_WIRED_VARIABLES.includes(entry.name)) continue;
      const overridable = /^\$\{([A-Za-z_][A-Za-z0-9_]*):-(.*)\}$/.exec(value);
      assert.ok(overridable, `${entry.name} is written as \${${entry.name}:-default} so .env can override it`);
      assert.equal(overridable[1], entry.name, `${entry.name} is overridden by a variable of its own name`);
      assert.equal(overridable[2], entry.default, `${entry.name}'s default is the code's (${entry.default})`);
    }
    for (const example of SECRET_EXAMPLE_VARIABLES) assert.ok(raw.has(example), `the worker has the secret example ${example}`);

    // The values, as the worker receives them, pass the code's own checks.
    const env = Object.fromEntries(environment(service(compose().doc, 'worker')));
    const config = parseWorkerConfig(env);
    assert.equal(config.temporal.address, 'temporal:7233');
    assert.equal(config.temporal.tls, false);
    assert.equal(config.workDir, '/var/lib/twoway/work');
    assert.equal(config.metricsAddress, '0.0.0.0:9464');
    assert.deepEqual(config.policy, DEFAULT_RUN_POLICY);
    assert.deepEqual(parseScheduleTime(env), parseScheduleTime({}));
  });

  it('points the worker at the bundled Temporal server and event store', () => {
    for (const env of [{}, { EVENT_STORE_PASSWORD: 'changed-in-env', TEMPORAL_NAMESPACE: 'reports', TEMPORAL_DB_PASSWORD: 'other' }]) {
      const { doc } = compose(env);
      const worker = service(doc, 'worker');

      const [host, port] = variable(worker, 'TEMPORAL_ADDRESS').split(':');
      assert.equal(host, 'temporal', 'TEMPORAL_ADDRESS names the temporal service');
      const temporal = service(doc, 'temporal');
      const frontendPort = Number(environment(temporal).get('FRONTEND_GRPC_PORT') ?? 7233);
      assert.equal(Number(port), frontendPort, "TEMPORAL_ADDRESS uses the server's frontend port");
      assert.ok(containerPorts(temporal).includes(frontendPort), 'the temporal service exposes its frontend port');
      assert.ok(JSON.stringify(dict(temporal.healthcheck, 'temporal.healthcheck').test).includes(String(frontendPort)), "temporal's health check probes the frontend port");
      for (const name of ['temporal-init', 'temporal-ui']) {
        assert.equal(variable(service(doc, name), 'TEMPORAL_ADDRESS'), variable(worker, 'TEMPORAL_ADDRESS'), `${name} talks to the same server`);
      }
      const namespace = variable(worker, 'TEMPORAL_NAMESPACE');
      assert.equal(namespace, env.TEMPORAL_NAMESPACE ?? 'default');
      assert.equal(variable(service(doc, 'temporal-init'), 'TEMPORAL_NAMESPACE'), namespace, 'temporal-init prepares the namespace the worker uses');
      assert.equal(variable(service(doc, 'temporal-ui'), 'TEMPORAL_DEFAULT_NAMESPACE'), namespace, 'the UI opens on that namespace');

      // Temporal's persistence is its own PostgreSQL.
      const temporalDb = environment(service(doc, 'temporal-postgresql'));
      const temporalEnv = environment(temporal);
      assert.equal(temporalEnv.get('DB'), 'postgres12');
      assert.equal(temporalEnv.get('POSTGRES_SEEDS'), 'temporal-postgresql');
      assert.equal(temporalEnv.get('POSTGRES_USER'), temporalDb.get('POSTGRES_USER'));
      assert.equal(temporalEnv.get('POSTGRES_PWD'), temporalDb.get('POSTGRES_PASSWORD'));
      const schema = service(doc, 'temporal-schema');
      assert.equal(variable(schema, 'SQL_PASSWORD'), temporalDb.get('POSTGRES_PASSWORD'));
      assert.match(commandScript(schema), /--ep temporal-postgresql\b/);
      assert.match(commandScript(schema), new RegExp(`-u ${temporalDb.get('POSTGRES_USER') ?? '?'}\\b`));

      // DATABASE_URL reaches the event-store service with its credentials.
      const url = new URL(variable(worker, 'DATABASE_URL'));
      const store = environment(service(doc, 'event-store'));
      assert.match(url.protocol, /^postgres(ql)?:$/);
      assert.equal(url.hostname, 'event-store');
      assert.ok(url.port === '' || url.port === '5432', 'the default PostgreSQL port');
      assert.equal(decodeURIComponent(url.username), store.get('POSTGRES_USER'));
      assert.equal(decodeURIComponent(url.password), store.get('POSTGRES_PASSWORD'));
      assert.equal(url.pathname.slice(1), store.get('POSTGRES_DB') ?? store.get('POSTGRES_USER'));
      assert.equal(variable(service(doc, 'migrate'), 'DATABASE_URL'), variable(worker, 'DATABASE_URL'), 'migrate and the worker use the same database');
    }
  });

  it('creates exactly the project search attributes, as Keyword, on the worker namespace, idempotently', () => {
    const { doc } = compose();
    const init = service(doc, 'temporal-init');
    const script = commandScript(init);
    const created = [...script.matchAll(/^\s*(?:retry\s+)?ensure_search_attribute\s+(\S+)\s+(\S+)\s*$/gm)].map((match) => `${match[1]}:${match[2]}`).sort();
    const expected = SEARCH_ATTRIBUTE_KEYS.map((key) => `${key.name}:${CLI_ATTRIBUTE_TYPES[key.type] ?? key.type}`).sort();
    assert.deepEqual(created, expected);
    for (const entry of expected) assert.ok(entry.endsWith(':Keyword'), `${entry} is a Keyword attribute`);

    const body = /ensure_search_attribute\(\)\s*\{([\s\S]*?)\n\s*\}/.exec(script)?.[1];
    assert.ok(body, 'temporal-init defines ensure_search_attribute');
    assert.match(body, /temporal operator search-attribute list --namespace "\$TEMPORAL_NAMESPACE"[^\n]*grep -qw "\$1"/, 'it looks for the attribute first (idempotent)');
    assert.match(body, /temporal operator search-attribute create --namespace "\$TEMPORAL_NAMESPACE" --name "\$1" --type "\$2"/, 'it creates a missing one');
    assert.match(script, /temporal operator namespace create --namespace "\$TEMPORAL_NAMESPACE"/, 'it creates a missing namespace');
    assert.match(script, /retry temporal operator cluster health/, 'it waits until the server answers');
  });

  it('runs scripts that are valid shell after interpolation', () => {
    const { doc } = compose();
    const scripted = Object.entries(services(doc)).filter(([, svc]) => Array.isArray(svc.entrypoint) && svc.entrypoint[0] === '/bin/sh');
    assert.ok(scripted.some(([name]) => name === 'temporal-init'), 'temporal-init runs a shell script');
    for (const [name, svc] of scripted) {
      const result = spawnSync('sh', ['-n', '-c', commandScript(svc)], { encoding: 'utf8' });
      assert.equal(result.status, 0, `${name}'s script parses: ${result.stderr}`);
    }
  });

  it('leaves only the SFTP demo password without a default', () => {
    const { uses } = compose();
    const withoutDefault = new Set(uses.filter((use) => use.operator === null || use.operator.includes('?')).map((use) => use.name));
    assert.deepEqual([...withoutDefault], ['DEMO_SFTP_PASSWORD'], 'any other bare $NAME is an unescaped shell variable (write $$NAME)');
    assert.ok(uses.filter((use) => use.name === 'DEMO_SFTP_PASSWORD').every((use) => use.operator === ':?'), 'compose stops with a message when it is missing');
    assert.throws(() => compose({ DEMO_SFTP_PASSWORD: '' }), /DEMO_SFTP_PASSWORD/);
  });

  it('runs the worker as a scalable service that shuts down gracefully, with a work volume and example secrets', () => {
    const { doc } = compose();
    const worker = service(doc, 'worker');
    assert.equal(worker.container_name, undefined, 'no container_name: it would stop `--scale worker=N`');
    assert.ok(ports(worker).every((port) => port.published === null), 'no fixed host port: replicas would collide');
    const metricsPort = Number(variable(worker, 'TWOWAY_METRICS_ADDRESS').split(':').at(-1));
    assert.ok(containerPorts(worker).includes(metricsPort), 'the metrics port is exposed to the network');
    assert.ok(durationSeconds(text(worker.stop_grace_period, 'stop_grace_period')) > 60, "stop_grace_period exceeds the worker's 60 s graceful shutdown");
    const replicas = isDict(worker.deploy) ? worker.deploy.replicas : undefined;
    assert.ok(replicas === undefined || (typeof replicas === 'number' && replicas >= 1), 'deploy.replicas is a count');

    const workDir = variable(worker, 'TWOWAY_WORK_DIR');
    const workMount = mounts(worker).find((mount) => mount.target === workDir);
    assert.ok(workMount, 'TWOWAY_WORK_DIR is a volume');
    assert.equal(workMount.source, null, 'each replica has its own (anonymous) work volume: a file is delivered by the replica that built it');

    const secrets = dict(doc.secrets, 'secrets');
    const used: Dict[] = (Array.isArray(worker.secrets) ? worker.secrets : []).map((entry: unknown) => (isDict(entry) ? entry : { source: entry }));
    assert.ok(used.length > 0, 'the worker has an example secret file');
    for (const entry of used) {
      const name = text(entry.source, 'secret source');
      const definition = dict(secrets[name], `secret ${name}`);
      assert.ok(typeof definition.file === 'string' || typeof definition.environment === 'string', `secret ${name} comes from a file or a variable`);
      const target = typeof entry.target === 'string' ? entry.target : name;
      assert.ok(!target.startsWith('/') || target.startsWith('/run/secrets/'), `secret ${name} is mounted under /run/secrets`);
    }
  });

  it('offers an SFTP server with the demo user, its inbound folder and stable host keys', () => {
    const { doc } = compose({ DEMO_SFTP_PASSWORD: 'p4ss-word' });
    const sftp = service(doc, 'sftp');
    const users = variable(sftp, 'SFTP_USERS').split(' ');
    const demo = users.find((user) => user.startsWith('demo:'));
    assert.ok(demo, 'user demo exists');
    const [, password, uid, , folders] = demo.split(':');
    assert.equal(password, variable(service(doc, 'worker'), 'DEMO_SFTP_PASSWORD'), "the worker's example secret is the demo user's password");
    assert.match(uid ?? '', /^\d+$/, 'the demo user has a fixed uid');
    assert.ok((folders ?? '').split(',').includes('inbound/twoway'), 'the user has an /inbound/twoway folder');
    assert.ok(ports(sftp).some((port) => port.published === '2222' && port.target === 22), 'published as 2222:22');
    const keys = mounts(sftp).find((mount) => mount.target === '/etc/ssh');
    assert.ok(keys && isNamedVolume(keys.source), 'host keys live in a named volume, so the pinned fingerprint survives');
  });

  it('publishes the Temporal UI on 8080', () => {
    const { doc } = compose();
    assert.ok(ports(service(doc, 'temporal-ui')).some((port) => port.published === '8080' && port.target === 8080));
  });

  it('keeps data in declared named volumes, PostgreSQL data where each major version keeps it, on one network', () => {
    const { doc } = compose();
    const declaredVolumes = new Set(Object.keys(dict(doc.volumes, 'volumes')));
    const networks = Object.keys(dict(doc.networks, 'networks'));
    assert.equal(networks.length, 1, 'one network');
    for (const [name, svc] of Object.entries(services(doc))) {
      for (const mount of mounts(svc)) {
        if (isNamedVolume(mount.source)) assert.ok(declaredVolumes.has(mount.source), `${name} uses declared volume ${mount.source}`);
      }
      assert.deepEqual(svc.networks, networks, `${name} is on the project network`);
      const image = imageReference(String(svc.image ?? ''));
      if (image.repository !== 'postgres') continue;
      const major = Number.parseInt(image.tag ?? '', 10);
      const dataDir = major >= 18 ? '/var/lib/postgresql' : '/var/lib/postgresql/data';
      const data = mounts(svc).find((mount) => mount.target === dataDir);
      assert.ok(data && isNamedVolume(data.source), `${name} (PostgreSQL ${major}) keeps ${dataDir} in a named volume`);
      assert.ok(hasHealthcheck(svc), `${name} has a health check`);
    }
  });
});

describe('Dockerfile', () => {
  it('builds in stages from pinned bases and never runs the developer set-up', () => {
    const { stages } = DOCKERFILE;
    assert.ok(stages.length >= 2, 'a build stage and a runtime stage');
    for (const stage of stages) assertPinned(stage.base, `FROM ${stage.name ?? ''}`);
    const all = stages.flatMap((stage) => stage.instructions);
    for (const instruction of all) {
      assert.doesNotMatch(instruction.args, /npm run setup|setup\.mjs|npm run demo|npm test/, `${instruction.keyword} must not run the developer set-up`);
    }

    const final = finalStage();
    const copies = final.instructions.filter((instruction) => instruction.keyword === 'COPY' && /--from=/.test(instruction.args));
    const buildName = /--from=(\S+)/.exec(copies[0]?.args ?? '')?.[1];
    const build = stages.find((stage) => stage.name === buildName && stage !== final);
    assert.ok(build, 'the runtime stage copies from an earlier build stage');
    const buildRuns = build.instructions.filter((instruction) => instruction.keyword === 'RUN').map((instruction) => instruction.args).join('\n');
    for (const step of ['npm ci', 'tsc -p tsconfig.json', 'node dist/src/workflows/bundle.js', 'npm prune --omit=dev']) {
      assert.ok(buildRuns.includes(step), `the build stage runs ${step}`);
    }
    const copied = new Set(copies.flatMap((instruction) => instruction.args.split(/\s+/).filter((word) => !word.startsWith('--')).slice(0, -1)).map((path) => path.replace(/\/$/, '').split('/').at(-1)));
    for (const part of ['package.json', 'node_modules', 'bin', 'dist']) assert.ok(copied.has(part), `the runtime stage copies ${part}`);
    assert.ok(!final.instructions.some((instruction) => instruction.keyword === 'RUN' && /\bnpm\b/.test(instruction.args)), 'the runtime stage installs nothing');
  });

  it('runs the CLI as a non-root user, the worker by default, with its work directory and metrics port', () => {
    const final = finalStage();
    const user = final.instructions.filter((instruction) => instruction.keyword === 'USER').at(-1);
    assert.ok(user, 'the final stage sets USER');
    assert.ok(!['root', '0', ''].includes(user.args.split(':')[0]?.trim() ?? ''), `USER ${user.args} is not root`);
    const entrypoint = final.instructions.find((instruction) => instruction.keyword === 'ENTRYPOINT');
    assert.ok(entrypoint, 'the final stage has an ENTRYPOINT');
    assert.deepEqual(execForm(entrypoint.args, 'ENTRYPOINT'), ['node', 'bin/twoway-report.js']);
    const cmd = final.instructions.find((instruction) => instruction.keyword === 'CMD');
    assert.deepEqual(execForm(cmd?.args ?? 'null', 'CMD'), ['worker']);

    const env = envInstructionValues(final);
    assert.equal(env.get('NODE_ENV'), 'production');
    const worker = service(compose().doc, 'worker');
    const workDir = variable(worker, 'TWOWAY_WORK_DIR');
    assert.equal(env.get('TWOWAY_WORK_DIR'), workDir, 'the image and the compose worker agree on the work directory');
    assert.ok(final.instructions.some((instruction) => instruction.keyword === 'RUN' && instruction.args.includes('chown') && instruction.args.includes(workDir)), 'the work directory belongs to the runtime user');
    const metricsPort = variable(worker, 'TWOWAY_METRICS_ADDRESS').split(':').at(-1);
    assert.ok(final.instructions.some((instruction) => instruction.keyword === 'EXPOSE' && instruction.args.split(/\s+/).includes(metricsPort ?? '')), `EXPOSE ${metricsPort}`);
  });

  it('has a health check that passes only while /metrics answers', async () => {
    assert.equal(await withMetricsServer(200, (port) => runHealthcheck(`0.0.0.0:${port}`)), 0, 'healthy when /metrics answers 200');
    assert.notEqual(await withMetricsServer(500, (port) => runHealthcheck(`127.0.0.1:${port}`)), 0, 'unhealthy when /metrics fails');
    assert.notEqual(await runHealthcheck(`127.0.0.1:${await freePort()}`), 0, 'unhealthy when nothing listens');
  });
});

describe('.dockerignore', () => {
  it('keeps local installs, builds, state and tools out of the build context', () => {
    const patterns = new Set(
      readProjectFile('.dockerignore')
        .split(/\r?\n/)
        .map((line) => line.trim())
        .filter((line) => line !== '' && !line.startsWith('#'))
        .map((line) => line.replace(/^\*\*\//, '').replace(/^\//, '').replace(/\/$/, '')),
    );
    for (const entry of ['node_modules', 'dist', '.data', '.tools', '.git']) assert.ok(patterns.has(entry), `.dockerignore excludes ${entry}`);
  });
});
