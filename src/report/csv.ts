// csv-writer's compiled internals (declared in csv-writer-internals.d.ts), not its public API:
// quoting with one regular expression on its FieldStringifier, instead of its default stringifier
// wrapped in a second check for a lone CR, was one of the three changes that took render from
// 1.80x to 1.47x PostgreSQL's COPY on the 1M-row month (target <= 1.5x; BENCHMARKS.md, "How the
// render targets were reached"). test/report/csv-writer-internals.test.ts fails if an upgrade moves or changes them.
import { ArrayCsvStringifier } from 'csv-writer/dist/lib/csv-stringifiers/array.js';
import { FieldStringifier } from 'csv-writer/dist/lib/field-stringifier.js';
import { REPORT_HEADER, type ReportRecord } from '../domain/report-row.js';

const FIELD_DELIMITER = ',';
const RECORD_DELIMITER = '\r\n';

/** RFC 4180: a field is quoted exactly when it holds a comma, a double quote, CR or LF. */
const NEEDS_QUOTES = /[",\r\n]/;

/**
 * csv-writer's field stringifier, with RFC 4180's quoting rule: csv-writer's own default
 * quotes on comma, double quote and LF but not on a lone CR, which would end the record
 * early for many readers. Emptiness and quoting (inner quotes doubled) are csv-writer's.
 */
class Rfc4180FieldStringifier extends FieldStringifier {
  constructor() {
    super(FIELD_DELIMITER);
  }

  override stringify(value?: string | null): string {
    if (value === undefined || value === null || this.isEmpty(value)) return '';
    return NEEDS_QUOTES.test(value) ? this.quoteField(value) : value;
  }
}

const FIELD_STRINGIFIER = new Rfc4180FieldStringifier();

/** One field in file form: '' for null or empty, quoted (inner quotes doubled) where RFC 4180 needs it. */
export function stringifyCsvField(value: string | null): string {
  return FIELD_STRINGIFIER.stringify(value);
}

export interface ReportCsv {
  /** The header record, ended by CRLF. */
  readonly header: string;
  /** Records in file form, each ended by CRLF; '' for none. */
  stringify(records: readonly ReportRecord[]): string;
}

/** RFC 4180 CSV of the report's columns: comma separated, CRLF after every record, quoting only where needed [§4]. */
export function createReportCsv(): ReportCsv {
  const stringifier = new ArrayCsvStringifier(FIELD_STRINGIFIER, RECORD_DELIMITER, [...REPORT_HEADER]);
  const header = stringifier.getHeaderString();
  if (header === null) throw new Error('csv-writer produced no header');
  return {
    header,
    stringify: (records) => (records.length === 0 ? '' : stringifier.stringifyRecords(records)),
  };
}
