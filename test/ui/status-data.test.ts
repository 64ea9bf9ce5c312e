import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Knex } from 'knex';
import { cellKey, loadPeriodDetail, loadRepairPeriods, loadStatusGrid } from '../../src/ui/status-data.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const NOW = Date.UTC(2026, 11, 2, 12);
const EARLIER = new Date(NOW - 3_600_000);
const LATER = new Date(NOW - 60_000);

async function seed(knex: Knex): Promise<void> {
  await knex('clients').insert(
    ['acme', 'hooli', 'initech'].map((id) => ({ id, name: id.toUpperCase(), timezone: 'UTC', frequency: id === 'initech' ? 'weekly' : 'daily' })),
  );
  const state = (client_id: string, period_start: string, value: string, extra: object = {}) => ({
    client_id,
    frequency: client_id === 'initech' ? 'weekly' : 'daily',
    period_start,
    period_end_at: new Date(NOW),
    state: value,
    since: EARLIER,
    due_at: EARLIER,
    updated_at: EARLIER,
    ...extra,
  });
  await knex('period_states').insert([
    state('acme', '2026-11-30', 'delivered'),
    state('acme', '2026-11-29', 'delivered'),
    state('hooli', '2026-11-30', 'failed', { last_error: 'login refused', workflow_id: 'twoway-report/hooli/daily/2026-11-30' }),
    state('hooli', '2026-11-29', 'failed', { last_error: 'login refused' }),
    state('hooli', '2026-11-28', 'missing'),
    state('hooli', '2026-11-27', 'late'),
    state('initech', '2026-11-23', 'missing'),
  ]);
  const run = (client_id: string, period_start: string, status: string, started_at: Date, extra: object = {}) => ({
    client_id,
    frequency: 'daily',
    period_start,
    period_end: period_start,
    status,
    workflow_id: `twoway-report/${client_id}/daily/${period_start}`,
    run_id: `${status}-${started_at.getTime()}`,
    started_at,
    attempts: 2,
    ...extra,
  });
  await knex('report_runs').insert([
    run('hooli', '2026-11-30', 'failed', EARLIER, { last_error: 'login refused', finished_at: EARLIER }),
    // A rerun started after the watchdog's judgement: running now.
    run('hooli', '2026-11-29', 'running', LATER),
  ]);
  const file = (client_id: string, period_start: string, revision: number, note: string | null) => ({
    client_id,
    frequency: 'daily',
    period_start,
    revision,
    status: 'delivered',
    file_name: `${client_id}_${period_start}_r${revision}.csv`,
    remote_path: `/inbound/${client_id}/${client_id}_${period_start}_r${revision}.csv`,
    sha256: String(revision).repeat(64),
    delivered_sha256: String(revision).repeat(64),
    bytes: 100 * revision,
    row_count: 10 * revision,
    workflow_id: `twoway-report/${client_id}/daily/${period_start}`,
    run_id: `run-${revision}`,
    delivered_at: new Date(NOW - 1_000),
    note,
  });
  await knex('report_files').insert([
    file('acme', '2026-11-30', 1, null),
    file('acme', '2026-11-29', 1, null),
    file('acme', '2026-11-29', 2, 'forced: the source changed'),
  ]);
  // Revision 2 is split: two parts, and the manifest its report_files row names.
  const part = (number: number, kind: string, file_name: string) => ({
    client_id: 'acme',
    frequency: 'daily',
    period_start: '2026-11-29',
    revision: 2,
    part: number,
    kind,
    status: 'delivered',
    file_name,
    remote_path: `/inbound/acme/${file_name}`,
    sha256: 'c'.repeat(64),
    delivered_sha256: 'c'.repeat(64),
    bytes: 100,
    row_count: kind === 'data' ? 10 : null,
  });
  await knex('report_file_parts').insert([
    part(1, 'data', 'acme_2026-11-29_r2_part001.csv'),
    part(2, 'data', 'acme_2026-11-29_r2_part002.csv'),
    part(3, 'manifest', 'acme_2026-11-29_r2.csv'),
  ]);
}

describe('status page data (real PostgreSQL)', () => {
  let database: TestDatabase;

  before(async () => {
    database = await createTestDatabase();
    await seed(database.knex);
  });
  after(() => database.drop());

  it('reads the grid set-wise: columns per frequency, the watchdog state corrected by the ledger', async () => {
    const grid = await loadStatusGrid(database.knex, NOW);
    assert.deepEqual(grid.columns, { daily: ['2026-11-30', '2026-11-29', '2026-11-28', '2026-11-27'], weekly: ['2026-11-23'], monthly: [] });
    const state = (client: string, frequency: 'daily' | 'weekly', start: string) => grid.cells.get(cellKey(client, frequency, start))?.state;
    assert.equal(state('acme', 'daily', '2026-11-30'), 'delivered');
    assert.equal(state('acme', 'daily', '2026-11-29'), 'restated');
    assert.equal(grid.cells.get(cellKey('acme', 'daily', '2026-11-29'))?.revision, 2);
    assert.equal(state('hooli', 'daily', '2026-11-30'), 'failed');
    assert.equal(state('hooli', 'daily', '2026-11-29'), 'running', 'a run newer than the judgement shows');
    assert.equal(state('hooli', 'daily', '2026-11-28'), 'missing');
    assert.equal(state('hooli', 'daily', '2026-11-27'), 'late');
    assert.equal(state('initech', 'weekly', '2026-11-23'), 'missing');
    assert.equal(grid.deliveredToday, 3);
    assert.deepEqual(
      grid.clients.map((client) => client.id),
      ['acme', 'hooli', 'initech'],
    );
  });

  it('keeps only the newest columns asked for', async () => {
    const grid = await loadStatusGrid(database.knex, NOW, 2);
    assert.deepEqual(grid.columns.daily, ['2026-11-30', '2026-11-29']);
  });

  it('opens a period: every revision with its note, every run with attempts and last error', async () => {
    const restated = await loadPeriodDetail(database.knex, 'acme', 'daily', '2026-11-29');
    assert.equal(restated.cell.state, 'restated');
    assert.deepEqual(
      restated.revisions.map((file) => [file.revision, file.note, file.rowCount, file.bytes, file.otherFiles]),
      [
        [1, null, 10, 100, []],
        [2, 'forced: the source changed', 20, 200, ['acme_2026-11-29_r2_part001.csv', 'acme_2026-11-29_r2_part002.csv']],
      ],
    );
    const failed = await loadPeriodDetail(database.knex, 'hooli', 'daily', '2026-11-30');
    assert.equal(failed.cell.state, 'failed');
    assert.equal(failed.cell.error, 'login refused');
    assert.deepEqual(
      failed.runs.map((run) => [run.status, run.attempts, run.lastError]),
      [['failed', 2, 'login refused']],
    );
  });

  it('lists for a repair exactly the failed and missing periods, not one a rerun is already running', async () => {
    const all = await loadRepairPeriods(database.knex, null);
    assert.deepEqual(
      all.map((period) => `${period.clientId} ${period.periodStart} ${period.state}`),
      ['hooli 2026-11-28 missing', 'hooli 2026-11-30 failed', 'initech 2026-11-23 missing'],
    );
    assert.deepEqual(
      (await loadRepairPeriods(database.knex, 'initech')).map((period) => period.periodStart),
      ['2026-11-23'],
    );
    assert.deepEqual(await loadRepairPeriods(database.knex, 'acme'), []);
  });
});
