/**
 * The report's CSV builds on two modules of csv-writer's compiled output, not its public API
 * (src/report/csv.ts says why). These tests fail when an upgrade of csv-writer moves those
 * modules, renames what we use of them, or makes them write other bytes than its public API.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { createArrayCsvStringifier, createObjectCsvStringifier } from 'csv-writer';
import { REPORT_HEADER, type ReportRecord } from '../../src/domain/report-row.js';
import { createReportCsv } from '../../src/report/csv.js';

const FIELD_STRINGIFIER_MODULE = 'csv-writer/dist/lib/field-stringifier.js';
const ARRAY_STRINGIFIER_MODULE = 'csv-writer/dist/lib/csv-stringifiers/array.js';
const CRLF = '\r\n';

/** Values where quoting, emptiness or encoding could differ; a lone CR is left out (see below). */
const TRICKY_VALUES = [
  'plain',
  'a,b',
  '"',
  'say "hi"',
  '""',
  '\n',
  'line\nbreak',
  '\r\n',
  'crlf\r\nend',
  '',
  ' spaced ',
  "it's",
  'Zoë 李 😀',
  'many,"mixed"\r\nthings',
];

/** One report record per tricky value, in several columns, with null and '' beside it. */
function trickyRecords(): ReportRecord[] {
  return TRICKY_VALUES.map((value, index) => REPORT_HEADER.map((_, column) => (column % 3 === 0 ? value : column % 3 === 1 ? null : `${index}`)));
}

describe("csv-writer's internals the report CSV depends on", () => {
  it('still resolves both internal modules at the same paths', () => {
    const require = createRequire(import.meta.url);
    for (const specifier of [FIELD_STRINGIFIER_MODULE, ARRAY_STRINGIFIER_MODULE]) {
      assert.doesNotThrow(() => require.resolve(specifier), `${specifier} no longer resolves`);
    }
  });

  it('still exports the classes and methods we use', async () => {
    const { FieldStringifier } = await import(FIELD_STRINGIFIER_MODULE);
    const { ArrayCsvStringifier } = await import(ARRAY_STRINGIFIER_MODULE);
    assert.equal(typeof FieldStringifier, 'function', 'FieldStringifier');
    assert.equal(typeof ArrayCsvStringifier, 'function', 'ArrayCsvStringifier');
    for (const method of ['isEmpty', 'quoteField']) assert.equal(typeof FieldStringifier.prototype[method], 'function', `FieldStringifier#${method}`);
    for (const method of ['getHeaderString', 'stringifyRecords'])
      assert.equal(typeof ArrayCsvStringifier.prototype[method], 'function', `ArrayCsvStringifier#${method}`);
  });

  it("writes the same bytes as csv-writer's public array stringifier", () => {
    const ours = createReportCsv();
    const records = trickyRecords();
    const theirs = createArrayCsvStringifier({ header: [...REPORT_HEADER], recordDelimiter: CRLF });
    assert.equal(ours.header, theirs.getHeaderString());
    assert.equal(ours.stringify(records), theirs.stringifyRecords(records));
  });

  it("writes the same bytes as csv-writer's public object stringifier", () => {
    const ours = createReportCsv();
    const records = trickyRecords();
    const theirs = createObjectCsvStringifier({ header: REPORT_HEADER.map((title) => ({ id: title, title })), recordDelimiter: CRLF });
    const objects = records.map((record) => Object.fromEntries(REPORT_HEADER.map((title, column) => [title, record[column]])));
    assert.equal(ours.header, theirs.getHeaderString());
    assert.equal(ours.stringify(records), theirs.stringifyRecords(objects));
  });

  it('differs from the public API only where RFC 4180 needs it: a lone CR is quoted', () => {
    const record = REPORT_HEADER.map((_, column) => (column === 0 ? 'carriage\rreturn' : null));
    const theirs = createArrayCsvStringifier({ header: [...REPORT_HEADER], recordDelimiter: CRLF });
    assert.equal(createReportCsv().stringify([record]), `"carriage\rreturn"${','.repeat(REPORT_HEADER.length - 1)}${CRLF}`);
    assert.equal(
      theirs.stringifyRecords([record]),
      `carriage\rreturn${','.repeat(REPORT_HEADER.length - 1)}${CRLF}`,
      'csv-writer now quotes a lone CR itself: Rfc4180FieldStringifier in src/report/csv.ts may no longer be needed',
    );
  });
});
