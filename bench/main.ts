/**
 * `npm run bench`: the speed and memory targets of the report build and the delivery,
 * each shown as a ratio against a baseline measured in the same run on the same machine.
 * Exit status 0 even when a target is missed (it is a measurement); 1 when the benchmark
 * itself failed (a row count or checksum that does not match, a crash); 2 for bad usage.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchUsageError, parseBenchArgs, USAGE, type BenchOptions, type Section } from './args.js';
import { startBenchDatabase, type BenchDatabase } from './database.js';
import { heading, line, table } from './format.js';
import { describeMachine } from './machine.js';
import { seedMonth } from './month-seed.js';
import { BenchFailure, type TargetResult } from './outcome.js';
import { measureMonth, reportMemory, reportRender, type MonthMeasurements } from './render-bench.js';
import { benchPgp } from './pgp-bench.js';
import { benchSftp } from './sftp-bench.js';
import { benchSftpWan } from './sftp-wan-bench.js';
import { benchSharedTable } from './shared-table-bench.js';
import { benchDrift } from './drift-bench.js';
import { benchStatusPage } from './status-page-bench.js';
import { benchTemporal } from './temporal-bench.js';

const MONTH_EVENTS = 1_000_000;
const LARGE_MONTH_EVENTS = 5_000_000;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
const EXIT_INTERRUPTED = 130;

/** The 1M month always, the 5M one with --large. */
function monthsToSeed(options: BenchOptions): { label: string; events: number }[] {
  return [{ label: '1M', events: MONTH_EVENTS }, ...(options.large ? [{ label: '5M', events: LARGE_MONTH_EVENTS }] : [])];
}

function describeOptions(options: BenchOptions): string {
  return `sections: ${[...options.sections].join(', ')}; ${options.runs} measured run(s) per figure after one warm-up; ${options.large ? '1M and 5M' : '1M'} month; SFTP file ${options.sftpMb} MiB; WAN file ${options.wanMb} MiB; PGP file ${options.pgpMb} MiB; ${options.clients} daily clients with ${options.workerCounts.join(' and ')} worker process(es)`;
}

async function renderAndMemory(options: BenchOptions, database: BenchDatabase, workDir: string): Promise<TargetResult[]> {
  const withCopy = options.sections.has('render');
  heading('seeding');
  const months = [];
  for (const month of monthsToSeed(options)) months.push(await seedMonth(database.knex, month.label, month.events));
  heading(withCopy ? 'render vs COPY runs (alternating)' : 'render runs (memory only)');
  const measured: MonthMeasurements[] = [];
  for (const month of months) measured.push(await measureMonth({ databaseUrl: database.url, workDir }, month, options.runs, withCopy));
  const results = withCopy ? measured.map(reportRender) : [];
  if (options.sections.has('memory')) results.push(...reportMemory(measured));
  return results;
}

function printSummary(results: readonly TargetResult[]): void {
  heading('summary');
  line(
    table(
      ['measurement', 'measured', 'target', 'result'],
      results.map((result) => [result.name, result.measured, result.target, result.note ? `${result.verdict} (${result.note})` : result.verdict]),
    ),
  );
  const missed = results.filter((result) => result.verdict === 'MISS');
  line(
    missed.length === 0
      ? '\nevery target met'
      : `\ntargets missed: ${missed.map((result) => result.name).join('; ')} (see BENCHMARKS.md for the cause and the plan)`,
  );
}

async function run(options: BenchOptions): Promise<void> {
  const workDir = await mkdtemp(join(tmpdir(), 'twoway-bench-'));
  const needsDatabase = ['render', 'memory', 'temporal', 'ui', 'drift'].some((section) => options.sections.has(section as Section));
  let database: BenchDatabase | null = null;
  // Ctrl-C still removes the database, the sshd user and the temporary files.
  const interrupted = () => void cleanUp().finally(() => process.exit(EXIT_INTERRUPTED));
  const removeOnExit = () => rmSync(workDir, { recursive: true, force: true });
  const cleanUp = async () => {
    process.removeListener('SIGINT', interrupted);
    await database?.stop().catch(() => undefined);
    database = null;
    await rm(workDir, { recursive: true, force: true });
    process.removeListener('exit', removeOnExit);
  };
  process.once('SIGINT', interrupted);
  process.once('exit', removeOnExit);
  try {
    if (needsDatabase) database = await startBenchDatabase();
    heading('machine');
    for (const entry of describeMachine(database?.version ?? null)) line(entry);
    line(describeOptions(options));
    const results: TargetResult[] = [];
    if (database && (options.sections.has('render') || options.sections.has('memory'))) results.push(...(await renderAndMemory(options, database, workDir)));
    if (options.sections.has('sftp')) results.push(await benchSftp({ workDir, fileMib: options.sftpMb, runs: options.runs }));
    if (options.sections.has('wan')) results.push(...(await benchSftpWan({ workDir, fileMib: options.wanMb, runs: options.runs })));
    if (database && options.sections.has('temporal')) {
      results.push(
        ...(await benchTemporal({
          workDir,
          knex: database.knex,
          databaseUrl: database.url,
          clients: options.clients,
          runs: options.runs,
          workerCounts: options.workerCounts,
        })),
      );
    }
    if (database && options.sections.has('ui')) results.push(await benchStatusPage({ knex: database.knex, runs: options.runs }));
    if (options.sections.has('pgp')) results.push(...(await benchPgp({ workDir, fileMib: options.pgpMb, runs: options.runs })));
    if (options.sections.has('shared')) results.push(...(await benchSharedTable({ workDir, runs: options.runs })));
    if (database && options.sections.has('drift'))
      results.push(await benchDrift({ knex: database.knex, databaseUrl: database.url, workDir, runs: options.runs }));
    printSummary(results);
  } finally {
    await cleanUp();
  }
}

async function main(): Promise<void> {
  let options: BenchOptions;
  try {
    options = parseBenchArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof BenchUsageError)) throw error;
    console.error(`bench: ${error.message}\n${USAGE}`);
    process.exitCode = EXIT_USAGE;
    return;
  }
  try {
    await run(options);
  } catch (error) {
    const kind = error instanceof BenchFailure ? 'benchmark failed' : 'benchmark crashed';
    console.error(`\nbench: ${kind}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = EXIT_FAILED;
  }
}

await main();
