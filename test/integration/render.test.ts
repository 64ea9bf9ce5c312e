import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { REPORT_HEADER } from '../../src/domain/report-row.js';
import { runCliProcess } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

// Tuesday 24 November 2026 in America/Chicago (UTC-6): [06:00Z on the 24th, 06:00Z on the 25th).
const PERIOD = '2026-11-24';
const FILE_NAME = 'twoway_activity_acme_daily_20261124.csv';
const SECRET_TEXT = 'conversation text that must never be exported';

interface EventSeed {
  readonly key: string;
  readonly at: string;
  readonly client?: string;
  readonly name?: string;
  readonly ccid?: string | null;
  readonly agent?: string | null;
  readonly fields?: Record<string, string | null>;
}

const EVENTS: readonly EventSeed[] = [
  { key: 'first-instant', at: '2026-11-24T06:00:00.000000Z' },
  { key: 'before-period', at: '2026-11-24T05:59:59.999999Z' },
  { key: 'last-microsecond', at: '2026-11-25T05:59:59.999999Z' },
  { key: 'next-period', at: '2026-11-25T06:00:00.000000Z' },
  { key: 'opens-0800', at: '2026-11-24T14:00:00.000000Z', fields: { sender_type: null }, name: 'twoway_webhook.agent_message_sent' },
  { key: 'just-before-open', at: '2026-11-24T13:59:59.999000Z' },
  { key: 'just-before-close', at: '2026-11-24T22:59:59.999999Z', name: 'twoway.agent_ping', fields: { sender_type: null } },
  {
    key: 'closes-1700',
    at: '2026-11-24T23:00:00.000000Z',
    name: 'twoway.channel_closed',
    fields: {
      sender_type: null,
      conversation_status: 'closed',
      closed_reason: 'resolved',
      closed_additional_information: 'Customer said: "thanks, bye"\r\nFollow-up\rnone\nok',
    },
  },
  { key: 'tie-a', at: '2026-11-24T15:30:00.123999Z' },
  { key: 'tie-b', at: '2026-11-24T15:30:00.123999Z' },
  { key: 'other-client', at: '2026-11-24T15:00:00.000000Z', client: 'globex' },
  { key: 'not-included', at: '2026-11-24T15:00:00.000000Z', name: 'twoway_webhook.message_read' },
  { key: 'missing-customer', at: '2026-11-24T16:00:00.000000Z', ccid: 'cc-unknown' },
  { key: 'null-ccid', at: '2026-11-24T16:00:01.000000Z', ccid: null },
  { key: 'no-agent', at: '2026-11-24T16:00:02.000000Z', agent: null, name: 'twoway_webhook.system_message_sent', fields: { sender_type: null } },
  { key: 'dangling-agent', at: '2026-11-24T16:00:03.000000Z', agent: 'agent-gone', name: 'twoway_webhook.member_added' },
  {
    key: 'long-values',
    at: '2026-11-24T16:00:04.000000Z',
    agent: 'agent-long',
    ccid: 'cc-long',
    fields: { control_tag: `${'t'.repeat(99)}😀tail`, conversation_id: '𝄞'.repeat(300) },
  },
];

function expectedTime(stored: string): string {
  return `${stored.slice(0, 23)}Z`;
}

describe('render (real PostgreSQL, the command as a user runs it)', () => {
  let db: TestDatabase;
  let outDir: string;
  let rows: Record<string, string>[];
  let fileBytes: Buffer;

  before(async () => {
    db = await createTestDatabase();
    outDir = await mkdtemp(join(tmpdir(), 'twoway-render-'));
    await db.knex('clients').insert([
      {
        id: 'acme',
        name: 'Acme',
        timezone: 'America/Chicago',
        frequency: 'daily',
        after_hours: JSON.stringify({ businessHours: { mon: [['08:00', '17:00']], tue: [['08:00', '17:00']] }, holidays: ['2026-11-26'] }),
      },
      { id: 'globex', name: 'Globex', timezone: 'UTC' },
      { id: 'sandy', name: 'Sandbox', environment: 'sandbox' },
    ]);
    await db.knex('agents').insert([
      { id: 'agent-1', email: 'ann@example.com', first_name: 'Ann, "A"', last_name: 'Lee', roles: ['twoway_agent', 'cx_portal'], control_group: 'north' },
      { id: 'agent-long', email: `${'e'.repeat(98)}😀😀@x`, first_name: null, last_name: 'Zoë', roles: ['a', null, 'b'], control_group: '' },
    ]);
    await db.knex('customers').insert([
      { client_id: 'acme', ccid: 'cc-1', first_name: 'Bo', last_name: 'Chen\nJr', product_group_id: 'pg-7' },
      { client_id: 'acme', ccid: 'cc-long', first_name: '李'.repeat(150), last_name: null, product_group_id: null },
      { client_id: 'globex', ccid: 'cc-1', first_name: 'Other', last_name: 'Tenant', product_group_id: 'pg-x' },
    ]);
    for (const event of EVENTS) {
      await db.knex('twoway_events').insert({
        client_id: event.client ?? 'acme',
        event_name: event.name ?? 'twoway_webhook.customer_message_sent',
        event_time: event.at,
        ccid: event.ccid === undefined ? 'cc-1' : event.ccid,
        agent_id: event.agent === undefined ? 'agent-1' : event.agent,
        control_tag: event.key,
        twoway_channel_sid: 'CH123',
        conversation_id: `conv-${event.key}`,
        sender_type: 'customer',
        conversation_status: 'active',
        message_text: SECRET_TEXT,
        ...event.fields,
      });
    }
    const result = await runCliProcess(['render', '--client', 'acme', '--period', '2026-11-24', '--out-dir', outDir], { DATABASE_URL: db.url });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`${FILE_NAME}: 13 rows, \\d+ bytes, sha256 [0-9a-f]{64}`));
    fileBytes = await readFile(join(outDir, FILE_NAME));
    const [header, ...records] = parse(fileBytes, { record_delimiter: '\r\n', bom: false }) as string[][];
    assert.deepEqual(header, [...REPORT_HEADER]);
    rows = records.map((record) => Object.fromEntries(REPORT_HEADER.map((name, index) => [name, record[index] ?? '<missing>'])));
  });

  after(async () => {
    await rm(outDir, { recursive: true, force: true });
    await db.drop();
  });

  it("holds exactly the period's included events of this client, ordered by event_time then id", () => {
    assert.deepEqual(
      rows.map((row) => (row.control_tag?.startsWith('ttt') ? 'long-values' : row.control_tag)),
      [
        'first-instant',
        'just-before-open',
        'opens-0800',
        'tie-a',
        'tie-b',
        'missing-customer',
        'null-ccid',
        'no-agent',
        'dangling-agent',
        'long-values',
        'just-before-close',
        'closes-1700',
        'last-microsecond',
      ],
    );
  });

  it('is UTF-8 without BOM, CRLF after every record, and never holds conversation text', () => {
    assert.notEqual(fileBytes[0], 0xef);
    const text = fileBytes.toString('utf8');
    assert.ok(text.endsWith('\r\n'));
    assert.equal(text.split('\r\n')[0], REPORT_HEADER.join(','));
    assert.ok(!text.includes(SECRET_TEXT));
    assert.ok(!text.includes('message_text'));
  });

  it('formats event_time as UTC with milliseconds, truncating sub-millisecond digits', () => {
    const byTag = new Map(rows.map((row) => [row.control_tag, row]));
    for (const event of EVENTS.filter((candidate) => byTag.has(candidate.key))) {
      assert.equal(byTag.get(event.key)?.event_time, expectedTime(event.at), event.key);
    }
    assert.equal(byTag.get('last-microsecond')?.event_time, '2026-11-25T05:59:59.999Z');
    assert.equal(byTag.get('tie-a')?.event_time, '2026-11-24T15:30:00.123Z');
  });

  it("flags after-hours events by the client's local business hours, edges included", () => {
    const flags = Object.fromEntries(rows.map((row) => [row.control_tag?.startsWith('ttt') ? 'long' : row.control_tag, row.after_hours_flag]));
    assert.deepEqual(flags, {
      'first-instant': 'true',
      'just-before-open': 'true',
      'opens-0800': 'false',
      'tie-a': 'false',
      'tie-b': 'false',
      'missing-customer': 'false',
      'null-ccid': 'false',
      'no-agent': 'false',
      'dangling-agent': 'false',
      long: 'false',
      'just-before-close': 'false',
      'closes-1700': 'true',
      'last-microsecond': 'true',
    });
  });

  it('joins agent and customer, leaving empty what is missing', () => {
    const byTag = new Map(rows.map((row) => [row.control_tag, row]));
    assert.deepEqual(byTag.get('tie-a'), {
      agent_email: 'ann@example.com',
      agent_first_name: 'Ann, "A"',
      agent_last_name: 'Lee',
      agent_roles: 'twoway_agent|cx_portal',
      agent_control_group: 'north',
      ccid: 'cc-1',
      customer_first_name: 'Bo',
      customer_last_name: 'Chen\nJr',
      product_group_id: 'pg-7',
      event_type: 'twoway_webhook',
      event_subtype: 'customer_message_sent',
      event_time: '2026-11-24T15:30:00.123Z',
      control_tag: 'tie-a',
      twoway_channel_sid: 'CH123',
      conversation_id: 'conv-tie-a',
      closed_reason: '',
      closed_additional_information: '',
      after_hours_flag: 'false',
      sender_type: 'customer',
      conversation_status: 'active',
    });
    const missing = byTag.get('missing-customer');
    assert.deepEqual([missing?.ccid, missing?.customer_first_name, missing?.customer_last_name, missing?.product_group_id], ['cc-unknown', '', '', '']);
    assert.equal(byTag.get('null-ccid')?.ccid, '');
    for (const tag of ['no-agent', 'dangling-agent']) {
      const row = byTag.get(tag);
      assert.deepEqual([row?.agent_email, row?.agent_first_name, row?.agent_last_name, row?.agent_roles, row?.agent_control_group], ['', '', '', '', ''], tag);
    }
    assert.equal(byTag.get('no-agent')?.customer_first_name, 'Bo', 'a missing agent does not drop the customer');
  });

  it('fills sender_type from the event when it is null', () => {
    const byTag = new Map(rows.map((row) => [row.control_tag, row]));
    assert.equal(byTag.get('opens-0800')?.sender_type, 'agent');
    assert.equal(byTag.get('just-before-close')?.sender_type, 'agent');
    assert.equal(byTag.get('closes-1700')?.sender_type, 'system');
    assert.equal(byTag.get('no-agent')?.sender_type, 'system');
    assert.equal(byTag.get('closes-1700')?.closed_additional_information, 'Customer said: "thanks, bye"\r\nFollow-up\rnone\nok');
    assert.deepEqual([byTag.get('closes-1700')?.event_type, byTag.get('closes-1700')?.event_subtype], ['twoway', 'channel_closed']);
  });

  it('cuts long values to their length in code points, like PostgreSQL counts them', async () => {
    const long = rows.find((row) => row.control_tag?.startsWith('ttt'));
    assert.ok(long);
    assert.equal(long.control_tag, `${'t'.repeat(99)}😀`);
    assert.equal(long.conversation_id, '𝄞'.repeat(256));
    assert.equal(long.agent_email, `${'e'.repeat(98)}😀😀`);
    assert.equal(long.customer_first_name, '李'.repeat(100));
    assert.equal(long.agent_roles, 'a||b');
    assert.equal(long.agent_last_name, 'Zoë');
    const [pg] = (
      await db.knex.raw(`SELECT left(control_tag, 100) AS tag, left(conversation_id, 256) AS conv FROM twoway_events WHERE control_tag LIKE 'ttt%'`)
    ).rows;
    assert.deepEqual([long.control_tag, long.conversation_id], [pg.tag, pg.conv]);
  });

  it('is byte-identical when rendered again from the same data', async () => {
    const again = await mkdtemp(join(tmpdir(), 'twoway-render-again-'));
    try {
      const result = await runCliProcess(['render', '--client', 'acme', '--period', '2026-11-24', '--out-dir', again], { DATABASE_URL: db.url });
      assert.equal(result.status, 0, result.stderr);
      const second = await readFile(join(again, FILE_NAME));
      assert.ok(second.equals(fileBytes));
      assert.match(result.stdout, new RegExp(createHash('sha256').update(fileBytes).digest('hex')));
    } finally {
      await rm(again, { recursive: true, force: true });
    }
  });

  it('writes the header only for a period without events, and accepts any date inside a period', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'twoway-render-empty-'));
    try {
      const empty = await runCliProcess(['render', '--client', 'acme', '--period', '2026-06-10', '--out-dir', dir], { DATABASE_URL: db.url });
      assert.equal(empty.status, 0, empty.stderr);
      assert.equal(await readFile(join(dir, 'twoway_activity_acme_daily_20260610.csv'), 'utf8'), `${REPORT_HEADER.join(',')}\r\n`);
      const weekly = await runCliProcess(['render', '--client', 'acme', '--period', '2026-11-26', '--frequency', 'weekly', '--out-dir', dir], {
        DATABASE_URL: db.url,
      });
      assert.equal(weekly.status, 0, weekly.stderr);
      assert.match(weekly.stdout, /twoway_activity_acme_weekly_20261123\.csv: 15 rows/);
      assert.deepEqual((await readdir(dir)).sort(), ['twoway_activity_acme_daily_20260610.csv', 'twoway_activity_acme_weekly_20261123.csv']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('keeps other tenants apart: globex sees only its own event', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'twoway-render-globex-'));
    try {
      const result = await runCliProcess(['render', '--client', 'globex', '--period', PERIOD, '--out-dir', dir], { DATABASE_URL: db.url });
      assert.equal(result.status, 0, result.stderr);
      const [, ...records] = parse(await readFile(join(dir, 'twoway_activity_globex_daily_20261124.csv')), { record_delimiter: '\r\n' }) as string[][];
      assert.deepEqual(
        records.map((record) => [record[12], record[6], record[7]]),
        [['other-client', 'Other', 'Tenant']],
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a sandbox client (exit 1) and bad usage (exit 2) with one-line reasons', async () => {
    const sandbox = await runCliProcess(['render', '--client', 'sandy', '--period', PERIOD], { DATABASE_URL: db.url });
    assert.equal(sandbox.status, 1);
    assert.equal(
      sandbox.stderr,
      'twoway-report: client "sandy": environment is "sandbox"; allowed: "production" (the report exists only for production clients)\n',
    );
    const unknown = await runCliProcess(['render', '--client', 'nobody', '--period', PERIOD], { DATABASE_URL: db.url });
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /^twoway-report: client "nobody" does not exist/);
    const badDate = await runCliProcess(['render', '--client', 'acme', '--period', '2026-02-30'], { DATABASE_URL: db.url });
    assert.equal(badDate.status, 2);
    assert.match(badDate.stderr, /^twoway-report: --period is "2026-02-30"; allowed: a calendar date YYYY-MM-DD\n/);
    const badFrequency = await runCliProcess(['render', '--client', 'acme', '--period', PERIOD, '--frequency', 'hourly'], { DATABASE_URL: db.url });
    assert.equal(badFrequency.status, 2);
    const unknownOption = await runCliProcess(['render', '--client', 'acme', '--period', PERIOD, '--colour'], { DATABASE_URL: db.url });
    assert.equal(unknownOption.status, 2);
    assert.match(unknownOption.stderr, /--colour/);
  });

  it('refuses a malformed after_hours setting naming client and field', async () => {
    await db.knex('clients').insert({ id: 'broken', name: 'Broken', after_hours: JSON.stringify({ timezone: 'Mars/Olympus', businessHours: {} }) });
    const result = await runCliProcess(['render', '--client', 'broken', '--period', PERIOD], { DATABASE_URL: db.url });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /^twoway-report: client "broken": after_hours\.timezone is "Mars\/Olympus"; allowed: .+\n$/);
  });
});
