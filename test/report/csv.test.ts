import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { REPORT_HEADER, type ReportRecord } from '../../src/domain/report-row.js';
import { createReportCsv } from '../../src/report/csv.js';

function record(values: Record<number, string | null>): ReportRecord {
  return REPORT_HEADER.map((_, index) => values[index] ?? null);
}

describe('report CSV', () => {
  const csv = createReportCsv();

  it('starts with the header in column order, ended by CRLF', () => {
    assert.equal(csv.header, `${REPORT_HEADER.join(',')}\r\n`);
  });

  it('quotes exactly the fields holding a comma, a double quote, CR or LF', () => {
    const line = csv.stringify([
      record({ 0: 'plain', 1: 'a,b', 2: 'say "hi"', 3: 'line\nbreak', 4: 'carriage\rreturn', 5: 'crlf\r\nend', 6: '', 7: null, 8: ' spaced ', 9: "it's" }),
    ]);
    assert.equal(line, `plain,"a,b","say ""hi""","line\nbreak","carriage\rreturn","crlf\r\nend",,, spaced ,it's${','.repeat(10)}\r\n`);
  });

  it('round-trips through a real CSV parser, field for field', () => {
    const tricky = ['', 'a,b', '"', '""', '\r', '\n', '\r\n', 'x\ry', 'Zoë 李 😀', ' lead', 'trail ', 'tab\there', '=1+1', 'many,"mixed"\r\nthings'];
    const records = tricky.map((value, index) => record({ 0: value, 1: String(index), 19: value }));
    const parsed = parse(csv.header + csv.stringify(records), { record_delimiter: '\r\n', relax_column_count: false }) as string[][];
    assert.deepEqual(parsed[0], [...REPORT_HEADER]);
    assert.deepEqual(
      parsed.slice(1).map((row) => [row[0], row[1], row[19]]),
      tricky.map((value, index) => [value, String(index), value]),
    );
  });

  it('writes nothing for no records', () => {
    assert.equal(csv.stringify([]), '');
  });
});
