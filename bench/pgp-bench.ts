/**
 * The PGP section: a large CSV encrypted and signed the way a delivery does it (a Node process
 * running delivery/pgp.ts and local-file.ts, with gpg as its child, one streamed pass) against
 * the baseline of `gpg` alone on the command line, encrypting the same file to the same keys
 * with the same options, alternated run by run. Both are timed from spawn to exit (ours
 * includes reading and checking the keys). Peak RSS: the Node process measures its own
 * (max-rss-preload); gpg's is its VmHWM, read from /proc while it runs. The first file of each
 * kind is decrypted and its signature verified, as a client does.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { GPG_COMMAND, stopGpgAgent } from '../src/delivery/pgp.js';
import { createGnupgHome, exportKey, generateKey, gpg, importKeyFile } from '../src/devstack/pgp-keys.js';
import { MS_PER_SECOND } from '../src/domain/time-zone.js';
import type { PgpSettings } from '../src/domain/types.js';
import { runTimed } from './child-process.js';
import { BYTES_PER_KIB, BYTES_PER_MB, BYTES_PER_MIB, heading, line, megabytes, megabytesPerSecond, ratio, seconds, spread, table } from './format.js';
import { BenchFailure, verdict, type TargetResult } from './outcome.js';
import { writeSampleFile } from './sample-file.js';
import { spreadOf } from './stats.js';

/** Our encryption must reach at least this share of gpg's own throughput on the same file. */
export const PGP_RATIO_TARGET = 0.8;
/** Peak RSS of the Node process and gpg together, whatever the file's size (a process that held the file would need more than the file). */
export const PGP_RSS_TARGET_BYTES = 200 * BYTES_PER_MB;
/** The file size: 1 GiB. */
export const TARGET_PGP_MIB = 1024;
const RSS_SAMPLE_INTERVAL_MS = 100;

const CHILD_SCRIPT = fileURLToPath(new URL('./pgp-encrypt-child.js', import.meta.url));
const MAX_RSS_PRELOAD_URL = pathToFileURL(fileURLToPath(new URL('./max-rss-preload.js', import.meta.url))).href;

export interface PgpBenchOptions {
  readonly workDir: string;
  readonly fileMib: number;
  readonly runs: number;
}

interface Encryption {
  readonly seconds: number;
  readonly bytesPerSecond: number;
  /** Peak RSS of our Node process; null for gpg alone. */
  readonly nodeRssBytes: number | null;
  readonly gpgRssBytes: number;
  readonly outputPath: string;
}

interface Harness {
  readonly dir: string;
  /** The key files our delivery reads (0700): the secrets folder of the measured process (TWOWAY_SECRETS_DIR). */
  readonly secretsDir: string;
  readonly csvPath: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly settings: PgpSettings;
  /** Recipient's public key and our signing key, for the gpg baseline. */
  readonly cliHome: string;
  readonly recipient: string;
  readonly signer: string;
  /** The client's side: its secret key and our public key, to decrypt and verify. */
  readonly clientHome: string;
}

/** Peak RSS (VmHWM) of every process called `name` in the tree under `rootPid`, sampled until stopped. */
function watchPeakRss(rootPid: number, name: string): { stop(): number } {
  let peakKib = 0;
  const childrenOf = (pid: number): number[] => {
    try {
      return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
        readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
      );
    } catch {
      return [];
    }
  };
  const sample = () => {
    const pending = [rootPid];
    while (pending.length > 0) {
      const pid = pending.pop() as number;
      try {
        const status = readFileSync(`/proc/${pid}/status`, 'utf8');
        const found = /^VmHWM:\s+(\d+) kB$/m.exec(status);
        if (/^Name:\s+(\S+)$/m.exec(status)?.[1] === name && found?.[1]) peakKib = Math.max(peakKib, Number(found[1]));
      } catch {
        // The process ended between the listing and the read.
      }
      pending.push(...childrenOf(pid));
    }
  };
  const timer = setInterval(sample, RSS_SAMPLE_INTERVAL_MS);
  return {
    stop: () => {
      clearInterval(timer);
      return peakKib * BYTES_PER_KIB;
    },
  };
}

async function readMaxRss(path: string): Promise<number> {
  const kib = Number((await readFile(path, 'utf8')).trim());
  if (!Number.isFinite(kib) || kib <= 0) throw new BenchFailure(`no peak RSS recorded in ${path}`);
  return kib * BYTES_PER_KIB;
}

/** Ours: a Node process that opens the keyring and prepares the file exactly as a delivery does. */
async function encryptOurs(harness: Harness, tag: string): Promise<Encryption> {
  const rssFile = join(harness.dir, `${tag}.maxrss`);
  let watcher: { stop(): number } | null = null;
  const run = await runTimed(process.execPath, ['--import', MAX_RSS_PRELOAD_URL, CHILD_SCRIPT, harness.csvPath, JSON.stringify(harness.settings)], {
    env: { ...process.env, BENCH_MAX_RSS_FILE: rssFile, TWOWAY_SECRETS_DIR: harness.secretsDir },
    onSpawn: (pid) => (watcher = watchPeakRss(pid, GPG_COMMAND)),
  });
  const gpgRssBytes = (watcher as { stop(): number } | null)?.stop() ?? 0;
  const nodeRssBytes = await readMaxRss(rssFile);
  await rm(rssFile, { force: true });
  const printed = JSON.parse(run.stdout.trim()) as { path: string; bytes: number; csvSha256: string };
  if (printed.csvSha256 !== harness.sha256) throw new BenchFailure(`ours read a CSV with sha256 ${printed.csvSha256}; the file has ${harness.sha256}`);
  return { seconds: run.seconds, bytesPerSecond: harness.bytes / run.seconds, nodeRssBytes, gpgRssBytes, outputPath: printed.path };
}

/** The baseline: gpg reading and writing the files itself, same keys, same options (no compression, signed). */
async function encryptWithGpg(harness: Harness, tag: string): Promise<Encryption> {
  const outputPath = join(harness.dir, `${tag}.pgp`);
  const args = [
    '--homedir',
    harness.cliHome,
    '--batch',
    '--quiet',
    '--trust-model',
    'always',
    '--compress-algo',
    'none',
    '--recipient',
    harness.recipient,
    '--local-user',
    harness.signer,
    '--output',
    outputPath,
    '--sign',
    '--encrypt',
    harness.csvPath,
  ];
  let watcher: { stop(): number } | null = null;
  const run = await runTimed(GPG_COMMAND, args, { onSpawn: (pid) => (watcher = watchPeakRss(pid, GPG_COMMAND)) });
  const gpgRssBytes = (watcher as { stop(): number } | null)?.stop() ?? 0;
  return { seconds: run.seconds, bytesPerSecond: harness.bytes / run.seconds, nodeRssBytes: null, gpgRssBytes, outputPath };
}

/** Decrypts as the client does, hashing the plaintext as it streams: it must be the CSV, signed by our key. */
async function verifyDecrypts(harness: Harness, path: string, who: string): Promise<void> {
  const hash = createHash('sha256');
  let status = '';
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(GPG_COMMAND, ['--homedir', harness.clientHome, '--batch', '--status-fd', '2', '--decrypt', '--output', '-', path], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (chunk: Buffer) => hash.update(chunk));
    child.stderr.setEncoding('utf8').on('data', (data: string) => (status += data));
    child.once('error', reject);
    child.once('close', resolve);
  });
  const sha256 = hash.digest('hex');
  if (code !== 0 || sha256 !== harness.sha256)
    throw new BenchFailure(`${who}: gpg --decrypt gave sha256 ${sha256} (status ${code}); the CSV has ${harness.sha256}`);
  if (!new RegExp(`^\\[GNUPG:\\] VALIDSIG .* ${harness.signer}$`, 'm').test(status)) throw new BenchFailure(`${who}: no good signature by ${harness.signer}`);
}

async function startHarness(options: PgpBenchOptions): Promise<Harness> {
  const dir = join(options.workDir, 'pgp');
  await mkdir(dir, { recursive: true });
  const maker = await createGnupgHome(join(dir, 'maker'));
  const cliHome = await createGnupgHome(join(dir, 'cli'));
  const clientHome = await createGnupgHome(join(dir, 'client'));
  const secretsDir = await createGnupgHome(join(dir, 'secrets'));
  const recipient = await generateKey(maker, { userId: 'Bench Client <client@bench.example>' });
  const signer = await generateKey(maker, { userId: 'Bench Reports <reports@bench.example>', algorithm: 'ed25519', usage: 'sign' });
  const recipientPublic = await exportKey(maker, recipient, join(secretsDir, 'recipient.pub.asc'));
  const signerSecret = await exportKey(maker, signer, join(secretsDir, 'signer.sec.asc'), { secret: true });
  await importKeyFile(cliHome, await readFile(recipientPublic));
  await importKeyFile(cliHome, await readFile(signerSecret));
  await importKeyFile(clientHome, await readFile(await exportKey(maker, recipient, join(dir, 'recipient.sec.asc'), { secret: true })));
  await importKeyFile(clientHome, await readFile(await exportKey(maker, signer, join(dir, 'signer.pub.asc'))));
  await stopGpgAgent(maker);
  const csvPath = join(dir, 'sample.csv');
  const bytes = options.fileMib * BYTES_PER_MIB;
  const started = performance.now();
  const sha256 = await writeSampleFile(csvPath, bytes);
  line(`sample file: ${megabytes(bytes)} (${options.fileMib} MiB) of CSV-like lines written in ${seconds((performance.now() - started) / MS_PER_SECOND)}`);
  const version = (await gpg(cliHome, ['--version'])).stdout.toString('utf8').split('\n')[0] ?? 'gpg';
  line(`${version}; recipient ${recipient} (cv25519), signer ${signer} (ed25519); AES-256, no compression, signed, binary`);
  const settings: PgpSettings = { recipients: [{ file: recipientPublic }], signingKey: { file: signerSecret }, signingPassphrase: null, armor: false };
  return { dir, secretsDir, csvPath, bytes, sha256, settings, cliHome, recipient, signer, clientHome };
}

function describe(run: Encryption): string {
  const node = run.nodeRssBytes === null ? '' : `node peak RSS ${megabytes(run.nodeRssBytes)}, `;
  return `${seconds(run.seconds).padStart(8)}  ${megabytesPerSecond(run.bytesPerSecond)}  ${node}gpg peak RSS ${megabytes(run.gpgRssBytes)}`;
}

export async function benchPgp(options: PgpBenchOptions): Promise<TargetResult[]> {
  heading(`PGP encryption (delivery, streamed through gpg) vs gpg alone, ${options.fileMib} MiB file`);
  if (options.fileMib < TARGET_PGP_MIB) line(`NOTE: --pgp-mb ${options.fileMib} is below ${TARGET_PGP_MIB}: a quick try, not a measurement of the target`);
  const harness = await startHarness(options);
  try {
    const warmOurs = await encryptOurs(harness, 'warm-ours');
    await verifyDecrypts(harness, warmOurs.outputPath, 'delivery');
    await rm(warmOurs.outputPath, { force: true });
    const warmGpg = await encryptWithGpg(harness, 'warm-gpg');
    await verifyDecrypts(harness, warmGpg.outputPath, 'gpg alone');
    await rm(warmGpg.outputPath, { force: true });
    line(`warm-up (not counted; both outputs decrypted to the CSV with a good signature): delivery ${describe(warmOurs)}; gpg alone ${describe(warmGpg)}`);
    const ours: Encryption[] = [];
    const theirs: Encryption[] = [];
    for (let run = 1; run <= options.runs; run++) {
      const mine = await encryptOurs(harness, `ours-${run}`);
      await rm(mine.outputPath, { force: true });
      ours.push(mine);
      line(`  run ${run}: delivery   ${describe(mine)}`);
      const baseline = await encryptWithGpg(harness, `gpg-${run}`);
      await rm(baseline.outputPath, { force: true });
      theirs.push(baseline);
      line(`  run ${run}: gpg alone  ${describe(baseline)}`);
    }
    const oursRate = spreadOf(ours.map((run) => run.bytesPerSecond));
    const theirRate = spreadOf(theirs.map((run) => run.bytesPerSecond));
    const nodeRss = spreadOf(ours.map((run) => run.nodeRssBytes ?? 0));
    const gpgRss = spreadOf(ours.map((run) => run.gpgRssBytes));
    const totalRss = Math.max(...ours.map((run) => (run.nodeRssBytes ?? 0) + run.gpgRssBytes));
    line(
      table(
        ['', 'throughput (CSV MB/s)', 'peak RSS'],
        [
          ['delivery (node + gpg)', spread(oursRate, megabytesPerSecond), `node ${spread(nodeRss, megabytes)}; gpg ${spread(gpgRss, megabytes)}`],
          ['gpg alone', spread(theirRate, megabytesPerSecond), `gpg ${spread(spreadOf(theirs.map((run) => run.gpgRssBytes)), megabytes)}`],
        ],
      ),
    );
    const measured = oursRate.median / theirRate.median;
    const pairs = spreadOf(ours.map((run, index) => run.bytesPerSecond / (theirs[index]?.bytesPerSecond ?? Number.NaN)));
    line(`delivery / gpg alone (median over median): ${ratio(measured)}  target ≥ ${ratio(PGP_RATIO_TARGET)}  ${verdict(measured >= PGP_RATIO_TARGET)}`);
    line(`  for judging noise: delivery / gpg alone of each adjacent pair ${spread(pairs, ratio)}`);
    const note = options.fileMib < TARGET_PGP_MIB ? { note: `quick try: ${options.fileMib} MiB file, below ${TARGET_PGP_MIB}` } : {};
    return [
      {
        name: `PGP delivery / gpg alone, ${options.fileMib} MiB`,
        measured: `${ratio(measured)} (${megabytesPerSecond(oursRate.median)} / ${megabytesPerSecond(theirRate.median)})`,
        target: `≥ ${ratio(PGP_RATIO_TARGET)}`,
        verdict: verdict(measured >= PGP_RATIO_TARGET),
        ...note,
      },
      {
        name: `PGP peak RSS (node + gpg), ${options.fileMib} MiB`,
        measured: `max ${megabytes(totalRss)} (node median ${megabytes(nodeRss.median)}, gpg ${megabytes(gpgRss.median)})`,
        target: `≤ ${megabytes(PGP_RSS_TARGET_BYTES)}`,
        verdict: verdict(totalRss <= PGP_RSS_TARGET_BYTES),
        ...note,
      },
    ];
  } finally {
    for (const home of [harness.cliHome, harness.clientHome]) await stopGpgAgent(home);
    await rm(harness.dir, { recursive: true, force: true });
  }
}
