import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { splitCsvFile } from '../../src/delivery/split-file.js';
import { REPORT_HEADER, type ReportRecord } from '../../src/domain/report-row.js';
import { createReportCsv } from '../../src/report/csv.js';

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');
const VALUES = ['plain', 'with, comma', 'say "hi"', 'line one\nline two', 'carriage\rreturn', 'crlf\r\ninside', '李 Zoë 😀', '', '"', '\n'];

/** Records whose fields hold every character a CSV writer must quote, in many combinations. */
function records(count: number): ReportRecord[] {
  return Array.from({ length: count }, (_, row) =>
    REPORT_HEADER.map((_, column) => (column === 0 ? `row-${row}` : (VALUES[(row * 7 + column) % VALUES.length] ?? null))),
  );
}

describe('splitCsvFile: cuts a CSV into parts of at most N records, each with the header', () => {
  let dir: string;
  let files = 0;
  const csv = createReportCsv();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'twoway-split-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function source(rows: ReportRecord[]): Promise<{ path: string; text: string }> {
    files += 1;
    const text = csv.header + csv.stringify(rows);
    const path = join(dir, `source-${files}.csv`);
    await writeFile(path, text);
    return { path, text };
  }
  const partPath = (label: string) => (part: number) => join(dir, `${label}.part${part}.tmp`);

  it('keeps quoted CR and LF inside their record, across read chunks, and loses or repeats no byte', async () => {
    // About 4 MB: several 1 MB read chunks, with quoted line breaks across their boundaries.
    const rows = records(20_000);
    const { path, text } = await source(rows);
    const split = await splitCsvFile(path, { maxRowsPerFile: 6_999, partPath: partPath('big') });
    assert.deepEqual(
      split.parts.map((part) => part.rowCount),
      [6_999, 6_999, 6_002],
    );
    assert.deepEqual([split.sha256, split.bytes, split.rowCount], [sha256(text), Buffer.byteLength(text), 20_000]);
    const contents = await Promise.all(split.parts.map((part) => readFile(part.path)));
    let offset = 0;
    for (const [index, content] of contents.entries()) {
      const part = split.parts[index];
      assert.ok(content.toString('utf8').startsWith(csv.header), `part ${index + 1} starts with the header`);
      assert.deepEqual([part?.bytes, part?.sha256], [content.length, sha256(content)]);
      const parsed = parse(content, { relaxColumnCount: false, bom: false }) as string[][];
      assert.deepEqual(parsed[0], [...REPORT_HEADER]);
      assert.deepEqual(
        parsed.slice(1),
        rows.slice(offset, offset + (part?.rowCount ?? 0)).map((row) => row.map((value) => value ?? '')),
      );
      offset += part?.rowCount ?? 0;
    }
    const rejoined = Buffer.concat([contents[0] as Buffer, ...contents.slice(1).map((content) => content.subarray(Buffer.byteLength(csv.header)))]);
    assert.equal(sha256(rejoined), sha256(text), 'the first part and the others without their header are the file');
    await split.dispose();
    assert.deepEqual(
      (await readdir(dir)).filter((name) => name.startsWith('big.')),
      [],
    );
  });

  it('makes no empty last part when the rows divide evenly, and one header-only part for no rows', async () => {
    const even = await splitCsvFile((await source(records(6))).path, { maxRowsPerFile: 3, partPath: partPath('even') });
    assert.deepEqual(
      even.parts.map((part) => part.rowCount),
      [3, 3],
    );
    const empty = await source([]);
    const headerOnly = await splitCsvFile(empty.path, { maxRowsPerFile: 3, partPath: partPath('empty') });
    assert.equal(headerOnly.parts.length, 1);
    assert.equal(await readFile(headerOnly.parts[0]?.path ?? '', 'utf8'), csv.header);
    assert.equal(headerOnly.rowCount, 0);
    await even.dispose();
    await headerOnly.dispose();
  });

  it('leaves no part behind when it fails: a missing file, a file without a header, an abort', async () => {
    await assert.rejects(splitCsvFile(join(dir, 'missing.csv'), { maxRowsPerFile: 3, partPath: partPath('missing') }), { code: 'ENOENT' });
    const noHeader = join(dir, 'no-header.csv');
    await writeFile(noHeader, 'agent_email,"unterminated\r\n');
    await assert.rejects(splitCsvFile(noHeader, { maxRowsPerFile: 3, partPath: partPath('no-header') }), /no complete header record/);
    const aborted = new AbortController();
    const big = await source(records(20_000));
    const splitting = splitCsvFile(big.path, {
      maxRowsPerFile: 100,
      partPath: partPath('aborted'),
      onBytes: (bytes) => {
        if (bytes > 1024 * 1024) aborted.abort(new Error('stop'));
      },
      signal: aborted.signal,
    });
    await assert.rejects(splitting);
    assert.deepEqual(
      (await readdir(dir)).filter((name) => /^(missing|no-header|aborted)\.part/.test(name)),
      [],
    );
  });
});
