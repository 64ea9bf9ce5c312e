// csv-writer ships its types as TypeScript sources of its public entry only; these are the
// two classes of its compiled output that the report's stringifier builds on.
declare module 'csv-writer/dist/lib/field-stringifier.js' {
  export abstract class FieldStringifier {
    constructor(fieldDelimiter: string);
    readonly fieldDelimiter: string;
    abstract stringify(value?: string | null): string;
    protected isEmpty(value?: string | null): boolean;
    protected quoteField(field: string): string;
  }
}

declare module 'csv-writer/dist/lib/csv-stringifiers/array.js' {
  import type { FieldStringifier } from 'csv-writer/dist/lib/field-stringifier.js';
  export class ArrayCsvStringifier {
    constructor(fieldStringifier: FieldStringifier, recordDelimiter?: string, header?: string[]);
    getHeaderString(): string | null;
    stringifyRecords(records: Iterable<readonly (string | null)[]>): string;
  }
}
