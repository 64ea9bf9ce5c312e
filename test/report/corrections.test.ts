import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { REPORT_HEADER, type ReportRecord } from '../../src/domain/report-row.js';
import { correctionsFileName, csvRecords, diffReportFiles, fieldOf } from '../../src/report/corrections.js';
import { createReportCsv } from '../../src/report/csv.js';

const EVENT_TIME = REPORT_HEADER.indexOf('event_time');
const csv = createReportCsv();

function row(time: string, values: Record<number, string | null> = {}): ReportRecord {
  return REPORT_HEADER.map((_, index) => (index === EVENT_TIME ? time : (values[index] ?? null)));
}

const file = (rows: ReportRecord[]) => csv.header + csv.stringify(rows);

async function* chunksOf(text: string, size: number): AsyncGenerator<string> {
  for (let at = 0; at < text.length; at += size) yield text.slice(at, at + size);
}

describe('corrections: the rows a revision adds and removes', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'twoway-corrections-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('splits records at CRLF outside quotes only, whatever the chunk size', async () => {
    const text = file([row('2026-11-24T10:00:00.000Z', { 0: 'a,"b"\r\nc', 16: 'Line one\nline two' }), row('2026-11-24T10:00:01.000Z', { 1: 'Zoë 李' })]);
    for (const size of [1, 2, 3, 7, 1000]) {
      const records: string[] = [];
      for await (const record of csvRecords(chunksOf(text, size))) records.push(record);
      assert.equal(records.length, 3, `chunks of ${size}`);
      assert.equal(records[0], REPORT_HEADER.join(','));
      assert.equal(fieldOf(records[1] as string, 0), 'a,"b"\r\nc');
      assert.equal(fieldOf(records[1] as string, EVENT_TIME), '2026-11-24T10:00:00.000Z');
      assert.equal(fieldOf(records[2] as string, 1), 'Zoë 李');
    }
  });

  it('counts and lists added and removed rows, a changed row as both, duplicates by count, in file order', async () => {
    const kept = row('2026-11-24T09:00:00.000Z', { 0: 'kept@example.com' });
    const renamedBefore = row('2026-11-24T10:00:00.000Z', { 0: 'agent@example.com', 1: 'Ann, "the" first' });
    const renamedAfter = row('2026-11-24T10:00:00.000Z', { 0: 'agent@example.com', 1: 'Anne' });
    const twin = row('2026-11-24T11:00:00.000Z', { 5: 'cc-1' });
    const deleted = row('2026-11-24T12:00:00.000Z', { 5: 'cc-gone', 16: 'note\r\nwith a break' });
    const late = row('2026-11-24T13:30:00.000Z', { 5: 'cc-late' });
    const previous = join(dir, 'r1.csv');
    const current = join(dir, 'r2.csv');
    await writeFile(previous, file([kept, renamedBefore, twin, twin, deleted]));
    await writeFile(current, file([kept, renamedAfter, twin, late]));
    const correctionsPath = join(dir, 'r2.corrections.csv');
    const changes = await diffReportFiles({ path: previous }, { path: current }, correctionsPath);
    assert.deepEqual(changes, { rowsAdded: 2, rowsRemoved: 3 });
    const text = await readFile(correctionsPath, 'utf8');
    const parsed = parse(text, { record_delimiter: '\r\n' }) as string[][];
    assert.deepEqual(parsed[0], [...REPORT_HEADER, 'change']);
    assert.deepEqual(
      parsed.slice(1).map((record) => [record[EVENT_TIME], record[1], record[5], record[20]]),
      [
        ['2026-11-24T10:00:00.000Z', 'Ann, "the" first', '', 'removed'],
        ['2026-11-24T10:00:00.000Z', 'Anne', '', 'added'],
        ['2026-11-24T11:00:00.000Z', '', 'cc-1', 'removed'],
        ['2026-11-24T12:00:00.000Z', '', 'cc-gone', 'removed'],
        ['2026-11-24T13:30:00.000Z', '', 'cc-late', 'added'],
      ],
    );
    assert.equal(parsed[4]?.[16], 'note\r\nwith a break');
  });

  it('reads the kept revision from its gzip; identical files change nothing and the file has its header only', async () => {
    const rows = [row('2026-11-24T09:00:00.000Z', { 0: 'a' }), row('2026-11-24T09:00:00.000Z', { 0: 'b' })];
    const current = join(dir, 'same.csv');
    await writeFile(current, file(rows));
    const correctionsPath = join(dir, 'same.corrections.csv');
    assert.deepEqual(await diffReportFiles({ gzip: gzipSync(file([...rows].reverse())) }, { path: current }, correctionsPath), {
      rowsAdded: 0,
      rowsRemoved: 0,
    });
    assert.equal(await readFile(correctionsPath, 'utf8'), `${REPORT_HEADER.join(',')},change\r\n`);
    assert.deepEqual(await diffReportFiles({ gzip: gzipSync(file([])) }, { path: current }), { rowsAdded: 2, rowsRemoved: 0 });
  });

  it('names the corrections file after the revision', () => {
    assert.equal(correctionsFileName('acme_daily_20261124_r2.csv'), 'acme_daily_20261124_r2.corrections.csv');
  });
});
