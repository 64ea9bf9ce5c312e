import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../../../src/cli/run-cli.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

describe('status: the ledger, with the files of a revision of several (real PostgreSQL)', () => {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase();
    await db.knex('clients').insert({ id: 'acme', name: 'Acme' });
    const period = { client_id: 'acme', frequency: 'daily', period_end: '2026-11-25', workflow_id: 'twoway-report/acme/daily', attempts: 1 };
    await db.knex('report_runs').insert([
      {
        ...period,
        period_start: '2026-11-24',
        status: 'delivered',
        run_id: 'split',
        revision: 1,
        file_name: 'a.csv.manifest.json',
        remote_path: '/in/a.csv.manifest.json',
      },
      {
        ...period,
        period_start: '2026-11-23',
        status: 'delivered',
        run_id: 'many',
        revision: 1,
        file_name: 'b.csv.manifest.json',
        remote_path: '/in/b.csv.manifest.json',
      },
      { ...period, period_start: '2026-11-22', status: 'delivered', run_id: 'one', revision: 1, file_name: 'c.csv', remote_path: '/in/c.csv' },
    ]);
    const revision = (period_start: string, file_name: string) => ({
      client_id: 'acme',
      frequency: 'daily',
      period_start,
      revision: 1,
      status: 'delivered',
      file_name,
      remote_path: `/in/${file_name}`,
      sha256: 'a'.repeat(64),
      delivered_sha256: 'a'.repeat(64),
      bytes: 10,
      row_count: 1,
      workflow_id: 'w',
      run_id: 'r',
    });
    await db
      .knex('report_files')
      .insert([revision('2026-11-24', 'a.csv.manifest.json'), revision('2026-11-23', 'b.csv.manifest.json'), revision('2026-11-22', 'c.csv')]);
    const parts = (period_start: string, names: string[]) =>
      names.map((file_name, index) => ({
        client_id: 'acme',
        frequency: 'daily',
        period_start,
        revision: 1,
        part: index + 1,
        kind: file_name.endsWith('.manifest.json') ? 'manifest' : 'data',
        status: 'delivered',
        file_name,
        remote_path: `/in/${file_name}`,
        sha256: 'a'.repeat(64),
        delivered_sha256: 'a'.repeat(64),
        bytes: 10,
      }));
    await db
      .knex('report_file_parts')
      .insert([
        ...parts('2026-11-24', ['a_part001.csv', 'a_part002.csv', 'a.csv.manifest.json']),
        ...parts('2026-11-23', ['b_part001.csv', 'b_part002.csv', 'b_part003.csv', 'b_part004.csv', 'b_part005.csv', 'b.csv.manifest.json']),
      ]);
  });

  after(async () => {
    await db?.drop();
  });

  it("lists a revision's other files after its file: all of a few, the first and last of many, nothing for a single file", async () => {
    const stdout = new PassThrough();
    let out = '';
    stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const stderr = new PassThrough() as PassThrough & NodeJS.WriteStream;
    const status = await runCli(['status', '--client', 'acme'], { env: { DATABASE_URL: db.url }, stdout, stderr });
    assert.equal(status, 0);
    const lines = out.trim().split('\n');
    const of = (period: string) => lines.find((line) => line.includes(` ${period} r1 `)) ?? '';
    assert.match(of('2026-11-24'), / \/in\/a\.csv\.manifest\.json \+ a_part001\.csv, a_part002\.csv$/);
    assert.match(of('2026-11-23'), / \/in\/b\.csv\.manifest\.json \+ b_part001\.csv … b_part005\.csv \(5 files\)$/);
    assert.match(of('2026-11-22'), / \/in\/c\.csv$/);
  });
});
