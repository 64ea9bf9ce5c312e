#!/usr/bin/env node
// The whole suite, as CI runs it: lint, formatting and dependency checks, then every compiled test file under node's test
// runner against real services. PostgreSQL is started here once (unless DATABASE_URL points
// at a server); each test file creates its own database on it. Temporal dev servers and
// sshd are started by the tests that need them.
// Ends with a plain `N passed, N failed` line.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TEST_DIR = join(ROOT, 'dist', 'test');
// Files run in parallel processes; two fit the 2-core machines CI and the demo run on.
const TEST_CONCURRENCY = Number(process.env.TWOWAY_TEST_CONCURRENCY ?? 2);
// Node's --test-timeout. With files in processes of their own, Node 20 applies it to each file
// as a whole (the runner cancels and kills a file that takes longer) and to each test in it, so
// it must fit the slowest file on a busy 2-core machine; a hung file fails instead of waiting forever.
const TEST_FILE_TIMEOUT_MS = 10 * 60 * 1000;
const filter = process.argv.slice(2);

function findTests(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return findTests(path);
    return entry.name.endsWith('.test.js') ? [path] : [];
  });
}

// Static checks first, each a failure of its own: lint, formatting (prettier), and declared
// dependencies (knip: nothing unused, nothing imported that package.json does not declare).
const CHECKS = [
  ['lint', join(ROOT, 'node_modules', 'eslint', 'bin', 'eslint.js'), ['--max-warnings=0', '.']],
  ['format', join(ROOT, 'node_modules', 'prettier', 'bin', 'prettier.cjs'), ['--check', '--log-level=warn', '.']],
  ['dependencies', join(ROOT, 'node_modules', 'knip', 'bin', 'knip.js'), ['--no-progress']],
];
const failedChecks = CHECKS.filter(([, script, args]) => spawnSync(process.execPath, [script, ...args], { cwd: ROOT, stdio: 'inherit' }).status !== 0).map(
  ([name]) => name,
);
if (failedChecks.length > 0) {
  console.log(`${failedChecks.join(', ')} failed (npm run format fixes formatting)`);
  console.log(`0 passed, ${failedChecks.length} failed`);
  process.exit(1);
}

const files = findTests(TEST_DIR)
  .filter((file) => filter.length === 0 || filter.some((part) => file.includes(part)))
  .sort();
if (files.length === 0) {
  console.log(`no test files under ${relative(ROOT, TEST_DIR)}${filter.length ? ` matching ${filter.join(', ')}` : ''}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const { startEmbeddedPostgres } = await import(join(ROOT, 'dist', 'src', 'db', 'embedded.js'));
const { freePort } = await import(join(ROOT, 'dist', 'src', 'devstack', 'ports.js'));
let postgres;
let pgDir;
if (!process.env.DATABASE_URL) {
  pgDir = mkdtempSync(join(tmpdir(), 'twoway-tests-pg-'));
  postgres = await startEmbeddedPostgres({ dataDir: pgDir, port: await freePort() });
}

const tapFile = join(mkdtempSync(join(tmpdir(), 'twoway-tests-')), 'results.tap');
const child = spawn(
  process.execPath,
  [
    '--test',
    `--test-concurrency=${TEST_CONCURRENCY}`,
    `--test-timeout=${TEST_FILE_TIMEOUT_MS}`,
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tapFile}`,
    ...files.map((file) => relative(ROOT, file)),
  ],
  {
    cwd: ROOT,
    stdio: 'inherit',
    // A process group of its own: what a test file started (a Temporal server, sshd) outlives the
    // file when the runner kills it at its timeout, and is ended with the group below.
    detached: true,
    env: { ...process.env, ...(postgres ? { TWOWAY_TEST_ADMIN_URL: postgres.adminUrl } : {}) },
  },
);
const signalGroup = (signal) => {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already empty.
  }
};
// Ctrl-C reaches only this process now; pass it on, then clean up below as usual.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => signalGroup(signal));
const status = await new Promise((resolvePromise) => child.on('exit', (code, signal) => resolvePromise(code ?? (signal ? 1 : 0))));
signalGroup('SIGKILL');

if (postgres) await postgres.stop();
if (pgDir) rmSync(pgDir, { recursive: true, force: true });

const tap = readFileSync(tapFile, 'utf8');
const count = (name) => Number([...tap.matchAll(new RegExp(`^# ${name} (\\d+)$`, 'gm'))].at(-1)?.[1] ?? 0);
const passed = count('pass');
const failed = count('fail') + count('cancelled');
console.log(`${passed} passed, ${failed} failed`);
process.exit(status === 0 && failed === 0 ? 0 : 1);
