import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SOURCE_FIELDS, SOURCE_INDEX, toReportRecord, type SourceField } from '../../src/domain/report-row.js';
import { createReportCsv } from '../../src/report/csv.js';
import { ReportCsvEncoder } from '../../src/report/report-csv-encoder.js';
import { chunksOf, encodeBinaryCopy } from '../support/binary-copy.js';

type Source = (string | Buffer | null)[];

/** An after-hours test that depends only on the instant it is given (the real one keeps a cursor); NaN for what is not a time. */
const isAfterHours = (eventTime: number): boolean => Number.isNaN(eventTime) || eventTime % 10 === 5;

/** The record path the encoder must match byte for byte: strings decoded as UTF-8, toReportRecord, createReportCsv. */
function expectedCsv(rows: readonly Source[]): Buffer {
  const asText = (value: string | Buffer | null) => (typeof value === 'string' || value === null ? value : value.toString('utf8'));
  const records = rows.map((row) => {
    const source = row.map(asText);
    return toReportRecord(source, isAfterHours(Date.parse(source[SOURCE_INDEX.event_time] ?? '')));
  });
  return Buffer.from(createReportCsv().stringify(records), 'utf8');
}

function encodeInChunks(rows: readonly Source[], chunkSize: () => number): { csv: Buffer; rowCount: number } {
  const encoder = new ReportCsvEncoder(isAfterHours);
  const parts = chunksOf(encodeBinaryCopy(rows), chunkSize).map((chunk) => Buffer.from(encoder.encode(chunk)));
  encoder.end();
  return { csv: Buffer.concat(parts), rowCount: encoder.rowCount };
}

function row(fields: Partial<Record<SourceField, string | Buffer | null>>): Source {
  return SOURCE_FIELDS.map((field) => fields[field] ?? null);
}

// Around each shortcut of the encoder: plain ASCII (copied), RFC 4180's special characters
// (quoted), bytes beyond ASCII (through the string path), values at, just over and far over
// their column's length (100 code points for most, 1,024 for roles), astral characters at the
// cut, empty strings and NULLs.
const VALUES: readonly (string | null)[] = [
  'plain',
  '',
  null,
  'a,b',
  'say "hi"',
  'line\nbreak',
  'carriage\rreturn',
  'crlf\r\nend',
  '"',
  'Zoë',
  'Mary, Jr. "Ace" Müller',
  '李小龍😀',
  'x'.repeat(100),
  'x'.repeat(101),
  `${'y'.repeat(99)},tail`,
  `${'z'.repeat(99)}😀tail`,
  `${'é'.repeat(60)}`,
  `${'é'.repeat(101)}`,
  '𝄞'.repeat(300),
  `"${'q'.repeat(120)}"`,
  'w'.repeat(1100),
];
const EVENT_NAMES: readonly (string | null)[] = [
  'twoway_webhook.customer_message_sent',
  'twoway.agent_ping',
  'no_dot_at_all',
  '.leading',
  'trailing.',
  'a.b.c',
  'ünï.cödé',
  `${'t'.repeat(120)}.${'s'.repeat(120)}`,
  '',
  null,
];
// Times of several days (the encoder reads the query's fixed form digit by digit and keeps the
// day's start), and ones not in that form, which it parses as text as the record path does.
const TIMES: readonly (string | null)[] = [
  '2026-03-08T07:59:59.999Z',
  '2026-03-08T08:00:00.005Z',
  '2026-11-24T13:05:22.125Z',
  '2024-02-29T23:59:59.995Z',
  '1999-12-31T00:00:00.000Z',
  '2026-11-24 13:05:22.125+00',
  '2026-11-24T13:05:2x.125Z',
  null,
];

describe('ReportCsvEncoder', () => {
  let seed = 11;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)] as T;
  const rows: Source[] = Array.from({ length: 600 }, () =>
    SOURCE_FIELDS.map((field) => (field === 'event_name' ? pick(EVENT_NAMES) : field === 'event_time' ? pick(TIMES) : pick(VALUES))),
  );

  it('writes the same bytes as toReportRecord and createReportCsv, whatever the chunk boundaries', () => {
    // One byte at a time re-joins the pending row with each byte: quadratic, so on fewer rows.
    for (const [name, some, size] of [
      ['one chunk', rows, () => Number.MAX_SAFE_INTEGER],
      ['one byte at a time', rows.slice(0, 40), () => 1],
      ['random chunks', rows, () => Math.floor(random() * 3000)],
    ] as const) {
      const expected = expectedCsv(some);
      const { csv, rowCount } = encodeInChunks(some, size);
      assert.equal(rowCount, some.length, name);
      assert.ok(csv.equals(expected), `${name}: ${csv.length} bytes written, ${expected.length} expected`);
    }
  });

  it('defaults a NULL sender_type from the event name, and leaves a given one (even empty) alone', () => {
    const cases = [
      row({ event_name: 'twoway_webhook.agent_message_sent' }),
      row({ event_name: 'twoway.channel_closed' }),
      row({ event_name: 'twoway_webhook.customer_message_sent', sender_type: 'bot, "really"' }),
      row({ event_name: null, sender_type: '' }),
    ];
    const { csv } = encodeInChunks(cases, () => 7);
    assert.ok(csv.equals(expectedCsv(cases)));
    const senderTypes = csv
      .toString('utf8')
      .split('\r\n')
      .slice(0, -1)
      .map((line) => line.split(',')[18]);
    assert.deepEqual(senderTypes, ['agent', 'system', '"bot', '']);
  });

  it('turns bytes that are not UTF-8 into what the string path makes of them', () => {
    const invalid = row({
      agent_email: Buffer.from([0x61, 0xff, 0x62]),
      ccid: Buffer.from([0xe2, 0x82]),
      control_tag: Buffer.concat([Buffer.from('q"'), Buffer.from([0xc3])]),
    });
    // An encoded surrogate, a code point above U+10FFFF, overlong forms, a lone continuation byte; then the edges that are well-formed.
    const edges = [[0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xf0, 0x80, 0x80, 0xaf], [0x80], [0xf5, 0x80, 0x80, 0x80]]
      .concat([
        [0xed, 0x9f, 0xbf],
        [0xf4, 0x8f, 0xbf, 0xbf],
        [0xc2, 0x80],
        [0xe0, 0xa0, 0x80],
        [0xf0, 0x90, 0x80, 0x80],
        [0xef, 0xbf, 0xbf],
      ])
      .map((bytes) => row({ agent_first_name: Buffer.from([0x78, ...bytes, 0x2c]), customer_last_name: Buffer.from(bytes) }));
    const rows = [invalid, ...edges];
    const { csv } = encodeInChunks(rows, () => 5);
    assert.ok(csv.equals(expectedCsv(rows)));
    assert.ok(csv.toString('utf8').startsWith('a\ufffdb,'));
  });

  it('grows its buffer for a record larger than the buffer', () => {
    const huge = row({ event_time: 't'.repeat(700_000), closed_additional_information: 'é'.repeat(300_000), event_name: 'x.y' });
    const { csv } = encodeInChunks([huge, huge], () => 100_000);
    assert.ok(csv.equals(expectedCsv([huge, huge])));
  });

  it('writes nothing for no rows, and refuses a stream cut short', () => {
    assert.equal(encodeInChunks([], () => 3).csv.length, 0);
    const bytes = encodeBinaryCopy([row({ ccid: 'cc-1' })]);
    const encoder = new ReportCsvEncoder(isAfterHours);
    encoder.encode(bytes.subarray(0, bytes.length - 2));
    assert.throws(() => encoder.end(), /ended before its trailer/);
  });
});
