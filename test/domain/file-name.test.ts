import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidClientSettingError } from '../../src/domain/errors.js';
import {
  DEFAULT_FILE_NAME_TEMPLATE,
  MAX_PARTS_PER_REVISION,
  parseFileNameTemplate,
  partCount,
  partFileName,
  reportFileName,
  revisionFileName,
  revisionFileNames,
} from '../../src/domain/file-name.js';
import type { Period } from '../../src/domain/types.js';

const WEEK: Period = {
  frequency: 'weekly',
  timeZone: 'UTC',
  start: '2026-11-23',
  end: '2026-11-30',
  lastDay: '2026-11-29',
  startInstant: Date.UTC(2026, 10, 23),
  endInstant: Date.UTC(2026, 10, 30),
};
const DAY: Period = {
  frequency: 'daily',
  timeZone: 'UTC',
  start: '2026-11-24',
  end: '2026-11-25',
  lastDay: '2026-11-24',
  startInstant: Date.UTC(2026, 10, 24),
  endInstant: Date.UTC(2026, 10, 25),
};

describe('file names', () => {
  it('defaults to twoway_activity_{client}_{frequency}_{start}.csv', () => {
    assert.equal(parseFileNameTemplate('acme', null), DEFAULT_FILE_NAME_TEMPLATE);
    assert.equal(reportFileName(DEFAULT_FILE_NAME_TEMPLATE, { clientId: 'acme', frequency: 'daily', period: DAY }), 'twoway_activity_acme_daily_20261124.csv');
  });

  it('fills {client}, {frequency}, {start} and {end} (the last local day)', () => {
    const template = parseFileNameTemplate('acme', '{client}-{frequency}-{start}-{end}.csv');
    assert.equal(reportFileName(template, { clientId: 'acme', frequency: 'weekly', period: WEEK }), 'acme-weekly-20261123-20261129.csv');
  });

  it('numbers revisions before the extension', () => {
    assert.equal(revisionFileName('twoway_activity_acme_daily_20261124.csv', 1), 'twoway_activity_acme_daily_20261124.csv');
    assert.equal(revisionFileName('twoway_activity_acme_daily_20261124.csv', 2), 'twoway_activity_acme_daily_20261124_r2.csv');
    assert.equal(revisionFileName('report.2026.csv', 12), 'report.2026_r12.csv');
    assert.throws(() => revisionFileName('a.csv', 0), RangeError);
  });

  for (const [template, why] of [
    ['{client}_{frequency}.csv', 'no {start} or {end}: every period would overwrite the last'],
    ['{client}_{start}.txt', 'not ending in .csv'],
    ['{client}_{date}.csv', 'unknown placeholder'],
    ['../{client}_{start}.csv', 'a path'],
    ['{client} {start}.csv', 'a space'],
  ] as const) {
    it(`refuses a template with ${why}`, () => {
      assert.throws(
        () => parseFileNameTemplate('acme', template),
        (error: unknown) => {
          assert.ok(error instanceof InvalidClientSettingError);
          assert.match(error.message, /client "acme": file_name_template is ".*"; allowed: .*\{start\}/);
          assert.ok(error.message.includes(JSON.stringify(template)));
          return true;
        },
      );
    });
  }
});

describe('names of a revision of several files', () => {
  const BASE = 'twoway_activity_acme_daily_20261124.csv';

  it('numbers parts with three digits before the extension, after the revision', () => {
    assert.equal(partFileName(BASE, 1), 'twoway_activity_acme_daily_20261124_part001.csv');
    assert.equal(partFileName(revisionFileName(BASE, 2), 12), 'twoway_activity_acme_daily_20261124_r2_part012.csv');
    assert.equal(partFileName('noextension', MAX_PARTS_PER_REVISION), 'noextension_part999');
    assert.throws(() => partFileName(BASE, 0), RangeError);
    assert.throws(() => partFileName(BASE, MAX_PARTS_PER_REVISION + 1), RangeError);
  });

  it('cuts rows into parts of at most N rows; no rows is one part (the header)', () => {
    assert.equal(partCount(0, 10), 1);
    assert.equal(partCount(10, 10), 1);
    assert.equal(partCount(11, 10), 2);
    assert.equal(partCount(3, 1), 3);
  });

  it('names the manifest after the data file as if unsplit, with what delivery appends', () => {
    assert.deepEqual(revisionFileNames(BASE, 1, '.gz', null), {
      data: ['twoway_activity_acme_daily_20261124.csv.gz'],
      manifest: 'twoway_activity_acme_daily_20261124.csv.gz.manifest.json',
      signature: 'twoway_activity_acme_daily_20261124.csv.gz.manifest.json.sig',
    });
    assert.deepEqual(revisionFileNames(BASE, 2, '', 3), {
      data: [
        'twoway_activity_acme_daily_20261124_r2_part001.csv',
        'twoway_activity_acme_daily_20261124_r2_part002.csv',
        'twoway_activity_acme_daily_20261124_r2_part003.csv',
      ],
      manifest: 'twoway_activity_acme_daily_20261124_r2.csv.manifest.json',
      signature: 'twoway_activity_acme_daily_20261124_r2.csv.manifest.json.sig',
    });
  });
});
