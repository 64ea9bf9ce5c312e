/**
 * The render and memory sections: the real `render` command against the baseline
 * `COPY (same query) TO STDOUT WITH CSV`, both as child processes timed from spawn to exit,
 * alternated run by run so that the page cache and the machine's other load treat them alike.
 * Every process measures its own peak RSS (max-rss-preload), so one render run gives both
 * its time and its memory.
 */
import { readFile, rm, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BYTES_PER_KIB, BYTES_PER_MB, count, heading, line, megabytes, megabytesPerSecond, perSecond, ratio, seconds, spread, table } from './format.js';
import type { SeededMonth } from './month-seed.js';
import { BenchFailure, verdict, type TargetResult } from './outcome.js';
import { runTimed } from './child-process.js';
import { spreadOf } from './stats.js';

/** render may take at most this many times as long as COPY hands the same rows over. */
export const RENDER_RATIO_TARGET = 1.2;
/** Peak RSS of the render process, at any period size. */
export const RENDER_RSS_TARGET_BYTES = 200 * BYTES_PER_MB;

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI_PATH = join(PROJECT_ROOT, 'bin', 'twoway-report.js');
const COPY_BASELINE_PATH = fileURLToPath(new URL('./copy-baseline.js', import.meta.url));
const MAX_RSS_PRELOAD_URL = pathToFileURL(fileURLToPath(new URL('./max-rss-preload.js', import.meta.url))).href;
/** What render prints on success: `<path>: <rows> rows, <bytes> bytes, sha256 <hex>`. */
const RENDER_OUTPUT = /: (\d+) rows, (\d+) bytes, sha256 ([0-9a-f]{64})\s*$/;

export interface ProcessSample {
  readonly seconds: number;
  /** Data rows (render: without the header; COPY: its row count). */
  readonly rows: number;
  readonly bytes: number;
  readonly maxRssBytes: number;
  /** render only: the file's sha256 (the same data must give the same bytes every run). */
  readonly sha256?: string;
}

export interface MonthMeasurements {
  readonly month: SeededMonth;
  readonly render: readonly ProcessSample[];
  /** Empty when only memory was asked for. */
  readonly copy: readonly ProcessSample[];
}

export interface RenderBenchContext {
  readonly databaseUrl: string;
  /** A scratch folder; each run's output is removed after it is measured. */
  readonly workDir: string;
}

async function readMaxRss(path: string): Promise<number> {
  const kib = Number((await readFile(path, 'utf8')).trim());
  if (!Number.isFinite(kib) || kib <= 0) throw new Error(`no peak RSS recorded in ${path}`);
  return kib * BYTES_PER_KIB;
}

/** Runs `node --import max-rss-preload <script> <args>` and returns its time, output and peak RSS. */
async function runMeasuredNode(context: RenderBenchContext, script: string, args: readonly string[], tag: string) {
  const rssFile = join(context.workDir, `${tag}.maxrss`);
  const env = { ...process.env, DATABASE_URL: context.databaseUrl, BENCH_MAX_RSS_FILE: rssFile };
  const run = await runTimed(process.execPath, ['--import', MAX_RSS_PRELOAD_URL, script, ...args], { env, cwd: PROJECT_ROOT });
  const maxRssBytes = await readMaxRss(rssFile);
  await rm(rssFile, { force: true });
  return { ...run, maxRssBytes };
}

/** `twoway-report render` of the month, end to end. */
export async function timeRender(context: RenderBenchContext, month: SeededMonth): Promise<ProcessSample> {
  const outDir = join(context.workDir, 'render');
  await mkdir(outDir, { recursive: true });
  const run = await runMeasuredNode(context, CLI_PATH, ['render', '--client', month.clientId, '--period', month.periodDate, '--out-dir', outDir], 'render');
  await rm(outDir, { recursive: true, force: true });
  const printed = RENDER_OUTPUT.exec(run.stdout.trim());
  if (!printed?.[1] || !printed[2] || !printed[3]) throw new BenchFailure(`render printed no row count: ${run.stdout.trim()}`);
  return { seconds: run.seconds, rows: Number(printed[1]), bytes: Number(printed[2]), sha256: printed[3], maxRssBytes: run.maxRssBytes };
}

/** The baseline: COPY of the same query to a file, by a process of its own. */
export async function timeCopy(context: RenderBenchContext, month: SeededMonth): Promise<ProcessSample> {
  const out = join(context.workDir, 'copy.csv');
  const args = [
    '--client',
    month.clientId,
    '--start',
    new Date(month.period.startInstant).toISOString(),
    '--end',
    new Date(month.period.endInstant).toISOString(),
    '--out',
    out,
  ];
  const run = await runMeasuredNode(context, COPY_BASELINE_PATH, args, 'copy');
  await rm(out, { force: true });
  const result = JSON.parse(run.stdout.trim()) as { rows: number; bytes: number };
  return { seconds: run.seconds, rows: result.rows, bytes: result.bytes, maxRssBytes: run.maxRssBytes };
}

function describeSample(kind: string, sample: ProcessSample): string {
  return `${kind.padEnd(6)} ${seconds(sample.seconds).padStart(8)}  ${count(sample.rows)} rows  ${megabytes(sample.bytes)}  peak RSS ${megabytes(sample.maxRssBytes)}`;
}

/** Both must hand over the same rows, and render must write the same bytes every time. */
function checkConsistent(month: SeededMonth, render: readonly ProcessSample[], copy: readonly ProcessSample[]): void {
  const rows = new Set([...render, ...copy].map((sample) => sample.rows));
  if (rows.size !== 1) throw new BenchFailure(`${month.label}: row counts differ between runs of render and COPY: ${[...rows].join(', ')}`);
  const digests = new Set(render.map((sample) => sample.sha256));
  if (digests.size !== 1) throw new BenchFailure(`${month.label}: render wrote different files from the same data: ${[...digests].join(', ')}`);
}

/**
 * One warm-up of each (not counted), then `runs` rounds of render, COPY, render, COPY…
 * With `withCopy` false (memory only), render alone.
 */
export async function measureMonth(context: RenderBenchContext, month: SeededMonth, runs: number, withCopy: boolean): Promise<MonthMeasurements> {
  line(`${month.label} month (${month.clientId}), warm-up:`);
  line(`  ${describeSample('render', await timeRender(context, month))}`);
  if (withCopy) line(`  ${describeSample('COPY', await timeCopy(context, month))}`);
  const render: ProcessSample[] = [];
  const copy: ProcessSample[] = [];
  for (let run = 1; run <= runs; run++) {
    const rendered = await timeRender(context, month);
    render.push(rendered);
    line(`  run ${run}: ${describeSample('render', rendered)}`);
    if (!withCopy) continue;
    const copied = await timeCopy(context, month);
    copy.push(copied);
    line(`  run ${run}: ${describeSample('COPY', copied)}`);
  }
  checkConsistent(month, render, copy);
  return { month, render, copy };
}

/** Prints the render-versus-COPY figures of one month; returns its summary line. */
export function reportRender(measured: MonthMeasurements): TargetResult {
  const { month, render, copy } = measured;
  const rows = render[0]?.rows ?? 0;
  const renderTime = spreadOf(render.map((sample) => sample.seconds));
  const copyTime = spreadOf(copy.map((sample) => sample.seconds));
  const renderBytes = render[0]?.bytes ?? 0;
  const copyBytes = copy[0]?.bytes ?? 0;
  heading(`render vs COPY, ${month.label} month: ${count(rows)} rows`);
  line(
    table(
      ['', 'seconds', 'rows/s (median)', 'MB/s (median)', 'file'],
      [
        [
          'render',
          spread(renderTime, seconds),
          perSecond(rows / renderTime.median),
          megabytesPerSecond(renderBytes / renderTime.median),
          `${megabytes(renderBytes)} (report CSV, header included)`,
        ],
        [
          'COPY',
          spread(copyTime, seconds),
          perSecond(rows / copyTime.median),
          megabytesPerSecond(copyBytes / copyTime.median),
          `${megabytes(copyBytes)} (PostgreSQL CSV, no header)`,
        ],
      ],
    ),
  );
  const measuredRatio = renderTime.median / copyTime.median;
  const pass = measuredRatio <= RENDER_RATIO_TARGET;
  line(`render / COPY (median over median): ${ratio(measuredRatio)}  target ≤ ${ratio(RENDER_RATIO_TARGET)}  ${verdict(pass)}`);
  // Other load on the machine only ever adds time: the pairs (run side by side) and the fastest runs show how much noise moved the medians.
  const pairs = spreadOf(render.map((sample, index) => sample.seconds / (copy[index]?.seconds ?? Number.NaN)));
  line(`  for judging noise: render / COPY of each adjacent pair ${spread(pairs, ratio)}; fastest over fastest ${ratio(renderTime.min / copyTime.min)}`);
  line(`rows checked: render printed ${count(rows)} data rows, COPY reported ${count(copy[0]?.rows ?? 0)}; render's sha256 identical in every run`);
  return {
    name: `render / COPY, ${month.label} month`,
    measured: `${ratio(measuredRatio)} (${seconds(renderTime.median)} / ${seconds(copyTime.median)})`,
    target: `≤ ${ratio(RENDER_RATIO_TARGET)}`,
    verdict: verdict(pass),
  };
}

/** Prints peak RSS of the render process per month (and its growth); returns the summary lines. */
export function reportMemory(measured: readonly MonthMeasurements[]): TargetResult[] {
  heading('peak RSS of the render process');
  const results: TargetResult[] = [];
  const medians: { label: string; rows: number; bytes: number }[] = [];
  const rowsOut: string[][] = [];
  for (const { month, render, copy } of measured) {
    const rss = spreadOf(render.map((sample) => sample.maxRssBytes));
    const copyRss = copy.length > 0 ? megabytes(spreadOf(copy.map((sample) => sample.maxRssBytes)).median) : '—';
    const pass = rss.max <= RENDER_RSS_TARGET_BYTES;
    rowsOut.push([month.label, count(render[0]?.rows ?? 0), spread(rss, megabytes), copyRss, verdict(pass)]);
    medians.push({ label: month.label, rows: render[0]?.rows ?? 0, bytes: rss.median });
    results.push({
      name: `render peak RSS, ${month.label} month`,
      measured: `max ${megabytes(rss.max)}, median ${megabytes(rss.median)}`,
      target: `≤ ${megabytes(RENDER_RSS_TARGET_BYTES)}`,
      verdict: verdict(pass),
    });
  }
  line(
    table(
      ['month', 'rows', 'render peak RSS (maxRSS)', 'COPY baseline process (median)', `≤ ${megabytes(RENDER_RSS_TARGET_BYTES)} (judged on the max)`],
      rowsOut,
    ),
  );
  const [small, large] = [medians[0], medians[medians.length - 1]];
  if (small && large && small !== large) {
    const growth = large.bytes - small.bytes;
    line(
      `growth ${small.label} → ${large.label} (${ratio(large.rows / small.rows)} the rows): ${growth >= 0 ? '+' : ''}${megabytes(growth)} (${ratio(large.bytes / small.bytes)} the memory)`,
    );
    results.push({
      name: `render RSS growth, ${small.label} → ${large.label}`,
      measured: `${growth >= 0 ? '+' : ''}${megabytes(growth)} (${ratio(large.bytes / small.bytes)})`,
      target: 'flat (no target figure)',
      verdict: 'INFO',
    });
  }
  return results;
}
