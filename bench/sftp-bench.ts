/**
 * The SFTP section: the project's deliverFile against OpenSSH's own `sftp` client, both
 * uploading the same large file to the same loopback sshd, alternated run by run. Each
 * timing covers a whole delivery as it happens in production: connect, log in, upload, and
 * (ours) size check and rename. Every delivered file's sha256 is checked against the local one.
 */
import { spawnSync } from 'node:child_process';
import { chown, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PREFERRED_CIPHERS } from '../src/delivery/sftp-session.js';
import { deliverFile } from '../src/delivery/sftp-delivery.js';
import { openSshLoginOptions, startSftpServer, type SftpServer } from '../src/devstack/sftp-server.js';
import { MS_PER_SECOND } from '../src/domain/time-zone.js';
import type { SftpDeliverySettings } from '../src/domain/types.js';
import { TARGET_SFTP_MIN_MB } from './args.js';
import { runTimed } from './child-process.js';
import { cpuSince, cpuSnapshot, ENDED_CHILDREN_LABEL, SELF_LABEL, type CpuSnapshot } from './cpu-usage.js';
import { BYTES_PER_GB, BYTES_PER_MIB, heading, line, megabytes, megabytesPerSecond, ratio, seconds, spread, table } from './format.js';
import { BenchFailure, verdict, type TargetResult } from './outcome.js';
import { sha256OfFile, writeSampleFile } from './sample-file.js';
import { spreadOf } from './stats.js';

/** Our delivery must reach at least this share of OpenSSH's throughput. */
export const SFTP_RATIO_TARGET = 0.8;
const SFTP_CLIENT = '/usr/bin/sftp';
const SSHD_PATH = '/usr/sbin/sshd';
const REMOTE_FOLDER = 'inbound';
/** Ciphers tried for OpenSSH; the fastest one on this machine is used, so OpenSSH is measured at its best. */
const OPENSSH_CIPHER_CANDIDATES = ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'chacha20-poly1305@openssh.com', 'aes128-ctr'];

export interface SftpBenchOptions {
  readonly workDir: string;
  readonly fileMib: number;
  readonly runs: number;
}

export interface Upload {
  readonly seconds: number;
  readonly bytesPerSecond: number;
  /**
   * CPU seconds of the uploading client (ours: this process; OpenSSH: sftp and its ssh).
   * sshd's side is not counted: its session processes outlive their parents and end as
   * orphans, so their CPU never reaches a process this one can read.
   */
  readonly clientCpuSeconds: number;
  /** How busy the whole machine was meanwhile (0..1): on 2 cores, CPU is what a loopback transfer runs out of. */
  readonly machineBusyShare: number;
}

/** The client's CPU during an upload, and how busy the machine was. */
function cpuOf(start: CpuSnapshot, client: 'self' | 'child'): Pick<Upload, 'clientCpuSeconds' | 'machineBusyShare'> {
  const spent = cpuSince(start);
  return { clientCpuSeconds: spent.byProgram.get(client === 'self' ? SELF_LABEL : ENDED_CHILDREN_LABEL) ?? 0, machineBusyShare: spent.machineBusyShare };
}

export interface Harness {
  readonly server: SftpServer;
  readonly baseDir: string;
  readonly remoteDir: string;
  readonly localPath: string;
  readonly bytes: number;
  readonly sha256: string;
}

/** Ciphers this sshd offers, from its effective configuration. */
function serverCiphers(configPath: string): string[] {
  const result = spawnSync(SSHD_PATH, ['-T', '-f', configPath], { encoding: 'utf8' });
  const found = /^ciphers (.+)$/m.exec(result.stdout ?? '');
  return found?.[1] ? found[1].trim().split(',') : [];
}

/** Ciphers this OpenSSH client supports. */
function clientCiphers(): string[] {
  const result = spawnSync('ssh', ['-Q', 'cipher'], { encoding: 'utf8' });
  return (result.stdout ?? '')
    .split('\n')
    .map((entry) => entry.trim())
    .filter(Boolean);
}

export function openSshVersion(): string {
  const result = spawnSync('ssh', ['-V'], { encoding: 'utf8' });
  return (result.stderr || result.stdout || 'unknown').trim();
}

/** The remote file must hold exactly the local bytes; then it is removed to keep the disk free. */
async function verifyAndRemove(harness: Harness, name: string, who: string): Promise<void> {
  const path = join(harness.remoteDir, name);
  const remote = await sha256OfFile(path);
  if (remote !== harness.sha256) throw new BenchFailure(`${who}: delivered ${path} has sha256 ${remote}; the local file has ${harness.sha256}`);
  await rm(path, { force: true });
}

/** `port`: where to connect, sshd's own port unless a proxy stands in between. */
export async function uploadOurs(harness: Harness, name: string, port = harness.server.port): Promise<Upload> {
  const { server } = harness;
  const settings: SftpDeliverySettings = {
    protocol: 'sftp',
    host: server.host,
    port,
    username: server.username,
    remoteDir: harness.remoteDir,
    hostKeySha256: server.hostKeySha256,
    auth: { method: 'privateKey', privateKey: { file: server.userKeyPath } },
    checksumFile: false,
    gzip: false,
  };
  const cpuAtStart = cpuSnapshot();
  const started = performance.now();
  // The workflow passes the built file's sha256; so does the benchmark (the bytes sent are checked against it).
  const result = await deliverFile(
    { clientId: 'bench', settings, localPath: harness.localPath, fileName: name, sha256: harness.sha256 },
    { env: { TWOWAY_SECRETS_DIR: server.secretsDir } },
  );
  const elapsed = (performance.now() - started) / MS_PER_SECOND;
  const cpu = cpuOf(cpuAtStart, 'self');
  if (result.alreadyPresent || result.bytes !== harness.bytes)
    throw new BenchFailure(`deliverFile: ${result.bytes} bytes delivered (already present: ${result.alreadyPresent})`);
  await verifyAndRemove(harness, name, 'deliverFile');
  return { seconds: elapsed, bytesPerSecond: harness.bytes / elapsed, ...cpu };
}

/** OpenSSH's sftp in batch mode, key login, `put` of the same file; returns its time and the cipher it negotiated. */
export async function uploadOpenSsh(harness: Harness, name: string, cipher: string, port = harness.server.port): Promise<Upload & { negotiated: string }> {
  const { server } = harness;
  const batch = join(harness.baseDir, `batch-${name}`);
  await writeFile(batch, `put "${harness.localPath}" "${join(harness.remoteDir, name)}"\n`);
  const args = [
    '-F',
    '/dev/null', // no user or system configuration: the options below are all there is
    '-v', // prints the negotiated cipher on stderr
    '-b',
    batch,
    ...openSshLoginOptions({ userKeyPath: server.userKeyPath, port }),
    '-o',
    `Ciphers=${cipher}`,
    `${server.username}@${server.host}`,
  ];
  const cpuAtStart = cpuSnapshot();
  const run = await runTimed(SFTP_CLIENT, args);
  const cpu = cpuOf(cpuAtStart, 'child');
  await rm(batch, { force: true });
  const negotiated = /kex: client->server cipher: (\S+)/.exec(run.stderr)?.[1] ?? 'unknown';
  await verifyAndRemove(harness, name, 'OpenSSH sftp');
  return { seconds: run.seconds, bytesPerSecond: harness.bytes / run.seconds, ...cpu, negotiated };
}

export function describeCpu(upload: Upload): string {
  return `client CPU ${seconds(upload.clientCpuSeconds)}, machine ${(100 * upload.machineBusyShare).toFixed(0)} % busy`;
}

function cpuPerGigabyte(uploads: readonly Upload[], bytes: number): string {
  const perGigabyte = uploads.map((upload) => (upload.clientCpuSeconds * BYTES_PER_GB) / bytes);
  return `${spreadOf(perGigabyte).median.toFixed(2)} s`;
}

/** An sshd with a folder to deliver into, and a sample file of `fileMib` MiB; `label` names its folders under the work folder. */
export async function startHarness(options: Pick<SftpBenchOptions, 'workDir' | 'fileMib'>, label = 'sftp'): Promise<Harness> {
  const baseDir = join(options.workDir, label);
  const server = await startSftpServer({ baseDir });
  try {
    // Created as root; the SFTP user must own the folder to write into it.
    const remoteDir = join(server.rootDir, REMOTE_FOLDER);
    await mkdir(remoteDir, { recursive: true });
    const owner = await stat(server.rootDir);
    await chown(remoteDir, owner.uid, owner.gid);
    const localPath = join(options.workDir, `${label}-sample.csv`);
    const bytes = options.fileMib * BYTES_PER_MIB;
    const started = performance.now();
    const sha256 = await writeSampleFile(localPath, bytes);
    line(
      `sample file: ${megabytes(bytes)} (${options.fileMib} MiB) of CSV-like lines written in ${seconds((performance.now() - started) / MS_PER_SECOND)}, sha256 ${sha256}`,
    );
    return { server, baseDir, remoteDir, localPath, bytes, sha256 };
  } catch (error) {
    await server.dispose();
    throw error;
  }
}

export async function stopHarness(harness: Harness): Promise<void> {
  await harness.server.dispose();
  await rm(harness.localPath, { force: true });
}

/** One upload with each candidate cipher; the fastest is OpenSSH's best on this machine. These runs also warm the page cache. */
export async function bestOpenSshCipher(harness: Harness): Promise<string> {
  const offered = new Set(serverCiphers(join(harness.baseDir, 'sshd_config')));
  const supported = new Set(clientCiphers());
  const candidates = OPENSSH_CIPHER_CANDIDATES.filter((cipher) => supported.has(cipher) && (offered.size === 0 || offered.has(cipher)));
  let best = { cipher: candidates[0] ?? 'aes128-gcm@openssh.com', bytesPerSecond: 0 };
  const tried: string[] = [];
  for (const [index, cipher] of candidates.entries()) {
    const upload = await uploadOpenSsh(harness, `calibrate-${index}.csv`, cipher);
    tried.push(`${cipher} ${megabytesPerSecond(upload.bytesPerSecond)}`);
    if (upload.bytesPerSecond > best.bytesPerSecond) best = { cipher, bytesPerSecond: upload.bytesPerSecond };
  }
  line(`OpenSSH cipher calibration (one upload each, not counted): ${tried.join('; ')} → ${best.cipher}`);
  return best.cipher;
}

export async function benchSftp(options: SftpBenchOptions): Promise<TargetResult> {
  heading(`SFTP delivery vs OpenSSH sftp, ${options.fileMib} MiB file`);
  if (options.fileMib < TARGET_SFTP_MIN_MB)
    line(`NOTE: --sftp-mb ${options.fileMib} is below ${TARGET_SFTP_MIN_MB}: a quick try, not a measurement of the target`);
  const harness = await startHarness(options);
  try {
    const offered = serverCiphers(join(harness.baseDir, 'sshd_config'));
    const ours = PREFERRED_CIPHERS.find((cipher) => offered.includes(cipher)) ?? 'unknown';
    line(`sshd: ${openSshVersion()} on 127.0.0.1:${harness.server.port}; offers ${offered.join(', ') || 'unknown'}`);
    line(`deliverFile cipher: ${ours} (the first of PREFERRED_CIPHERS the server offers; the client's order decides)`);
    const cipher = await bestOpenSshCipher(harness);
    line(`deliverFile warm-up: ${megabytesPerSecond((await uploadOurs(harness, 'warm-up.csv')).bytesPerSecond)} (not counted)`);
    const oursRuns: Upload[] = [];
    const openSshRuns: Upload[] = [];
    const negotiated = new Set<string>();
    for (let run = 1; run <= options.runs; run++) {
      const mine = await uploadOurs(harness, `ours-${run}.csv`);
      oursRuns.push(mine);
      line(
        `  run ${run}: deliverFile   ${seconds(mine.seconds).padStart(8)}  ${megabytesPerSecond(mine.bytesPerSecond)}  ${describeCpu(mine)}  sha256 verified`,
      );
      const theirs = await uploadOpenSsh(harness, `openssh-${run}.csv`, cipher);
      openSshRuns.push(theirs);
      negotiated.add(theirs.negotiated);
      line(
        `  run ${run}: OpenSSH sftp  ${seconds(theirs.seconds).padStart(8)}  ${megabytesPerSecond(theirs.bytesPerSecond)}  ${describeCpu(theirs)}  sha256 verified (cipher ${theirs.negotiated})`,
      );
    }
    const oursRate = spreadOf(oursRuns.map((run) => run.bytesPerSecond));
    const theirRate = spreadOf(openSshRuns.map((run) => run.bytesPerSecond));
    line(
      table(
        ['', 'throughput', 'client CPU per GB (median)', 'cipher'],
        [
          ['deliverFile (ssh2)', spread(oursRate, megabytesPerSecond), cpuPerGigabyte(oursRuns, harness.bytes), ours],
          ['OpenSSH sftp', spread(theirRate, megabytesPerSecond), cpuPerGigabyte(openSshRuns, harness.bytes), [...negotiated].join(', ')],
        ],
      ),
    );
    const measured = oursRate.median / theirRate.median;
    const pass = measured >= SFTP_RATIO_TARGET;
    line(`ours / OpenSSH (median over median): ${ratio(measured)}  target ≥ ${ratio(SFTP_RATIO_TARGET)}  ${verdict(pass)}`);
    const pairs = spreadOf(oursRuns.map((run, index) => run.bytesPerSecond / (openSshRuns[index]?.bytesPerSecond ?? Number.NaN)));
    line(`  for judging noise: ours / OpenSSH of each adjacent pair ${spread(pairs, ratio)}; fastest over fastest ${ratio(oursRate.max / theirRate.max)}`);
    const note = options.fileMib < TARGET_SFTP_MIN_MB ? `quick try: ${options.fileMib} MiB file, below ${TARGET_SFTP_MIN_MB}` : undefined;
    return {
      name: `SFTP ours / OpenSSH, ${options.fileMib} MiB`,
      measured: `${ratio(measured)} (${megabytesPerSecond(oursRate.median)} / ${megabytesPerSecond(theirRate.median)})`,
      target: `≥ ${ratio(SFTP_RATIO_TARGET)}`,
      verdict: verdict(pass),
      ...(note ? { note } : {}),
    };
  } finally {
    await stopHarness(harness);
  }
}
