import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MANIFEST_VERSION, renderManifest, type ManifestInput } from '../../src/domain/manifest.js';
import { periodContaining } from '../../src/domain/periods.js';
import { REPORT_HEADER } from '../../src/domain/report-row.js';

const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);
const SHA_C = 'c'.repeat(64);

const INPUT: ManifestInput = {
  clientId: 'acme',
  // Chicago is UTC-6 in November: the local day starts at 06:00 UTC.
  period: periodContaining('daily', '2026-11-24', 'America/Chicago'),
  revision: 2,
  replaces: { revision: 1, name: 'twoway_activity_acme_daily_20261124.csv.gz.manifest.json' },
  files: [
    { name: 'twoway_activity_acme_daily_20261124_r2_part001.csv.gz', rowCount: 2, bytes: 120, sha256: SHA_A, csvSha256: SHA_B },
    { name: 'twoway_activity_acme_daily_20261124_r2_part002.csv.gz', rowCount: 1, bytes: 90, sha256: SHA_C, csvSha256: SHA_A },
  ],
};

describe('renderManifest', () => {
  it('writes every field the contract names, in a fixed order, as indented JSON ending in a newline', () => {
    const text = renderManifest(INPUT);
    assert.ok(text.endsWith('}\n'));
    const manifest = JSON.parse(text) as Record<string, unknown>;
    assert.deepEqual(Object.keys(manifest), [
      'manifestVersion',
      'client',
      'frequency',
      'timeZone',
      'period',
      'revision',
      'replaces',
      'rowCount',
      'columns',
      'files',
    ]);
    assert.deepEqual(manifest, {
      manifestVersion: MANIFEST_VERSION,
      client: 'acme',
      frequency: 'daily',
      timeZone: 'America/Chicago',
      period: { start: '2026-11-24', end: '2026-11-25', lastDay: '2026-11-24', startUtc: '2026-11-24T06:00:00.000Z', endUtc: '2026-11-25T06:00:00.000Z' },
      revision: 2,
      replaces: { revision: 1, name: 'twoway_activity_acme_daily_20261124.csv.gz.manifest.json' },
      rowCount: 3,
      columns: [...REPORT_HEADER],
      files: [
        { name: 'twoway_activity_acme_daily_20261124_r2_part001.csv.gz', rowCount: 2, bytes: 120, sha256: SHA_A, csvSha256: SHA_B },
        { name: 'twoway_activity_acme_daily_20261124_r2_part002.csv.gz', rowCount: 1, bytes: 90, sha256: SHA_C, csvSha256: SHA_A },
      ],
    });
    assert.match(text, /^\{\n {2}"manifestVersion": 1,\n {2}"client": "acme",\n/);
  });

  it('gives identical bytes for an identical revision, whatever order the caller built its input in', () => {
    const reordered: ManifestInput = {
      files: INPUT.files.map((file) => ({ csvSha256: file.csvSha256, sha256: file.sha256, bytes: file.bytes, rowCount: file.rowCount, name: file.name })),
      replaces: INPUT.replaces,
      revision: INPUT.revision,
      period: { ...INPUT.period },
      clientId: INPUT.clientId,
    };
    assert.equal(renderManifest(reordered), renderManifest(INPUT));
  });

  it('says null for what the first revision replaces, and carries the local dates across a DST change as UTC instants', () => {
    // Berlin leaves summer time on 2026-10-25: that day is 25 hours long.
    const first = JSON.parse(renderManifest({ ...INPUT, revision: 1, replaces: null, period: periodContaining('daily', '2026-10-25', 'Europe/Berlin') })) as {
      replaces: unknown;
      period: { startUtc: string; endUtc: string };
    };
    assert.equal(first.replaces, null);
    assert.deepEqual([first.period.startUtc, first.period.endUtc], ['2026-10-24T22:00:00.000Z', '2026-10-25T23:00:00.000Z']);
  });

  it('refuses a manifest of no files, or one that replaces itself or a later revision', () => {
    assert.throws(() => renderManifest({ ...INPUT, files: [] }), /at least one data file/);
    assert.throws(() => renderManifest({ ...INPUT, replaces: { revision: 2, name: 'x' } }), /cannot replace revision 2/);
  });
});
