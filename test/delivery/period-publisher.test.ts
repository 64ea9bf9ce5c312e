import assert from 'node:assert/strict';
import { rm, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Knex } from 'knex';
import pg from 'pg';
import { recordRunStarted } from '../../src/db/ledger.js';
import { createLockConnectionPool, withPeriodLock } from '../../src/db/period-lock.js';
import { createPublicationLedger, listPeriodFiles } from '../../src/db/report-files.js';
import { publishPeriodFile, type PeriodPublishResult } from '../../src/delivery/period-publisher.js';
import { BuiltFileMissingError, PeriodBusyError, RemoteFileConflictError } from '../../src/domain/errors.js';
import { periodContaining } from '../../src/domain/periods.js';
import type { PublicationLedger } from '../../src/domain/publication.js';
import type { SftpDeliverySettings } from '../../src/domain/types.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { waitUntil } from '../support/wait.js';
import { makeRemoteDir, settingsFor, sha256OfBytes, startFixture, writeLocalFile, type Fixture } from './sftp-fixture.js';

const PERIOD = { clientId: 'acme', frequency: 'daily' as const, periodStart: '2026-11-24' };
const NAME = 'twoway_activity_acme_daily_20261124.csv';
const LOCK_WAIT_MS = 20_000;

interface Attempt {
  readonly runId: string;
  readonly content: string;
  readonly force?: boolean;
  /** Wraps the ledger, to stop an attempt at an exact point (a crash after the rename, say). */
  readonly ledger?: (ledger: PublicationLedger) => PublicationLedger;
  readonly localPath?: string;
}

describe('publishPeriodFile: exactly once across retries, reruns and overlapping attempts (real sshd and PostgreSQL)', () => {
  let fixture: Fixture;
  let db: TestDatabase;
  let remoteDir: string;
  let settings: SftpDeliverySettings;
  let folderCount = 0;
  let attempts = 0;

  before(async () => {
    fixture = await startFixture('publisher');
    db = await createTestDatabase();
  });

  after(async () => {
    await fixture?.dispose();
    await db?.drop();
  });

  beforeEach(async () => {
    folderCount += 1;
    remoteDir = await makeRemoteDir(fixture.server, `period-${folderCount}`);
    settings = settingsFor(fixture.server, remoteDir, { method: 'privateKey', privateKey: fixture.keyRef });
    await db.knex('report_files').delete();
    await db.knex('report_runs').delete();
  });

  async function attempt(spec: Attempt): Promise<PeriodPublishResult> {
    const run = { workflowId: `twoway-report/acme/daily/${PERIOD.periodStart}`, runId: spec.runId };
    await recordRunStarted(db.knex, { ...PERIOD, ...run, periodEnd: '2026-11-25', forced: spec.force ?? false });
    attempts += 1;
    const localPath = spec.localPath ?? (await writeLocalFile(fixture, `built-${attempts}.csv`, spec.content));
    return withPeriodLock(db.knex, db.url, PERIOD, { waitTimeoutMs: LOCK_WAIT_MS }, (lock) => {
      const ledger = createPublicationLedger(lock, PERIOD);
      return publishPeriodFile(
        {
          clientId: 'acme',
          settings,
          localPath,
          baseFileName: NAME,
          sha256: sha256OfBytes(spec.content),
          rowCount: 1,
          run,
          force: spec.force ?? false,
          period: periodContaining('daily', PERIOD.periodStart, 'UTC'),
        },
        spec.ledger ? spec.ledger(ledger) : ledger,
        { env: fixture.env, logger: fixture.log.logger, connectTimeoutMs: 5_000, operationTimeoutMs: 5_000 },
      );
    });
  }

  /** The ledger loses the attempt right after the file took its final name: the completion is never recorded. */
  const crashAfterRename = (ledger: PublicationLedger): PublicationLedger => ({
    ...ledger,
    markDelivered: () => Promise.reject(new Error('worker killed after the rename')),
  });

  const files = () => readdir(remoteDir);
  const ledgerFiles = () => listPeriodFiles(db.knex, PERIOD);
  const runStatus = async (runId: string) => ((await db.knex('report_runs').where({ run_id: runId }).first()) as { status: string }).status;

  it('delivers revision 1, records file and run delivered, and leaves no temporary file', async () => {
    const result = await attempt({ runId: 'r1', content: 'a\r\n' });
    assert.equal(result.status, 'delivered');
    assert.equal(result.uploaded, true);
    assert.deepEqual(await files(), [NAME]);
    assert.deepEqual(
      (await ledgerFiles()).map((file) => [file.revision, file.status, file.runId]),
      [[1, 'delivered', 'r1']],
    );
    assert.equal(await runStatus('r1'), 'delivered');
  });

  it('a retry after the completion was lost finds the file in place: delivered once, nothing uploaded', async () => {
    await assert.rejects(attempt({ runId: 'r1', content: 'a\r\n', ledger: crashAfterRename }), /worker killed after the rename/);
    assert.deepEqual(await files(), [NAME], 'the file took its name before the crash');
    assert.equal((await ledgerFiles())[0]?.status, 'publishing', 'the intent was recorded before the rename');

    const retry = await attempt({ runId: 'r1', content: 'a\r\n' });
    assert.equal(retry.status, 'delivered');
    assert.equal(retry.uploaded, false);
    assert.deepEqual(await files(), [NAME]);
    assert.deepEqual(
      (await ledgerFiles()).map((file) => [file.revision, file.status]),
      [[1, 'delivered']],
    );
  });

  it('a retry whose rebuild has other bytes (data changed) adopts the recorded file instead of failing with a conflict', async () => {
    await assert.rejects(attempt({ runId: 'r1', content: 'a\r\n', ledger: crashAfterRename }));
    const retry = await attempt({ runId: 'r1', content: 'a\r\nlate\r\n' });
    assert.equal(retry.status, 'delivered');
    assert.equal(retry.file.sha256, sha256OfBytes('a\r\n'), 'the ledger describes the file the client has');
    assert.deepEqual(await files(), [NAME], 'no second file, no _r2');
    assert.equal(await readFile(join(remoteDir, NAME), 'utf8'), 'a\r\n');
  });

  it('a later run after a crashed one records the period delivered by the crashed run, and a forced one delivers _r2', async () => {
    await assert.rejects(attempt({ runId: 'r1', content: 'a\r\n', ledger: crashAfterRename }));
    const later = await attempt({ runId: 'r2', content: 'a\r\nlate\r\n' });
    assert.equal(later.status, 'already-delivered');
    assert.equal(later.file.runId, 'r1');
    assert.equal(await runStatus('r1'), 'delivered', 'the run whose file it is');

    const forced = await attempt({ runId: 'r3', content: 'a\r\nlate\r\n', force: true });
    assert.equal(forced.status, 'delivered');
    assert.equal(forced.file.revision, 2);
    assert.deepEqual((await files()).sort(), [NAME, NAME.replace('.csv', '_r2.csv')]);
  });

  it('a file the receiver already took away is never sent again', async () => {
    await assert.rejects(attempt({ runId: 'r1', content: 'a\r\n', ledger: crashAfterRename }));
    await rm(join(remoteDir, NAME));
    const retry = await attempt({ runId: 'r1', content: 'a\r\n' });
    assert.equal(retry.status, 'delivered');
    assert.equal(retry.uploaded, false);
    assert.deepEqual(await files(), [], 'not delivered a second time');
    assert.match((await ledgerFiles())[0]?.note ?? '', /taken away by the receiver/);
  });

  it('finishes the rename of a verified upload whose attempt died before renaming it', async () => {
    const stopBeforeRename = (ledger: PublicationLedger): PublicationLedger => ({
      ...ledger,
      recordPublishing: async (file) => {
        await ledger.recordPublishing(file);
        throw new Error('worker killed before the rename');
      },
    });
    await assert.rejects(attempt({ runId: 'r1', content: 'a\r\n', ledger: stopBeforeRename }));
    const [left] = await files();
    assert.match(left ?? '', /^\.twoway_activity_acme_daily_20261124\.csv\.[0-9a-f]{8}\.part$/);

    const retry = await attempt({ runId: 'r1', content: 'a\r\n' });
    assert.equal(retry.status, 'delivered');
    assert.equal(retry.uploaded, false);
    assert.deepEqual(await files(), [NAME]);
    assert.match((await ledgerFiles())[0]?.note ?? '', /renamed into place by a later attempt/);
  });

  it('a file the ledger does not know blocks an unforced run (conflict) but not a forced one (next revision)', async () => {
    await writeFile(join(remoteDir, NAME), 'somebody else\r\n');
    await assert.rejects(attempt({ runId: 'r1', content: 'a\r\n' }), RemoteFileConflictError);
    assert.deepEqual(await ledgerFiles(), [], 'an unforced run records nothing');

    const forced = await attempt({ runId: 'r2', content: 'a\r\n', force: true });
    assert.equal(forced.file.revision, 2);
    assert.equal(await readFile(join(remoteDir, NAME), 'utf8'), 'somebody else\r\n', 'the unknown file is untouched');
    assert.deepEqual(
      (await ledgerFiles()).map((file) => [file.revision, file.status]),
      [
        [1, 'abandoned'],
        [2, 'delivered'],
      ],
    );
  });

  it('forced with the same bytes: unchanged, nothing uploaded', async () => {
    await attempt({ runId: 'r1', content: 'a\r\n' });
    const forced = await attempt({ runId: 'r2', content: 'a\r\n', force: true });
    assert.equal(forced.status, 'unchanged');
    assert.deepEqual(await files(), [NAME]);
  });

  it('two overlapping attempts of one run with different bytes: one file, both report it', async () => {
    const [first, second] = await Promise.all([attempt({ runId: 'r1', content: 'a\r\n' }), attempt({ runId: 'r1', content: 'b\r\nb\r\n' })]);
    assert.deepEqual(await files(), [NAME]);
    const onServer = sha256OfBytes(await readFile(join(remoteDir, NAME)));
    assert.equal(first.file.deliveredSha256, onServer);
    assert.equal(second.file.deliveredSha256, onServer);
    assert.equal([first, second].filter((result) => result.uploaded).length, 1, 'one upload');
    assert.deepEqual(
      (await ledgerFiles()).map((file) => [file.revision, file.status]),
      [[1, 'delivered']],
    );
  });

  it('needs no built file to answer a retry of a run that delivered; a missing one otherwise is BuiltFileMissingError', async () => {
    await attempt({ runId: 'r1', content: 'a\r\n' });
    const gone = join(fixture.localDir, 'gone.csv');
    const retry = await attempt({ runId: 'r1', content: 'a\r\n', localPath: gone });
    assert.equal(retry.status, 'delivered');
    await assert.rejects(attempt({ runId: 'r2', content: 'changed\r\n', force: true, localPath: gone }), BuiltFileMissingError);
  });

  it('lets one attempt at a time hold the period: another waits, then gives up retryably', async () => {
    let release: () => void = () => undefined;
    let acquired: () => void = () => undefined;
    const holding = new Promise<void>((resolve) => (acquired = resolve));
    const held = withPeriodLock(db.knex, db.url, PERIOD, { waitTimeoutMs: LOCK_WAIT_MS }, () => {
      acquired();
      return new Promise<void>((resolve) => (release = resolve));
    });
    await holding;
    await assert.rejects(
      withPeriodLock(db.knex, db.url, PERIOD, { waitTimeoutMs: 600 }, async () => undefined),
      PeriodBusyError,
    );
    release();
    await held;
    assert.equal(await withPeriodLock(db.knex, db.url, PERIOD, { waitTimeoutMs: 600 }, async () => 'free again'), 'free again');
  });

  it('stops an attempt whose lock connection is lost, and its writes no longer commit', async () => {
    const outcome = withPeriodLock(db.knex, db.url, PERIOD, { waitTimeoutMs: LOCK_WAIT_MS }, async (lock) => {
      // Only this test's database: other test files hold locks on the same server.
      await db.knex.raw(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'twoway-report period lock' AND datname = current_database()",
      );
      // The connection's error may arrive before or after the terminating query returns.
      await waitUntil(() => lock.signal.aborted, { timeoutMs: 10_000, what: 'the lock to notice its connection is gone' });
      await lock.transaction((trx) => trx.raw('SELECT 1'));
    });
    await assert.rejects(outcome);
    assert.equal(await withPeriodLock(db.knex, db.url, PERIOD, { waitTimeoutMs: 2_000 }, async () => 'released'), 'released');
  });

  it('releases the lock of a holder that has gone silent (a frozen process) after its lease, but not of a live one', async () => {
    const leaseMs = 1_500;
    // A holder that took the lock as withPeriodLock does and then froze: it never speaks again.
    const frozen = new pg.Client({ connectionString: db.url, application_name: 'twoway-report period lock' });
    frozen.on('error', () => undefined);
    await frozen.connect();
    try {
      await frozen.query(`SET idle_session_timeout = ${leaseMs}`);
      await frozen.query('SELECT pg_advisory_lock($1, hashtext($2))', [0x7477, `${PERIOD.clientId}/${PERIOD.frequency}/${PERIOD.periodStart}`]);
      const started = Date.now();
      assert.equal(await withPeriodLock(db.knex, db.url, PERIOD, { waitTimeoutMs: 20_000 }, async () => 'taken over'), 'taken over');
      assert.ok(Date.now() - started >= leaseMs - 200, 'not before the lease ran out');
    } finally {
      await frozen.end().catch(() => undefined);
    }
    // A live holder keeps its lease well past it.
    const kept = await withPeriodLock(db.knex, db.url, PERIOD, { waitTimeoutMs: 1_000, leaseMs }, async (lock) => {
      // Holding the lock across three leases (not polling for anything).
      await sleep(leaseMs * 3);
      await lock.transaction((trx) => trx.raw('SELECT 1'));
      return !lock.signal.aborted;
    });
    assert.equal(kept, true);
  });

  it("from a pool: one connection serves delivery after delivery, given back with the lock released; a failed or lost holder's connection is discarded", async () => {
    const pool = createLockConnectionPool(db.url, 1);
    try {
      const lockBackend = async (lock: { transaction: <T>(work: (trx: Knex.Transaction) => Promise<T>) => Promise<T> }) =>
        Number((await lock.transaction((trx) => trx.raw<{ rows: { pid: number }[] }>('SELECT pg_backend_pid() AS pid'))).rows[0]?.pid);
      const first = await withPeriodLock(db.knex, pool, PERIOD, { waitTimeoutMs: 2_000 }, lockBackend);
      const second = await withPeriodLock(db.knex, pool, { ...PERIOD, periodStart: '2026-11-25' }, { waitTimeoutMs: 2_000 }, lockBackend);
      assert.equal(second, first, 'the same session, one login');
      assert.equal(pool.totalCount, 1);
      // Given back holding nothing: a connection of its own takes the period at once, and the lease is reset.
      assert.equal(await withPeriodLock(db.knex, db.url, PERIOD, { waitTimeoutMs: 600 }, async () => 'free'), 'free');
      const reused = await pool.connect();
      try {
        assert.equal((await reused.query<{ idle_session_timeout: string }>('SHOW idle_session_timeout')).rows[0]?.idle_session_timeout, '0');
        const held = await reused.query<{ n: number }>("SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()");
        assert.equal(Number(held.rows[0]?.n), 0, 'no advisory lock held');
      } finally {
        reused.release();
      }

      await assert.rejects(
        withPeriodLock(db.knex, pool, PERIOD, { waitTimeoutMs: 2_000 }, async () => {
          throw new Error('the upload failed');
        }),
        /the upload failed/,
      );
      assert.equal(pool.totalCount, 0, "a failed holder's connection is closed, not reused");
      assert.equal(await withPeriodLock(db.knex, db.url, PERIOD, { waitTimeoutMs: 2_000 }, async () => 'released'), 'released');

      const lost = withPeriodLock(db.knex, pool, PERIOD, { waitTimeoutMs: LOCK_WAIT_MS }, async (lock) => {
        await db.knex.raw(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'twoway-report period lock' AND datname = current_database()",
        );
        await waitUntil(() => lock.signal.aborted, { timeoutMs: 10_000, what: 'the pooled lock to notice its connection is gone' });
        await lock.transaction((trx) => trx.raw('SELECT 1'));
      });
      await assert.rejects(lost);
      assert.equal(pool.totalCount, 0, 'a lost connection is not given back');
      assert.equal(await withPeriodLock(db.knex, pool, PERIOD, { waitTimeoutMs: 2_000 }, async () => 'a new connection'), 'a new connection');
    } finally {
      await pool.end();
    }
  });
  it("at its connect, removes the temporary uploads no attempt owns: of this period at once, of the client's other periods once past every deadline", async () => {
    const DAY_MS = 24 * 60 * 60 * 1000;
    const other = (day: string) => NAME.replace('20261124', day);
    const recordedPath = join(remoteDir, `.${other('20261120')}.4e4e4e4e.part`);
    const left = {
      companion: `.${NAME}.sha256.0a0a0a0a.part`,
      // Left while the client still wanted gzip.
      gzipped: `.${NAME}.gz.1b1b1b1b.part`,
      otherFresh: `.${other('20261123')}.2c2c2c2c.part`,
      otherOld: `.${other('20261122')}.3d3d3d3d.part`,
      otherRecorded: `.${other('20261120')}.4e4e4e4e.part`,
      notOurs: '.upload-in-progress.tmp',
    };
    for (const name of Object.values(left)) await writeFile(join(remoteDir, name), 'agent@example.com,Customer Name\r\n');
    const longAgo = new Date(Date.now() - 2 * DAY_MS);
    for (const name of [left.otherOld, left.otherRecorded]) await utimes(join(remoteDir, name), longAgo, longAgo);
    // Another period's delivery recorded its verified upload and has not renamed it yet.
    await db.knex('report_files').insert({
      client_id: 'acme',
      frequency: 'daily',
      period_start: '2026-11-20',
      revision: 1,
      status: 'publishing',
      file_name: other('20261120'),
      remote_path: join(remoteDir, other('20261120')),
      temporary_path: recordedPath,
      sha256: 'c'.repeat(64),
      delivered_sha256: 'c'.repeat(64),
      bytes: 34,
      row_count: 1,
      workflow_id: 'twoway-report/acme/daily/2026-11-20',
      run_id: 'other',
    });

    const result = await attempt({ runId: 'r1', content: 'a\r\n' });
    assert.equal(result.status, 'delivered');
    assert.deepEqual((await files()).sort(), [left.notOurs, left.otherRecorded, left.otherFresh, NAME].sort());
  });
});
