import { BinaryCopyDecoder, NULL_FIELD_START } from '../db/binary-copy-decoder.js';
import { INCLUDED_EVENT_NAMES, REPORT_COLUMNS, SOURCE_FIELDS, SOURCE_INDEX, senderTypeOf, truncateCodePoints } from '../domain/report-row.js';
import { stringifyCsvField } from './csv.js';

const COMMA = 0x2c;
const DOUBLE_QUOTE = 0x22;
const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const FIRST_NON_ASCII_BYTE = 0x80;
const TRUE_BYTES = [...Buffer.from('true')];
const FALSE_BYTES = [...Buffer.from('false')];
/** Output bytes per source byte at worst: a byte that is not UTF-8 becomes U+FFFD (3 bytes), as a string would. */
const WORST_BYTES_PER_SOURCE_BYTE = 3;
/** Output bytes of a record besides its fields' own: delimiters, CRLF, two quotes per field, the flag, a default sender type. */
const RECORD_OVERHEAD_BYTES = 256;
/** Starting size of the output buffer; it grows to the largest chunk's output and is reused. */
const INITIAL_OUTPUT_BYTES = 256 * 1024;

/** What a field's byte asks of the encoder: one table lookup per byte instead of five comparisons. */
const COPIED = 0;
const QUOTE_TRIGGER = 1;
const MULTI_BYTE = 2;
const BYTE_KIND = new Uint8Array(256).fill(MULTI_BYTE, FIRST_NON_ASCII_BYTE);
for (const byte of [DOUBLE_QUOTE, COMMA, CR, LF]) BYTE_KIND[byte] = QUOTE_TRIGGER;

/** `2026-11-24T13:05:22.123Z`, as the extraction query formats event_time: where its separators are. */
const EVENT_TIME_BYTES = 24;
const EVENT_TIME_SEPARATORS: readonly (readonly [number, number])[] = (
  [
    [4, '-'],
    [7, '-'],
    [10, 'T'],
    [13, ':'],
    [16, ':'],
    [19, '.'],
    [23, 'Z'],
  ] as const
).map(([position, character]) => [position, character.charCodeAt(0)]);
const DIGIT_ZERO = 0x30;
const MS_PER_SECOND = 1000;

function isContinuation(byte: number | undefined): boolean {
  return byte !== undefined && byte >= 0x80 && byte <= 0xbf;
}

/**
 * Length of the well-formed UTF-8 sequence that starts at `index` with a byte of 0x80 or
 * more (Unicode's table 3-7: no overlong forms, no surrogates, nothing above U+10FFFF), or 0
 * when the bytes there are not one. Ill-formed bytes go through the string path, which turns
 * them into U+FFFD as the record path does.
 */
function utf8SequenceLength(buffer: Buffer, index: number, end: number): number {
  const lead = buffer[index] as number;
  const second = index + 1 < end ? buffer[index + 1] : undefined;
  if (lead >= 0xc2 && lead <= 0xdf) return isContinuation(second) ? 2 : 0;
  if (second === undefined) return 0;
  if (lead >= 0xe0 && lead <= 0xef) {
    const low = lead === 0xe0 ? 0xa0 : 0x80;
    const high = lead === 0xed ? 0x9f : 0xbf;
    return second >= low && second <= high && index + 2 < end && isContinuation(buffer[index + 2]) ? 3 : 0;
  }
  if (lead >= 0xf0 && lead <= 0xf4) {
    const low = lead === 0xf0 ? 0x90 : 0x80;
    const high = lead === 0xf4 ? 0x8f : 0xbf;
    return second >= low && second <= high && index + 3 < end && isContinuation(buffer[index + 2]) && isContinuation(buffer[index + 3]) ? 4 : 0;
  }
  return 0;
}

function limitOf(column: string): number {
  const found = REPORT_COLUMNS.find((candidate) => candidate.name === column);
  if (!found) throw new Error(`no report column ${column}`);
  return found.maxLength ?? Number.MAX_SAFE_INTEGER;
}

/** Columns taken from one source field, cut to the column's length: [source index, length limit]. */
const AGENT_AND_CUSTOMER: readonly (readonly [number, number])[] = (
  [
    'agent_email',
    'agent_first_name',
    'agent_last_name',
    'agent_roles',
    'agent_control_group',
    'ccid',
    'customer_first_name',
    'customer_last_name',
    'product_group_id',
  ] as const
).map((field) => [SOURCE_INDEX[field], limitOf(field)]);
const CONVERSATION: readonly (readonly [number, number])[] = (
  ['control_tag', 'twoway_channel_sid', 'conversation_id', 'closed_reason', 'closed_additional_information'] as const
).map((field) => [SOURCE_INDEX[field], limitOf(field)]);
const EVENT_TYPE_LIMIT = limitOf('event_type');
const EVENT_SUBTYPE_LIMIT = limitOf('event_subtype');
const SENDER_TYPE_LIMIT = limitOf('sender_type');
const CONVERSATION_STATUS_LIMIT = limitOf('conversation_status');

/** Each included event's default sender type in file form, for rows whose sender_type is NULL: no string per row. */
const DEFAULT_SENDER_FIELDS: readonly { readonly eventName: Buffer; readonly field: Buffer }[] = INCLUDED_EVENT_NAMES.map((eventName) => ({
  eventName: Buffer.from(eventName, 'utf8'),
  field: Buffer.from(stringifyCsvField(truncateCodePoints(senderTypeOf(eventName, null), SENDER_TYPE_LIMIT)), 'utf8'),
}));

/** The number written by `count` ASCII digits at `start`, or -1 if any of them is not a digit. */
function digitsAt(buffer: Buffer, start: number, count: number): number {
  let value = 0;
  for (let index = start; index < start + count; index++) {
    const digit = (buffer[index] as number) - DIGIT_ZERO;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

function hasEventTimeSeparators(buffer: Buffer, start: number): boolean {
  for (let index = 0; index < EVENT_TIME_SEPARATORS.length; index++) {
    const [offset, byte] = EVENT_TIME_SEPARATORS[index] as readonly [number, number];
    if (buffer[start + offset] !== byte) return false;
  }
  return true;
}

/**
 * Reads event_time fields as instants: digit by digit when a field has the query's fixed form
 * (as it always does), else parsed from its text; NaN for NULL or what is not a time. Rows come
 * in time order, so the start of the day is computed once per day.
 */
class EventTimeReader {
  private day = -1;
  private dayStart = 0;

  instantOf(buffer: Buffer, start: number, end: number): number {
    if (start === NULL_FIELD_START) return Number.NaN;
    if (end - start === EVENT_TIME_BYTES && hasEventTimeSeparators(buffer, start)) {
      const year = digitsAt(buffer, start, 4);
      const month = digitsAt(buffer, start + 5, 2);
      const day = digitsAt(buffer, start + 8, 2);
      const hour = digitsAt(buffer, start + 11, 2);
      const minute = digitsAt(buffer, start + 14, 2);
      const second = digitsAt(buffer, start + 17, 2);
      const millisecond = digitsAt(buffer, start + 20, 3);
      if (Math.min(year, month, day, hour, minute, second, millisecond) >= 0) {
        const dayKey = (year * 100 + month) * 100 + day;
        if (dayKey !== this.day) {
          this.day = dayKey;
          this.dayStart = Date.UTC(year, month - 1, day);
        }
        return this.dayStart + ((hour * 60 + minute) * 60 + second) * MS_PER_SECOND + millisecond;
      }
    }
    return Date.parse(buffer.toString('utf8', start, end));
  }
}

/**
 * The report's CSV records made straight from the bytes of the extraction query's binary
 * COPY: the same bytes as mapping each row with `toReportRecord` and writing the records with
 * `createReportCsv` (test/report/report-csv-encoder.test.ts holds them to that), without a
 * string per field. A field of well-formed UTF-8 within its column's length (in bytes, so
 * nothing to cut) is copied as it is, quoted when it holds a comma, a double quote, CR or LF;
 * any other field (longer than its column, which may need cutting by code points, or not
 * UTF-8) goes through the same string functions as the record path.
 */
export class ReportCsvEncoder {
  private readonly decoder = new BinaryCopyDecoder(SOURCE_FIELDS.length);
  private output = Buffer.allocUnsafe(INITIAL_OUTPUT_BYTES);
  private length = 0;
  private rows = 0;
  private readonly visit = (buffer: Buffer, bounds: Int32Array): void => this.encodeRow(buffer, bounds);
  private readonly eventTimes = new EventTimeReader();

  /** @param isAfterHours the period's classifier (createAfterHoursClassifier), given each row's event time as an instant. */
  constructor(private readonly isAfterHours: (eventTime: number) => boolean) {}

  /** Records written so far. */
  get rowCount(): number {
    return this.rows;
  }

  /**
   * Encodes the rows that `chunk` completes after the records still held (see `take`), and
   * returns how many bytes of records are held now.
   */
  push(chunk: Buffer): number {
    this.decoder.push(chunk, this.visit);
    return this.length;
  }

  /**
   * The records held (each ended by CRLF), which are then no longer held. The bytes are the
   * encoder's own buffer: valid until the next push (HashingFileWriter writes them before then).
   */
  take(): Buffer {
    const records = this.output.subarray(0, this.length);
    this.length = 0;
    return records;
  }

  /** The CSV records of the rows that `chunk` completes; empty for none. Valid until the next call. */
  encode(chunk: Buffer): Buffer {
    this.push(chunk);
    return this.take();
  }

  /** Throws unless the COPY stream ended exactly after its trailer. */
  end(): void {
    this.decoder.end();
  }

  private encodeRow(buffer: Buffer, bounds: Int32Array): void {
    let sourceBytes = 0;
    for (let index = 0; index < bounds.length; index += 2) sourceBytes += (bounds[index + 1] as number) - (bounds[index] as number);
    this.reserve(WORST_BYTES_PER_SOURCE_BYTE * sourceBytes + RECORD_OVERHEAD_BYTES);
    for (const [source, limit] of AGENT_AND_CUSTOMER) {
      this.field(buffer, bounds[2 * source] as number, bounds[2 * source + 1] as number, limit);
      this.output[this.length++] = COMMA;
    }
    const nameStart = bounds[2 * SOURCE_INDEX.event_name] as number;
    const nameEnd = bounds[2 * SOURCE_INDEX.event_name + 1] as number;
    // '.' is one byte that no multi-byte UTF-8 sequence contains: splitting the bytes splits the text.
    let dot = nameStart;
    while (dot < nameEnd && buffer[dot] !== DOT) dot++;
    const hasDot = dot < nameEnd;
    this.field(buffer, nameStart, hasDot ? dot : nameEnd, EVENT_TYPE_LIMIT);
    this.output[this.length++] = COMMA;
    if (hasDot) this.field(buffer, dot + 1, nameEnd, EVENT_SUBTYPE_LIMIT);
    this.output[this.length++] = COMMA;
    const timeStart = bounds[2 * SOURCE_INDEX.event_time] as number;
    const timeEnd = bounds[2 * SOURCE_INDEX.event_time + 1] as number;
    this.field(buffer, timeStart, timeEnd, Number.MAX_SAFE_INTEGER);
    this.output[this.length++] = COMMA;
    for (const [source, limit] of CONVERSATION) {
      this.field(buffer, bounds[2 * source] as number, bounds[2 * source + 1] as number, limit);
      this.output[this.length++] = COMMA;
    }
    const flag = this.isAfterHours(this.eventTimes.instantOf(buffer, timeStart, timeEnd)) ? TRUE_BYTES : FALSE_BYTES;
    for (const byte of flag) this.output[this.length++] = byte;
    this.output[this.length++] = COMMA;
    const senderStart = bounds[2 * SOURCE_INDEX.sender_type] as number;
    if (senderStart === NULL_FIELD_START) this.defaultSenderType(buffer, nameStart, nameEnd);
    else this.field(buffer, senderStart, bounds[2 * SOURCE_INDEX.sender_type + 1] as number, SENDER_TYPE_LIMIT);
    this.output[this.length++] = COMMA;
    const statusAt = 2 * SOURCE_INDEX.conversation_status;
    this.field(buffer, bounds[statusAt] as number, bounds[statusAt + 1] as number, CONVERSATION_STATUS_LIMIT);
    this.output[this.length++] = CR;
    this.output[this.length++] = LF;
    this.rows += 1;
  }

  /** The sender type a row without one gets from its event name: copied when the name is an included event's. */
  private defaultSenderType(buffer: Buffer, nameStart: number, nameEnd: number): void {
    const nameBytes = nameEnd - nameStart;
    for (const { eventName, field } of DEFAULT_SENDER_FIELDS) {
      if (eventName.length !== nameBytes || nameStart === NULL_FIELD_START) continue;
      let index = 0;
      while (index < nameBytes && eventName[index] === buffer[nameStart + index]) index++;
      if (index < nameBytes) continue;
      for (const byte of field) this.output[this.length++] = byte;
      return;
    }
    const eventName = nameStart === NULL_FIELD_START ? '' : buffer.toString('utf8', nameStart, nameEnd);
    this.text(truncateCodePoints(senderTypeOf(eventName, null), SENDER_TYPE_LIMIT));
  }

  /**
   * Writes the bytes [start, end) of `buffer` as one field; nothing for NULL (start
   * NULL_FIELD_START) or empty. Well-formed UTF-8 is copied as it is: decoding it and encoding
   * the string again gives the same bytes.
   */
  private field(buffer: Buffer, start: number, end: number, limit: number): void {
    if (start === NULL_FIELD_START || start === end) return;
    // A UTF-8 string has no more code points than bytes: within the limit in bytes, nothing is cut.
    if (end - start > limit) return this.text(truncateCodePoints(buffer.toString('utf8', start, end), limit));
    const output = this.output;
    let at = this.length;
    for (let index = start; index < end;) {
      const byte = buffer[index] as number;
      const kind = BYTE_KIND[byte];
      if (kind === COPIED) {
        output[at++] = byte;
        index++;
        continue;
      }
      if (kind === QUOTE_TRIGGER) return this.quoted(buffer, start, end);
      const sequence = utf8SequenceLength(buffer, index, end);
      if (sequence === 0) return this.text(buffer.toString('utf8', start, end));
      for (const stop = index + sequence; index < stop; index++) output[at++] = buffer[index] as number;
    }
    this.length = at;
  }

  /** A field that needs quotes: RFC 4180's quoting, inner double quotes doubled. */
  private quoted(buffer: Buffer, start: number, end: number): void {
    const output = this.output;
    let at = this.length;
    output[at++] = DOUBLE_QUOTE;
    for (let index = start; index < end;) {
      const byte = buffer[index] as number;
      if (byte < FIRST_NON_ASCII_BYTE) {
        output[at++] = byte;
        if (byte === DOUBLE_QUOTE) output[at++] = DOUBLE_QUOTE;
        index++;
        continue;
      }
      const sequence = utf8SequenceLength(buffer, index, end);
      if (sequence === 0) return this.text(buffer.toString('utf8', start, end));
      for (const stop = index + sequence; index < stop; index++) output[at++] = buffer[index] as number;
    }
    output[at++] = DOUBLE_QUOTE;
    this.length = at;
  }

  /** A field's text through the record path's own stringifier, written as UTF-8. */
  private text(value: string): void {
    const field = stringifyCsvField(value);
    if (field.length > 0) this.length += this.output.write(field, this.length, 'utf8');
  }

  /** Makes room for `bytes` more bytes after what this chunk has written so far. */
  private reserve(bytes: number): void {
    if (this.length + bytes <= this.output.length) return;
    const grown = Buffer.allocUnsafe(Math.max(2 * this.output.length, this.length + bytes));
    this.output.copy(grown, 0, 0, this.length);
    this.output = grown;
  }
}
