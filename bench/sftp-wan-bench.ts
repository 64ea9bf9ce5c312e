/**
 * The WAN section: the project's deliverFile against OpenSSH's `sftp`, both uploading the same
 * file to one loopback sshd through the same latency proxy (test/support/tcp-proxy.ts, run as a
 * process of its own by wan-proxy.ts), alternately and in alternating order, on three links:
 * 50 ms and 150 ms round trip, and 10 MB/s at 50 ms round trip. Each timing covers a whole
 * delivery (connect, log in, upload, and ours' size check and rename); every delivered file's
 * sha256 is checked against the local one. A 1 KiB delivery on each link shows the fixed cost
 * of the round trips a delivery makes before and after its bytes.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { sha256Hex } from '../src/delivery/remote-folder.js';
import { TARGET_WAN_MIN_MB } from './args.js';
import { BYTES_PER_KIB, BYTES_PER_MB, heading, line, megabytes, megabytesPerSecond, ratio, seconds, spread, table } from './format.js';
import { BenchFailure, verdict, type TargetResult } from './outcome.js';
import {
  bestOpenSshCipher,
  describeCpu,
  openSshVersion,
  startHarness,
  stopHarness,
  uploadOpenSsh,
  uploadOurs,
  type Harness,
  type Upload,
} from './sftp-bench.js';
import { spreadOf } from './stats.js';

/** Over a WAN our delivery must reach at least this share of OpenSSH's throughput. */
export const WAN_RATIO_TARGET = 0.9;
/** Through a capped link a delivery may take at most this multiple of size / bandwidth. */
export const CAPPED_TIME_TARGET = 1.05;
const WAN_PROXY_PATH = fileURLToPath(new URL('./wan-proxy.js', import.meta.url));
const SMALL_FILE_BYTES = BYTES_PER_KIB;
/** How often our process's RSS is sampled during our deliveries. */
const RSS_SAMPLE_MS = 100;

interface WanLink {
  readonly label: string;
  readonly roundTripMs: number;
  /** Each way; null: only the delay limits. */
  readonly bytesPerSecond: number | null;
}

const LINKS: readonly WanLink[] = [
  { label: '50 ms round trip', roundTripMs: 50, bytesPerSecond: null },
  { label: '150 ms round trip', roundTripMs: 150, bytesPerSecond: null },
  { label: '10 MB/s at 50 ms round trip', roundTripMs: 50, bytesPerSecond: 10 * BYTES_PER_MB },
];

export interface WanBenchOptions {
  readonly workDir: string;
  readonly fileMib: number;
  readonly runs: number;
}

interface WanProxy {
  readonly port: number;
  stop(): Promise<void>;
}

/** Starts wan-proxy.js in front of `targetPort` and waits for the port it listens on. */
async function startWanProxy(targetPort: number, link: WanLink): Promise<WanProxy> {
  const args = [WAN_PROXY_PATH, '--target-port', String(targetPort), '--delay-ms', String(link.roundTripMs / 2)];
  if (link.bytesPerSecond !== null) args.push('--bytes-per-second', String(link.bytesPerSecond));
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout });
  const listening = once(lines, 'line').then(([text]) => (JSON.parse(String(text)) as { port: number }).port);
  const port = await Promise.race([
    listening,
    exited.then(([code, signal]) => {
      throw new BenchFailure(`the WAN proxy exited (${String(signal ?? code)}) before it listened`);
    }),
  ]);
  lines.close();
  return {
    port,
    stop: async () => {
      child.stdin.end();
      await exited;
    },
  };
}

/** The same sshd and folder with a small file in place of the large one. */
async function smallFileHarness(harness: Harness): Promise<Harness> {
  const bytes = Buffer.alloc(SMALL_FILE_BYTES, 'small,csv,line\n');
  const localPath = join(harness.baseDir, 'small.csv');
  await writeFile(localPath, bytes);
  return { ...harness, localPath, bytes: bytes.length, sha256: sha256Hex(bytes) };
}

/** Our delivery, with the largest RSS of this process seen meanwhile. */
async function uploadOursSampled(harness: Harness, name: string, port: number): Promise<Upload & { peakRss: number }> {
  let peakRss = process.memoryUsage.rss();
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), RSS_SAMPLE_MS);
  try {
    const upload = await uploadOurs(harness, name, port);
    return { ...upload, peakRss: Math.max(peakRss, process.memoryUsage.rss()) };
  } finally {
    clearInterval(sampler);
  }
}

interface LinkRuns {
  readonly ours: Upload[];
  readonly theirs: Upload[];
  readonly oursSmall: number[];
  readonly theirsSmall: number[];
  readonly peakRss: number[];
}

async function measureLink(harness: Harness, small: Harness, link: WanLink, cipher: string, runs: number): Promise<LinkRuns> {
  const proxy = await startWanProxy(harness.server.port, link);
  const measured: LinkRuns = { ours: [], theirs: [], oursSmall: [], theirsSmall: [], peakRss: [] };
  try {
    for (let run = 1; run <= runs; run++) {
      const oursFirst = run % 2 === 1;
      const ours = async () => {
        const mine = await uploadOursSampled(harness, `wan-ours-${run}.csv`, proxy.port);
        measured.ours.push(mine);
        measured.peakRss.push(mine.peakRss);
        measured.oursSmall.push((await uploadOurs(small, `wan-ours-small-${run}.csv`, proxy.port)).seconds);
        line(
          `  run ${run}: deliverFile   ${seconds(mine.seconds).padStart(8)}  ${megabytesPerSecond(mine.bytesPerSecond)}  peak RSS ${megabytes(mine.peakRss)}  ${describeCpu(mine)}  sha256 verified; 1 KiB: ${seconds(measured.oursSmall.at(-1) ?? 0)}`,
        );
      };
      const theirs = async () => {
        const upload = await uploadOpenSsh(harness, `wan-openssh-${run}.csv`, cipher, proxy.port);
        measured.theirs.push(upload);
        measured.theirsSmall.push((await uploadOpenSsh(small, `wan-openssh-small-${run}.csv`, cipher, proxy.port)).seconds);
        line(
          `  run ${run}: OpenSSH sftp  ${seconds(upload.seconds).padStart(8)}  ${megabytesPerSecond(upload.bytesPerSecond)}  ${describeCpu(upload)}  sha256 verified; 1 KiB: ${seconds(measured.theirsSmall.at(-1) ?? 0)}`,
        );
      };
      for (const step of oursFirst ? [ours, theirs] : [theirs, ours]) await step();
    }
  } finally {
    await proxy.stop();
  }
  return measured;
}

function reportLink(link: WanLink, harness: Harness, measured: LinkRuns, quickTry: string | undefined): TargetResult {
  const oursRate = spreadOf(measured.ours.map((run) => run.bytesPerSecond));
  const theirRate = spreadOf(measured.theirs.map((run) => run.bytesPerSecond));
  line(
    table(
      ['', 'throughput', 'seconds', '1 KiB delivery'],
      [
        [
          'deliverFile (ssh2)',
          spread(oursRate, megabytesPerSecond),
          spread(spreadOf(measured.ours.map((run) => run.seconds)), seconds),
          spread(spreadOf(measured.oursSmall), seconds),
        ],
        [
          'OpenSSH sftp',
          spread(theirRate, megabytesPerSecond),
          spread(spreadOf(measured.theirs.map((run) => run.seconds)), seconds),
          spread(spreadOf(measured.theirsSmall), seconds),
        ],
      ],
    ),
  );
  const measuredRatio = oursRate.median / theirRate.median;
  const pairs = spreadOf(measured.ours.map((run, index) => run.bytesPerSecond / (measured.theirs[index]?.bytesPerSecond ?? Number.NaN)));
  // The bytes alone: each delivery less the 1 KiB delivery of the same round (connecting, logging in and the steps around the upload).
  const bytesAlone = (runs: readonly Upload[], small: readonly number[]) =>
    spreadOf(runs.map((run, index) => harness.bytes / Math.max(Number.EPSILON, run.seconds - (small[index] ?? 0))));
  const oursAlone = bytesAlone(measured.ours, measured.oursSmall);
  const theirAlone = bytesAlone(measured.theirs, measured.theirsSmall);
  line(
    `the bytes alone (each delivery less the 1 KiB one of its round): deliverFile ${spread(oursAlone, megabytesPerSecond)}, OpenSSH ${spread(theirAlone, megabytesPerSecond)}; ${ratio(oursAlone.median / theirAlone.median)}`,
  );
  line(`peak RSS of this process during deliverFile: ${spread(spreadOf(measured.peakRss), megabytes)}`);
  line(`ours / OpenSSH of each round ${spread(pairs, ratio)}`);
  const note = quickTry ? { note: quickTry } : {};
  if (link.bytesPerSecond === null) {
    const pass = measuredRatio >= WAN_RATIO_TARGET;
    line(`ours / OpenSSH (median over median): ${ratio(measuredRatio)}  target ≥ ${ratio(WAN_RATIO_TARGET)}  ${verdict(pass)}`);
    return {
      name: `SFTP over a WAN, ${link.label}, ours / OpenSSH, ${harness.bytes / (1024 * 1024)} MiB`,
      measured: `${ratio(measuredRatio)} (${megabytesPerSecond(oursRate.median)} / ${megabytesPerSecond(theirRate.median)})`,
      target: `≥ ${ratio(WAN_RATIO_TARGET)}`,
      verdict: verdict(pass),
      ...note,
    };
  }
  const ideal = harness.bytes / link.bytesPerSecond;
  const oursTime = spreadOf(measured.ours.map((run) => run.seconds)).median;
  const theirTime = spreadOf(measured.theirs.map((run) => run.seconds)).median;
  const pass = oursTime <= CAPPED_TIME_TARGET * ideal;
  line(
    `size / bandwidth ${seconds(ideal)}: deliverFile ${ratio(oursTime / ideal)}, OpenSSH ${ratio(theirTime / ideal)} (median)  target ≤ ${ratio(CAPPED_TIME_TARGET)}  ${verdict(pass)}`,
  );
  line(`ours / OpenSSH (median over median): ${ratio(measuredRatio)}`);
  return {
    name: `SFTP through ${link.label}, time / (size / bandwidth), ${harness.bytes / (1024 * 1024)} MiB`,
    measured: `${ratio(oursTime / ideal)} (${seconds(oursTime)} / ${seconds(ideal)}; OpenSSH ${ratio(theirTime / ideal)})`,
    target: `≤ ${ratio(CAPPED_TIME_TARGET)}`,
    verdict: verdict(pass),
    ...note,
  };
}

export async function benchSftpWan(options: WanBenchOptions): Promise<TargetResult[]> {
  heading(`SFTP delivery vs OpenSSH sftp over a WAN (latency proxy), ${options.fileMib} MiB file`);
  const quickTry = options.fileMib < TARGET_WAN_MIN_MB ? `quick try: ${options.fileMib} MiB file, below ${TARGET_WAN_MIN_MB}` : undefined;
  if (quickTry) line(`NOTE: --wan-mb ${options.fileMib} is below ${TARGET_WAN_MIN_MB}: a quick try, not a measurement of the target`);
  const harness = await startHarness(options, 'sftp-wan');
  try {
    const small = await smallFileHarness(harness);
    line(`sshd: ${openSshVersion()} on 127.0.0.1:${harness.server.port}`);
    line(
      'proxy: a node:net process of its own (bench/wan-proxy.ts); every chunk held for half the round trip each way, in order; a cap is a token bucket each way',
    );
    const cipher = await bestOpenSshCipher(harness);
    const results: TargetResult[] = [];
    for (const link of LINKS) {
      heading(`WAN: ${link.label}`);
      const measured = await measureLink(harness, small, link, cipher, options.runs);
      results.push(reportLink(link, harness, measured, quickTry));
    }
    return results;
  } finally {
    await stopHarness(harness);
  }
}
