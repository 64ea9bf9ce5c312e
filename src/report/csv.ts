import { ArrayCsvStringifier } from 'csv-writer/dist/lib/csv-stringifiers/array.js';
import { FieldStringifier, createFieldStringifier } from 'csv-writer/dist/lib/field-stringifier.js';
import { REPORT_HEADER, type ReportRecord } from '../domain/report-row.js';

const FIELD_DELIMITER = ',';
const RECORD_DELIMITER = '\r\n';

/**
 * csv-writer's quoting, plus the one case it misses: RFC 4180 quotes a field holding a CR,
 * and csv-writer quotes only on comma, double quote and LF. A lone CR left bare would end
 * the record early for many readers.
 */
class Rfc4180FieldStringifier extends FieldStringifier {
  private readonly csvWriterDefault = createFieldStringifier(FIELD_DELIMITER, false);

  constructor() {
    super(FIELD_DELIMITER);
  }

  override stringify(value?: string | null): string {
    if (typeof value === 'string' && value.includes('\r')) return this.quoteField(value);
    return this.csvWriterDefault.stringify(value);
  }
}

export interface ReportCsv {
  /** The header record, ended by CRLF. */
  readonly header: string;
  /** Records in file form, each ended by CRLF; '' for none. */
  stringify(records: readonly ReportRecord[]): string;
}

/** RFC 4180 CSV of the report's columns: comma separated, CRLF after every record, quoting only where needed [§4]. */
export function createReportCsv(): ReportCsv {
  const stringifier = new ArrayCsvStringifier(new Rfc4180FieldStringifier(), RECORD_DELIMITER, [...REPORT_HEADER]);
  const header = stringifier.getHeaderString();
  if (header === null) throw new Error('csv-writer produced no header');
  return {
    header,
    stringify: (records) => (records.length === 0 ? '' : stringifier.stringifyRecords(records)),
  };
}
