import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, beforeEach, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { FolderPoller } from '../../drills/poller.js';
import { recordRunStarted } from '../../src/db/ledger.js';
import { withPeriodLock } from '../../src/db/period-lock.js';
import { createPublicationLedger, listPeriodFiles } from '../../src/db/report-files.js';
import { publishPeriodFile, type PeriodPublishRequest, type PeriodPublishResult } from '../../src/delivery/period-publisher.js';
import type { ManifestSigner } from '../../src/delivery/revision-publisher.js';
import { RemoteFileConflictError } from '../../src/domain/errors.js';
import { periodContaining } from '../../src/domain/periods.js';
import type { PublicationLedger } from '../../src/domain/publication.js';
import { REPORT_HEADER, type ReportRecord } from '../../src/domain/report-row.js';
import type { SftpDeliverySettings } from '../../src/domain/types.js';
import { createReportCsv } from '../../src/report/csv.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { waitUntil } from '../support/wait.js';
import type { PublishUntilKilled } from './fixtures/publish-until-killed.js';
import { captureLog, makeRemoteDir, settingsFor, sha256OfBytes, startFixture, writeLocalFile, type Fixture } from './sftp-fixture.js';

const PERIOD = { clientId: 'acme', frequency: 'daily' as const, periodStart: '2026-11-24' };
const CALENDAR = periodContaining('daily', PERIOD.periodStart, 'America/Chicago');
const NAME = 'twoway_activity_acme_daily_20261124.csv';
const PART = (revision: string, part: number) => `twoway_activity_acme_daily_20261124${revision}_part00${part}.csv`;
const MANIFEST = `${NAME}.manifest.json`;
const LOCK_WAIT_MS = 20_000;
const CHILD = fileURLToPath(new URL('./fixtures/publish-until-killed.js', import.meta.url));
const csv = createReportCsv();

/** A built file of `rows` records (quoted line breaks included), with its sha256. */
function content(rows: number, tag = 'a'): string {
  const records: ReportRecord[] = Array.from({ length: rows }, (_, row) =>
    REPORT_HEADER.map((_, column) => (column === 0 ? `${tag}-${row}@example.com` : column === 16 ? 'line one\nline two, "quoted"' : `v${column}`)),
  );
  return csv.header + csv.stringify(records);
}

interface Manifest {
  readonly revision: number;
  readonly replaces: { revision: number; name: string } | null;
  readonly rowCount: number;
  readonly columns: string[];
  readonly timeZone: string;
  readonly period: { start: string; end: string; startUtc: string; endUtc: string };
  readonly files: { name: string; rowCount: number; bytes: number; sha256: string; csvSha256: string }[];
}

interface Attempt {
  readonly runId: string;
  readonly content: string;
  readonly rows: number;
  readonly force?: boolean;
  readonly settings?: Partial<SftpDeliverySettings>;
  readonly ledger?: (ledger: PublicationLedger) => PublicationLedger;
  readonly signManifest?: ManifestSigner;
}

describe('a revision of several files (parts, manifest): exactly once per file (real sshd and PostgreSQL)', () => {
  let fixture: Fixture;
  let db: TestDatabase;
  let remoteDir: string;
  let settings: SftpDeliverySettings;
  let folderCount = 0;
  let localCount = 0;

  before(async () => {
    fixture = await startFixture('revision');
    db = await createTestDatabase();
  });

  after(async () => {
    await fixture?.dispose();
    await db?.drop();
  });

  beforeEach(async () => {
    folderCount += 1;
    remoteDir = await makeRemoteDir(fixture.server, `revision-${folderCount}`);
    // Five rows at two a file: three parts.
    settings = settingsFor(fixture.server, remoteDir, { method: 'privateKey', privateKey: fixture.keyRef }, { manifest: true, maxRowsPerFile: 2 });
    await db.knex('report_files').delete();
    await db.knex('report_runs').delete();
  });

  async function request(spec: Attempt): Promise<PeriodPublishRequest> {
    const run = { workflowId: `twoway-report/acme/daily/${PERIOD.periodStart}`, runId: spec.runId };
    await recordRunStarted(db.knex, { ...PERIOD, ...run, periodEnd: '2026-11-25', forced: spec.force ?? false });
    localCount += 1;
    return {
      clientId: 'acme',
      settings: { ...settings, ...spec.settings },
      localPath: await writeLocalFile(fixture, `built-${localCount}.csv`, spec.content),
      baseFileName: NAME,
      sha256: sha256OfBytes(spec.content),
      rowCount: spec.rows,
      run,
      force: spec.force ?? false,
      period: CALENDAR,
      signManifest: spec.signManifest,
    };
  }

  async function attempt(spec: Attempt, log = fixture.log): Promise<PeriodPublishResult> {
    const built = await request(spec);
    return withPeriodLock(db.knex, db.url, PERIOD, { waitTimeoutMs: LOCK_WAIT_MS }, (lock) => {
      const ledger = createPublicationLedger(lock, PERIOD);
      return publishPeriodFile(built, spec.ledger ? spec.ledger(ledger) : ledger, {
        env: fixture.env,
        logger: log.logger,
        connectTimeoutMs: 5_000,
        operationTimeoutMs: 5_000,
      });
    });
  }

  const files = async () => (await readdir(remoteDir)).sort();
  /** The names, sorted as files() sorts them. */
  const sorted = (...names: string[]) => names.sort();
  const visible = async () => (await files()).filter((name) => !name.startsWith('.'));
  const temporaries = async () => (await files()).filter((name) => name.startsWith('.'));
  const ledgerFiles = () => listPeriodFiles(db.knex, PERIOD);
  const manifestAt = async (name: string) => JSON.parse(await readFile(join(remoteDir, name), 'utf8')) as Manifest;
  const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

  /** Every file a manifest lists is on the server with its size and sha256; together the CSVs are the built file. */
  async function assertManifestHolds(name: string, built: string, gzip = false): Promise<Manifest> {
    const manifest = await manifestAt(name);
    const csvs: Buffer[] = [];
    for (const file of manifest.files) {
      const bytes = await readFile(join(remoteDir, file.name));
      assert.deepEqual([bytes.length, sha256(bytes)], [file.bytes, file.sha256], `${file.name} as the manifest says`);
      const csvBytes = gzip ? gunzipSync(bytes) : bytes;
      assert.equal(sha256(csvBytes), file.csvSha256);
      assert.ok(csvBytes.toString('utf8').startsWith(csv.header), `${file.name} starts with the header`);
      csvs.push(csvs.length === 0 ? csvBytes : csvBytes.subarray(Buffer.byteLength(csv.header)));
    }
    assert.equal(sha256(Buffer.concat(csvs)), sha256(built), 'the parts, headers but the first removed, are the built file');
    assert.equal(
      manifest.rowCount,
      manifest.files.reduce((sum, file) => sum + file.rowCount, 0),
    );
    return manifest;
  }

  it('puts the parts in place, then the manifest; a receiver listing the folder throughout never sees the manifest early, nor a part incomplete', async () => {
    const poller = new FolderPoller(remoteDir);
    const listings: Map<string, number>[] = [];
    poller.onListing((entries) => listings.push(new Map(entries)));
    poller.start();
    const built = content(5);
    let result: PeriodPublishResult;
    try {
      result = await attempt({
        runId: 'r1',
        content: built,
        rows: 5,
        // A listing after every part takes its name, besides the poller's own (every 50 ms and on every change).
        ledger: (ledger) => ({
          ...ledger,
          markPartDelivered: async (...args) => {
            await poller.scanNow();
            return ledger.markPartDelivered(...args);
          },
        }),
      });
      await poller.scanNow();
    } finally {
      await poller.stop();
    }
    assert.deepEqual([result.status, result.uploaded, result.file.revision, result.file.fileName], ['delivered', true, 1, MANIFEST]);
    assert.deepEqual(await files(), sorted(PART('', 1), PART('', 2), PART('', 3), MANIFEST));

    const manifest = await assertManifestHolds(MANIFEST, built);
    assert.deepEqual(
      manifest.files.map((file) => [file.name, file.rowCount]),
      [
        [PART('', 1), 2],
        [PART('', 2), 2],
        [PART('', 3), 1],
      ],
    );
    assert.deepEqual(
      [manifest.revision, manifest.replaces, manifest.rowCount, manifest.timeZone, manifest.columns],
      [1, null, 5, 'America/Chicago', [...REPORT_HEADER]],
    );
    assert.deepEqual(manifest.period, {
      start: '2026-11-24',
      end: '2026-11-25',
      lastDay: '2026-11-24',
      startUtc: '2026-11-24T06:00:00.000Z',
      endUtc: '2026-11-25T06:00:00.000Z',
    });

    const sizes = new Map(manifest.files.map((file) => [file.name, file.bytes]));
    const withManifest = listings.filter((listing) => listing.has(MANIFEST));
    assert.ok(withManifest.length > 0);
    for (const listing of withManifest) {
      for (const [name, bytes] of sizes) assert.equal(listing.get(name), bytes, `${name} complete whenever the manifest is seen`);
    }
    assert.ok(
      listings.some((listing) => listing.has(PART('', 1)) && !listing.has(MANIFEST)),
      'the receiver looked while parts were arriving',
    );
    for (const [name, seen] of poller.sightings) {
      if (name.startsWith('.')) continue;
      assert.deepEqual(seen.sizes, [(await stat(join(remoteDir, name))).size], `${name} only ever seen whole`);
    }

    const [revision] = await ledgerFiles();
    assert.deepEqual(
      [revision?.status, revision?.fileName, revision?.bytes, revision?.rowCount, revision?.sha256, revision?.temporaryPath],
      ['delivered', MANIFEST, [...sizes.values()].reduce((sum, bytes) => sum + bytes, 0), 5, sha256(built), null],
    );
    assert.equal(revision?.deliveredSha256, sha256(await readFile(join(remoteDir, MANIFEST))), 'the manifest pins every part');
    assert.deepEqual(
      revision?.parts.map((part) => [part.part, part.kind, part.fileName, part.status, part.temporaryPath]),
      [
        [1, 'data', PART('', 1), 'delivered', null],
        [2, 'data', PART('', 2), 'delivered', null],
        [3, 'data', PART('', 3), 'delivered', null],
        [4, 'manifest', MANIFEST, 'delivered', null],
      ],
    );
    const run = (await db.knex('report_runs').where({ run_id: 'r1' }).first()) as { status: string; file_name: string };
    assert.deepEqual([run.status, run.file_name], ['delivered', MANIFEST]);
  });

  it('a worker killed between two parts (a real process, SIGKILL once part 1 has its name): the retry renames the rest into place and sends nothing again', async () => {
    const built = content(5);
    const config: PublishUntilKilled = {
      databaseUrl: db.url,
      request: await request({ runId: 'r1', content: built, rows: 5 }),
      stallAtPart: 1,
      env: fixture.env,
    };
    const child = spawn(process.execPath, [CHILD, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    try {
      await waitUntil(async () => (await files()).includes(PART('', 1)), { timeoutMs: 30_000, what: `part 1 in place (child output: ${output.slice(-2000)})` });
    } finally {
      child.kill('SIGKILL');
    }
    assert.equal(await exited, 'SIGKILL', `the child was killed, not finished: ${output.slice(-2000)}`);

    assert.deepEqual(await visible(), [PART('', 1)], 'killed after part 1, before part 2 and the manifest');
    const waiting = await temporaries();
    assert.equal(waiting.length, 3, `parts 2, 3 and the manifest wait verified under temporary names: ${waiting.join(', ')}`);
    const [left] = await ledgerFiles();
    assert.deepEqual(
      [left?.status, left?.parts.map((part) => part.status)],
      ['publishing', ['publishing', 'publishing', 'publishing', 'publishing']],
      'every intent recorded before the first rename',
    );
    const before = await stat(join(remoteDir, PART('', 1)));

    const retryLog = captureLog();
    const retry = await attempt({ runId: 'r1', content: built, rows: 5 }, retryLog);
    assert.deepEqual([retry.status, retry.uploaded, retry.file.revision], ['delivered', false, 1]);
    assert.deepEqual(await files(), sorted(PART('', 1), PART('', 2), PART('', 3), MANIFEST), 'no temporary file, no duplicate, no _r2');
    await assertManifestHolds(MANIFEST, built);
    const after = await stat(join(remoteDir, PART('', 1)));
    assert.deepEqual([after.ino, after.mtimeMs], [before.ino, before.mtimeMs], 'part 1 untouched');
    assert.doesNotMatch(retryLog.text(), /uploading under a temporary name/, 'nothing uploaded by the retry');
    const [done] = await ledgerFiles();
    assert.deepEqual(
      [done?.status, done?.note, done?.parts.map((part) => part.status)],
      ['delivered', 'completed by a later attempt', ['delivered', 'delivered', 'delivered', 'delivered']],
    );
  });

  it('a crash after the uploads but before the intents were recorded leaves only temporary files, which the retry sweeps before sending once', async () => {
    const built = content(5);
    const crashBeforeRecord = (ledger: PublicationLedger): PublicationLedger => ({
      ...ledger,
      recordPublishing: () => Promise.reject(new Error('worker killed before recording the intents')),
    });
    await assert.rejects(attempt({ runId: 'r1', content: built, rows: 5, ledger: crashBeforeRecord }), /killed before recording/);
    assert.deepEqual(await visible(), [], 'nothing took a final name');
    assert.equal((await temporaries()).length, 4);
    assert.deepEqual(await ledgerFiles(), []);

    const retry = await attempt({ runId: 'r1', content: built, rows: 5 });
    assert.deepEqual([retry.status, retry.uploaded], ['delivered', true]);
    assert.deepEqual(await files(), sorted(PART('', 1), PART('', 2), PART('', 3), MANIFEST));
  });

  it('a later run with changed data finishes the crashed revision with the bytes recorded, never mixing two builds', async () => {
    const built = content(5);
    const crashAfterPart2 = (ledger: PublicationLedger): PublicationLedger => ({
      ...ledger,
      markPartDelivered: async (revision, part, note) => {
        if (part === 2) throw new Error('worker killed after part 2 took its name');
        return ledger.markPartDelivered(revision, part, note);
      },
    });
    await assert.rejects(attempt({ runId: 'r1', content: built, rows: 5, ledger: crashAfterPart2 }), /killed after part 2/);
    const later = await attempt({ runId: 'r2', content: content(7, 'changed'), rows: 7 });
    assert.deepEqual([later.status, later.file.runId], ['already-delivered', 'r1']);
    assert.deepEqual(await files(), sorted(PART('', 1), PART('', 2), PART('', 3), MANIFEST));
    await assertManifestHolds(MANIFEST, built);
  });

  it('a rerun of a delivered split period does nothing, forced with the same rows neither; a forced changed rerun delivers r2 whose manifest replaces r1', async () => {
    const first = content(5);
    await attempt({ runId: 'r1', content: first, rows: 5 });
    const delivered = await Promise.all((await files()).map(async (name) => [name, (await stat(join(remoteDir, name))).mtimeMs] as const));

    const rerun = await attempt({ runId: 'r2', content: first, rows: 5 });
    assert.deepEqual([rerun.status, rerun.uploaded], ['already-delivered', false]);
    const same = await attempt({ runId: 'r3', content: first, rows: 5, force: true });
    assert.deepEqual([same.status, same.uploaded], ['unchanged', false]);
    assert.deepEqual(
      await Promise.all((await files()).map(async (name) => [name, (await stat(join(remoteDir, name))).mtimeMs] as const)),
      delivered,
      'nothing sent, nothing touched',
    );

    const changed = content(6, 'b');
    const forced = await attempt({ runId: 'r4', content: changed, rows: 6, force: true });
    const r2Manifest = `twoway_activity_acme_daily_20261124_r2.csv.manifest.json`;
    assert.deepEqual([forced.status, forced.file.revision, forced.file.fileName], ['delivered', 2, r2Manifest]);
    assert.deepEqual(await files(), sorted(PART('', 1), PART('', 2), PART('', 3), MANIFEST, PART('_r2', 1), PART('_r2', 2), PART('_r2', 3), r2Manifest));
    const manifest = await assertManifestHolds(r2Manifest, changed);
    assert.deepEqual([manifest.revision, manifest.replaces], [2, { revision: 1, name: MANIFEST }]);
    await assertManifestHolds(MANIFEST, first);
  });

  it('an unsplit file with gzip and a checksum: data file, its .sha256, then the manifest; the ledger row names the data file', async () => {
    const built = content(3);
    const result = await attempt({ runId: 'r1', content: built, rows: 3, settings: { maxRowsPerFile: undefined, gzip: true, checksumFile: true } });
    const data = `${NAME}.gz`;
    assert.deepEqual(await files(), [data, `${data}.manifest.json`, `${data}.sha256`]);
    const manifest = await assertManifestHolds(`${data}.manifest.json`, built, true);
    assert.deepEqual(
      manifest.files.map((file) => [file.name, file.rowCount, file.csvSha256]),
      [[data, 3, sha256(built)]],
    );
    assert.deepEqual([result.file.fileName, result.file.deliveredSha256], [data, manifest.files[0]?.sha256]);
    assert.equal(await readFile(join(remoteDir, `${data}.sha256`), 'utf8'), `${manifest.files[0]?.sha256}  ${data}\n`);
    assert.deepEqual(
      result.file.parts.map((part) => [part.kind, part.fileName]),
      [
        ['data', data],
        ['manifest', `${data}.manifest.json`],
      ],
    );
  });

  it('signs through the hook: the detached signature takes its name before the manifest', async () => {
    const signed: Buffer[] = [];
    const signManifest: ManifestSigner = async (manifest) => {
      signed.push(manifest);
      return Buffer.from(`signature of ${sha256(manifest)}\n`);
    };
    const result = await attempt({ runId: 'r1', content: content(3), rows: 3, signManifest });
    assert.equal(signed.length, 1);
    assert.deepEqual(await readFile(join(remoteDir, MANIFEST)), signed[0]);
    assert.equal(await readFile(join(remoteDir, `${MANIFEST}.sig`), 'utf8'), `signature of ${sha256(signed[0] as Buffer)}\n`);
    assert.deepEqual(
      result.file.parts.map((part) => part.kind),
      ['data', 'data', 'signature', 'manifest'],
    );
  });

  it('a part name taken by a file the ledger does not know: an unforced run sends nothing, a forced one delivers r2 and leaves the file alone', async () => {
    await writeFile(join(remoteDir, PART('', 2)), 'somebody else\r\n');
    await assert.rejects(attempt({ runId: 'r1', content: content(5), rows: 5 }), RemoteFileConflictError);
    assert.deepEqual(await files(), [PART('', 2)], 'not even part 1 went up');
    assert.deepEqual(await ledgerFiles(), []);

    const forced = await attempt({ runId: 'r2', content: content(5), rows: 5, force: true });
    assert.equal(forced.file.revision, 2);
    assert.equal(await readFile(join(remoteDir, PART('', 2)), 'utf8'), 'somebody else\r\n');
    assert.deepEqual(
      (await ledgerFiles()).map((file) => [file.revision, file.status]),
      [
        [1, 'abandoned'],
        [2, 'delivered'],
      ],
    );
    assert.equal((await manifestAt('twoway_activity_acme_daily_20261124_r2.csv.manifest.json')).replaces, null, 'nothing delivered before it');
  });
});
