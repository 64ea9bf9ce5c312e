/**
 * The rows one revision of a period's file adds and removes against the revision before it,
 * and the corrections file that lists them: the report's columns plus `change` (`added` or
 * `removed`), in file order.
 *
 * Both files are in file order, so `event_time` never decreases down either of them: the two
 * are walked side by side one `event_time` at a time, and only the rows of one instant are
 * held in memory. Rows are compared as the CSV records they are, so a row whose agent was
 * renamed is one removed and one added row. Rows equal in every column are counted, not merged.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { REPORT_HEADER } from '../domain/report-row.js';

const RECORD_END = '\r\n';
const EVENT_TIME_INDEX = REPORT_HEADER.indexOf('event_time');
export const CHANGE_COLUMN = 'change';

/** The CSV text of a file: a path, or gzip bytes (kept rows). */
export type CsvSource = { readonly path: string } | { readonly gzip: Buffer };

function textOf(source: CsvSource): AsyncIterable<string> {
  const bytes = 'path' in source ? createReadStream(source.path) : Readable.from([source.gzip]).pipe(createGunzip());
  // Decodes UTF-8 across chunk boundaries.
  bytes.setEncoding('utf8');
  return bytes as AsyncIterable<string>;
}

function countQuotes(text: string, from: number, to: number): number {
  let count = 0;
  for (let at = text.indexOf('"', from); at !== -1 && at < to; at = text.indexOf('"', at + 1)) count += 1;
  return count;
}

/** The records of an RFC 4180 text, each without its CRLF; a CRLF inside quotes belongs to its field. */
export async function* csvRecords(chunks: AsyncIterable<string>): AsyncGenerator<string> {
  let buffer = '';
  for await (const chunk of chunks) {
    buffer += chunk;
    let start = 0;
    // Quotes of the current record seen up to `scanned`: an odd count means inside a quoted field.
    let scanned = 0;
    let quotes = 0;
    for (let end = buffer.indexOf(RECORD_END, scanned); end !== -1; end = buffer.indexOf(RECORD_END, scanned)) {
      quotes += countQuotes(buffer, scanned, end);
      scanned = end + RECORD_END.length;
      if (quotes % 2 !== 0) continue;
      yield buffer.slice(start, end);
      start = scanned;
      quotes = 0;
    }
    buffer = buffer.slice(start);
  }
  if (buffer.length > 0) yield buffer;
}

/** Where the field starting at `at` ends: the index of the comma after it, or the record's length. */
function fieldEnd(record: string, at: number): number {
  if (record[at] !== '"') {
    const comma = record.indexOf(',', at);
    return comma === -1 ? record.length : comma;
  }
  // A quoted field: two quotes in a row are one escaped quote.
  let position = at + 1;
  for (;;) {
    const quote = record.indexOf('"', position);
    if (quote === -1) return record.length;
    if (record[quote + 1] !== '"') return quote + 1;
    position = quote + 2;
  }
}

/** The value of field `index` of a record, unquoted; empty when the record is shorter. */
export function fieldOf(record: string, index: number): string {
  let at = 0;
  for (let field = 0; field < index; field++) {
    at = fieldEnd(record, at) + 1;
    if (at > record.length) return '';
  }
  const end = fieldEnd(record, at);
  const raw = record.slice(at, end);
  return raw.startsWith('"') ? raw.slice(1, -1).replace(/""/g, '"') : raw;
}

/** The rows of one `event_time` that are only in the old file, and those only in the new one, each in file order. */
function diffGroup(before: readonly string[], after: readonly string[]): { removed: string[]; added: string[] } {
  const unmatched = (rows: readonly string[], other: readonly string[]) => {
    const available = new Map<string, number>();
    for (const row of other) available.set(row, (available.get(row) ?? 0) + 1);
    return rows.filter((row) => {
      const left = available.get(row) ?? 0;
      if (left === 0) return true;
      available.set(row, left - 1);
      return false;
    });
  };
  return { removed: unmatched(before, after), added: unmatched(after, before) };
}

export interface RowChanges {
  readonly rowsAdded: number;
  readonly rowsRemoved: number;
}

/** Reads records one `event_time` at a time. */
class GroupReader {
  private next: IteratorResult<string> | null = null;

  constructor(private readonly records: AsyncIterator<string>) {}

  /** The header, then the first row is looked at. */
  async header(): Promise<string> {
    const first = await this.records.next();
    this.next = await this.records.next();
    return first.done ? '' : first.value;
  }

  /** The `event_time` of the next row; null at the end. */
  peekKey(): string | null {
    return this.next && !this.next.done ? fieldOf(this.next.value, EVENT_TIME_INDEX) : null;
  }

  async take(key: string): Promise<string[]> {
    const rows: string[] = [];
    while (this.next && !this.next.done && fieldOf(this.next.value, EVENT_TIME_INDEX) === key) {
      rows.push(this.next.value);
      this.next = await this.records.next();
    }
    return rows;
  }
}

/**
 * Compares a revision's file with the one before it; with `correctionsPath`, also writes the
 * corrections file there (complete, or not at all).
 */
export async function diffReportFiles(before: CsvSource, after: CsvSource, correctionsPath?: string): Promise<RowChanges> {
  const old = new GroupReader(csvRecords(textOf(before))[Symbol.asyncIterator]());
  const now = new GroupReader(csvRecords(textOf(after))[Symbol.asyncIterator]());
  const [oldHeader, newHeader] = [await old.header(), await now.header()];
  if (oldHeader !== newHeader) throw new Error(`the two revisions have different headers: ${JSON.stringify(oldHeader)} and ${JSON.stringify(newHeader)}`);
  const partPath = correctionsPath ? `${correctionsPath}.part` : null;
  const out = partPath ? createWriteStream(partPath) : null;
  const write = async (text: string) => {
    if (out && !out.write(text)) await once(out, 'drain');
  };
  let rowsAdded = 0;
  let rowsRemoved = 0;
  try {
    await write(`${newHeader},${CHANGE_COLUMN}${RECORD_END}`);
    for (;;) {
      const keys = [old.peekKey(), now.peekKey()].filter((key): key is string => key !== null);
      if (keys.length === 0) break;
      const key = keys.reduce((lowest, candidate) => (candidate < lowest ? candidate : lowest));
      const { removed, added } = diffGroup(await old.take(key), await now.take(key));
      rowsRemoved += removed.length;
      rowsAdded += added.length;
      for (const row of removed) await write(`${row},removed${RECORD_END}`);
      for (const row of added) await write(`${row},added${RECORD_END}`);
    }
    if (out && partPath && correctionsPath) {
      out.end();
      await once(out, 'finish');
      await rename(partPath, correctionsPath);
    }
    return { rowsAdded, rowsRemoved };
  } catch (error) {
    out?.destroy();
    if (partPath) await rm(partPath, { force: true });
    throw error;
  }
}

/** `acme_daily_2026-11-24_r2.csv` → `acme_daily_2026-11-24_r2.corrections.csv`. */
export function correctionsFileName(revisionFileName: string): string {
  return revisionFileName.endsWith('.csv') ? `${revisionFileName.slice(0, -'.csv'.length)}.corrections.csv` : `${revisionFileName}.corrections.csv`;
}
