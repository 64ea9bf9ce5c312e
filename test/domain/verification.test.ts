import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { reportFileName, revisionFileName } from '../../src/domain/file-name.js';
import { periodContaining } from '../../src/domain/periods.js';
import type { PeriodFile } from '../../src/domain/publication.js';
import { expectedRemoteFiles, periodFileMatcher, verifyPeriodFiles, type FileDigest } from '../../src/domain/verification.js';

const DIR = '/in';
const BASE = 'twoway_activity_acme_daily_20261124.csv';
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

function file(revision: number, status: PeriodFile['status'], patch: Partial<PeriodFile> = {}): PeriodFile {
  const fileName = revisionFileName(BASE, revision);
  return {
    revision,
    status,
    fileName,
    remotePath: `${DIR}/${fileName}`,
    temporaryPath: null,
    sha256: sha(`csv ${revision}`),
    deliveredSha256: sha(`csv ${revision}`),
    bytes: 5,
    rowCount: 1,
    workflowId: 'wf',
    runId: 'run',
    note: null,
    parts: [],
    ...patch,
  };
}

const digestOf = (revision: number): FileDigest => ({ bytes: 5, sha256: sha(`csv ${revision}`), contentSha256: null });

describe('expectedRemoteFiles', () => {
  it("a delivered revision's data file is required, its checksum file only while the client wants one; abandoned revisions expect nothing", () => {
    const files = [file(1, 'delivered'), file(2, 'abandoned')];
    const summary = (checksumFile: boolean) =>
      expectedRemoteFiles(files, { checksumFile }, sha).map((expected) => [expected.path, expected.role, expected.required]);
    assert.deepEqual(summary(true), [
      [`${DIR}/${BASE}`, 'data', true],
      [`${DIR}/${BASE}.sha256`, 'checksum', true],
    ]);
    assert.deepEqual(summary(false), [
      [`${DIR}/${BASE}`, 'data', true],
      [`${DIR}/${BASE}.sha256`, 'checksum', false],
    ]);
  });

  it('expects the checksum file to hold the sha256sum line of the delivered bytes', () => {
    const delivered = file(1, 'delivered');
    const [, checksum] = expectedRemoteFiles([delivered], { checksumFile: true }, sha);
    const line = `${delivered.deliveredSha256}  ${BASE}\n`;
    assert.deepEqual(checksum?.digest, { bytes: line.length, sha256: sha(line), contentSha256: null });
  });

  it("expects a gzip file's bytes and, inside, the CSV's sha256", () => {
    const gz = file(1, 'delivered', { fileName: `${BASE}.gz`, remotePath: `${DIR}/${BASE}.gz`, deliveredSha256: sha('gz'), bytes: 9 });
    const [data] = expectedRemoteFiles([gz], { checksumFile: false }, sha);
    assert.deepEqual(data?.digest, { bytes: 9, sha256: sha('gz'), contentSha256: gz.sha256 });
  });

  it('a publishing revision may be under its name or its recorded temporary name; neither is required', () => {
    const publishing = file(1, 'publishing', { temporaryPath: `${DIR}/.${BASE}.0011aabb.part` });
    assert.deepEqual(
      expectedRemoteFiles([publishing], { checksumFile: true }, sha).map((expected) => [expected.role, expected.required, expected.ledgerStatus]),
      [
        ['data', false, 'publishing'],
        ['checksum', false, 'publishing'],
        ['temporary', false, 'publishing'],
      ],
    );
  });
});

describe('periodFileMatcher', () => {
  it("matches the period's revisions, companions and split parts, and no other period's names", () => {
    const matches = periodFileMatcher(BASE, []);
    for (const name of [BASE, `${BASE}.gz`, `${BASE}.sha256`, `${BASE}.gz.sha256`, 'twoway_activity_acme_daily_20261124_r12.csv', `${BASE}.manifest.json`]) {
      assert.ok(matches(name), name);
    }
    assert.ok(matches('twoway_activity_acme_daily_20261124_part001.csv'));
    assert.ok(matches('twoway_activity_acme_daily_20261124_r2_part003.csv.gz'));
    for (const name of [
      'twoway_activity_acme_daily_20261125.csv',
      'twoway_activity_acme_weekly_20261124.csv',
      'twoway_activity_acme_daily_20261124',
      'twoway_activity_acme_daily_20261124_copy.csv',
      'other_twoway_activity_acme_daily_20261124.csv',
      `.${BASE}.0011aabb.part`,
    ]) {
      assert.equal(matches(name), false, name);
    }
  });

  it('works from any template: placeholders anywhere, dots in the literal part, {end} only', () => {
    const week = periodContaining('weekly', '2026-11-25', 'UTC');
    for (const template of ['{start}-{client}.report.csv', 'acme.{end}.csv', '{client}_{frequency}_{start}_{end}.csv']) {
      const base = reportFileName(template, { clientId: 'acme', frequency: 'weekly', period: week });
      const matches = periodFileMatcher(base, []);
      assert.ok(matches(base), `${template}: ${base}`);
      assert.ok(matches(revisionFileName(base, 3)), `${template}: revision 3`);
      assert.ok(matches(`${revisionFileName(base, 2)}.gz.sha256`), `${template}: companion of revision 2`);
      const nextWeek = reportFileName(template, { clientId: 'acme', frequency: 'weekly', period: periodContaining('weekly', '2026-12-02', 'UTC') });
      assert.equal(matches(nextWeek), false, `${template}: the next week's ${nextWeek}`);
      assert.equal(matches(revisionFileName(nextWeek, 2)), false, `${template}: the next week's revision 2`);
    }
  });

  it('also matches names recorded under an earlier template', () => {
    const old = file(2, 'delivered', { fileName: 'acme-20261124_r2.csv.gz' });
    const matches = periodFileMatcher(BASE, [old]);
    assert.ok(matches('acme-20261124_r3.csv'));
    assert.ok(matches(BASE));
    assert.equal(matches('acme-20261125.csv'), false);
  });
});

describe('verifyPeriodFiles', () => {
  const delivered = [file(1, 'delivered'), file(2, 'delivered')];
  const expected = expectedRemoteFiles(delivered, { checksumFile: false }, sha);

  it('ok for every file the ledger says delivered and the server holds with the same bytes', () => {
    const observed = new Map([
      [delivered[0]!.remotePath, digestOf(1)],
      [delivered[1]!.remotePath, digestOf(2)],
    ]);
    const lines = verifyPeriodFiles({ files: delivered, expected, listed: [], observed });
    assert.deepEqual(
      lines.map((line) => [line.verdict, line.path]),
      delivered.map((each) => ['ok', each.remotePath]),
    );
    assert.match(lines[1]!.detail, new RegExp(`^revision 2: 5 bytes, sha256 ${sha('csv 2')}$`));
  });

  it('missing says a receiver may have picked the file up; different shows both sizes and hashes', () => {
    const observed = new Map<string, FileDigest | null>([
      [delivered[0]!.remotePath, null],
      [delivered[1]!.remotePath, { bytes: 6, sha256: sha('tampered'), contentSha256: null }],
    ]);
    const [missing, different] = verifyPeriodFiles({ files: delivered, expected, listed: [], observed });
    assert.equal(missing?.verdict, 'missing');
    assert.match(missing?.detail ?? '', /the ledger says delivered \(5 bytes, sha256 \w{64}\); the server does not have it\. .*pick files up/);
    assert.equal(different?.verdict, 'different');
    assert.equal(different?.detail, `revision 2: the ledger says 5 bytes, sha256 ${sha('csv 2')}; the server has 6 bytes, sha256 ${sha('tampered')}`);
  });

  it('a gzip file with other bytes but the same CSV inside is ok, and says so', () => {
    const gz = file(1, 'delivered', { fileName: `${BASE}.gz`, remotePath: `${DIR}/${BASE}.gz`, deliveredSha256: sha('gz'), bytes: 9 });
    const observed = new Map([[gz.remotePath, { bytes: 10, sha256: sha('other gz'), contentSha256: gz.sha256 }]]);
    const [line] = verifyPeriodFiles({ files: [gz], expected: expectedRemoteFiles([gz], { checksumFile: false }, sha), listed: [], observed });
    assert.equal(line?.verdict, 'ok');
    assert.match(line?.detail ?? '', /another gzip of the same CSV/);
  });

  it('unknown for listed names the ledger does not account for: leftover temporaries, other revisions, names given up', () => {
    const files = [...delivered, file(3, 'abandoned', { note: 'another file stands under this name' })];
    const listed = [
      { path: delivered[0]!.remotePath, temporaryOf: null },
      { path: `${DIR}/.${BASE}.0011aabb.part`, temporaryOf: BASE },
      { path: `${DIR}/twoway_activity_acme_daily_20261124_r9.csv`, temporaryOf: null },
      { path: files[2]!.remotePath, temporaryOf: null },
    ];
    const observed = new Map<string, FileDigest | null>([
      [delivered[0]!.remotePath, digestOf(1)],
      [delivered[1]!.remotePath, digestOf(2)],
      ...listed.slice(1).map((entry) => [entry.path, digestOf(7)] as const),
    ]);
    const lines = verifyPeriodFiles({ files, expected: expectedRemoteFiles(files, { checksumFile: false }, sha), listed, observed });
    assert.deepEqual(
      lines.map((line) => [line.verdict, line.path.slice(DIR.length + 1)]),
      [
        ['ok', BASE],
        ['ok', 'twoway_activity_acme_daily_20261124_r2.csv'],
        ['unknown', `.${BASE}.0011aabb.part`],
        ['unknown', 'twoway_activity_acme_daily_20261124_r3.csv'],
        ['unknown', 'twoway_activity_acme_daily_20261124_r9.csv'],
      ],
    );
    assert.match(lines[2]!.detail, /temporary upload of twoway_activity_acme_daily_20261124\.csv the ledger does not know/);
    assert.match(lines[3]!.detail, /the ledger gave up revision 3 under this name \(another file stands under this name\)/);
    assert.match(lines[4]!.detail, /^5 bytes, sha256 \w{64}: not in the ledger/);
  });

  it('a listed file gone before it was hashed gets no line', () => {
    const listed = [{ path: `${DIR}/twoway_activity_acme_daily_20261124_r9.csv`, temporaryOf: null }];
    assert.deepEqual(verifyPeriodFiles({ files: [], expected: [], listed, observed: new Map([[listed[0]!.path, null]]) }), []);
  });

  it('a publishing revision: its recorded temporary upload is ok; with neither it nor the file there, missing', () => {
    const temporaryPath = `${DIR}/.${BASE}.0011aabb.part`;
    const publishing = [file(1, 'publishing', { temporaryPath })];
    const expectedPublishing = expectedRemoteFiles(publishing, { checksumFile: true }, sha);
    const listed = [{ path: temporaryPath, temporaryOf: BASE }];
    const waiting = verifyPeriodFiles({ files: publishing, expected: expectedPublishing, listed, observed: new Map([[temporaryPath, digestOf(1)]]) });
    assert.deepEqual(
      waiting.map((line) => [line.verdict, line.path]),
      [['ok', temporaryPath]],
    );
    assert.match(waiting[0]!.detail, /^temporary upload of revision 1 \(the ledger says publishing/);

    const gone = verifyPeriodFiles({ files: publishing, expected: expectedPublishing, listed: [], observed: new Map() });
    assert.deepEqual(
      gone.map((line) => [line.verdict, line.path]),
      [['missing', publishing[0]!.remotePath]],
    );
    assert.match(gone[0]!.detail, /neither the file .* nor its temporary upload is there/);
  });
});
