import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REPORT_HEADER, SOURCE_FIELDS, senderTypeOf, toReportRecord, truncateCodePoints, type SourceRow } from '../../src/domain/report-row.js';

function sourceRow(fields: Partial<Record<(typeof SOURCE_FIELDS)[number], string | null>>): SourceRow {
  return SOURCE_FIELDS.map((field) => fields[field] ?? null);
}

describe('truncateCodePoints', () => {
  it('leaves values at or under the limit alone', () => {
    assert.equal(truncateCodePoints('', 5), '');
    assert.equal(truncateCodePoints('abcde', 5), 'abcde');
    assert.equal(truncateCodePoints('😀😀', 2), '😀😀');
  });

  it('counts an astral character (two UTF-16 units) as one code point', () => {
    const value = `${'a'.repeat(99)}😀b`;
    assert.equal(value.length, 102);
    assert.equal(truncateCodePoints(value, 100), `${'a'.repeat(99)}😀`);
  });

  it('never splits a surrogate pair at the boundary', () => {
    assert.equal(truncateCodePoints(`${'a'.repeat(100)}😀`, 100), 'a'.repeat(100));
    assert.equal(truncateCodePoints('😀'.repeat(101), 100), '😀'.repeat(100));
    assert.equal(truncateCodePoints('x😀y', 2), 'x😀');
  });

  it('counts combining marks as code points of their own, as char_length does', () => {
    const decomposed = 'e\u0301'.repeat(3); // é as e + combining acute: 6 code points
    assert.equal(truncateCodePoints(decomposed, 5), 'e\u0301e\u0301e');
  });

  it('counts a lone surrogate as one code point', () => {
    assert.equal(truncateCodePoints('\ud83dab', 2), '\ud83da');
  });
});

describe('senderTypeOf', () => {
  it('keeps a stored sender type, even an unusual one', () => {
    assert.equal(senderTypeOf('twoway_webhook.customer_message_sent', 'agent'), 'agent');
    assert.equal(senderTypeOf('twoway.channel_closed', ''), '');
  });

  it('derives it from the event when null', () => {
    assert.equal(senderTypeOf('twoway_webhook.customer_message_sent', null), 'customer');
    assert.equal(senderTypeOf('twoway_webhook.agent_message_sent', null), 'agent');
    assert.equal(senderTypeOf('twoway.agent_ping', null), 'agent');
    assert.equal(senderTypeOf('twoway.agent_invite', null), 'agent');
    for (const name of [
      'twoway.channel_closed',
      'twoway_webhook.system_message_sent',
      'twoway_webhook.member_added',
      'twoway_webhook.member_removed',
      'twoway_webhook.channel_added',
    ]) {
      assert.equal(senderTypeOf(name, null), 'system', name);
    }
  });
});

describe('toReportRecord', () => {
  it('maps every source field to its column in order', () => {
    const record = toReportRecord(
      sourceRow({
        agent_email: 'ann@example.com',
        agent_first_name: 'Ann',
        agent_last_name: 'Lee',
        agent_roles: 'twoway_agent|cx_portal',
        agent_control_group: 'north',
        ccid: 'cc-1',
        customer_first_name: 'Bo',
        customer_last_name: 'Chen',
        product_group_id: 'pg-7',
        event_name: 'twoway_webhook.customer_message_sent',
        event_time: '2026-11-24T13:05:22.123Z',
        control_tag: 'vip',
        twoway_channel_sid: 'CH1',
        conversation_id: 'conv-1',
        closed_reason: null,
        closed_additional_information: null,
        sender_type: null,
        conversation_status: 'active',
      }),
      true,
    );
    assert.equal(record.length, REPORT_HEADER.length);
    assert.deepEqual(Object.fromEntries(REPORT_HEADER.map((name, index) => [name, record[index]])), {
      agent_email: 'ann@example.com',
      agent_first_name: 'Ann',
      agent_last_name: 'Lee',
      agent_roles: 'twoway_agent|cx_portal',
      agent_control_group: 'north',
      ccid: 'cc-1',
      customer_first_name: 'Bo',
      customer_last_name: 'Chen',
      product_group_id: 'pg-7',
      event_type: 'twoway_webhook',
      event_subtype: 'customer_message_sent',
      event_time: '2026-11-24T13:05:22.123Z',
      control_tag: 'vip',
      twoway_channel_sid: 'CH1',
      conversation_id: 'conv-1',
      closed_reason: null,
      closed_additional_information: null,
      after_hours_flag: 'true',
      sender_type: 'customer',
      conversation_status: 'active',
    });
  });

  it('splits the event name at the first dot only', () => {
    const record = toReportRecord(sourceRow({ event_name: 'twoway.channel_closed.extra', event_time: 't' }), false);
    assert.equal(record[REPORT_HEADER.indexOf('event_type')], 'twoway');
    assert.equal(record[REPORT_HEADER.indexOf('event_subtype')], 'channel_closed.extra');
    assert.equal(record[REPORT_HEADER.indexOf('after_hours_flag')], 'false');
  });

  it('cuts each column to its own length', () => {
    const long = '😀'.repeat(2000);
    const record = toReportRecord(sourceRow(Object.fromEntries(SOURCE_FIELDS.map((field) => [field, long]))), false);
    const lengths = Object.fromEntries(REPORT_HEADER.map((name, index) => [name, [...(record[index] ?? '')].length]));
    assert.deepEqual(lengths, {
      agent_email: 100,
      agent_first_name: 100,
      agent_last_name: 100,
      agent_roles: 1024,
      agent_control_group: 100,
      ccid: 255,
      customer_first_name: 100,
      customer_last_name: 100,
      product_group_id: 255,
      event_type: 100,
      event_subtype: 0,
      event_time: 2000,
      control_tag: 100,
      twoway_channel_sid: 100,
      conversation_id: 256,
      closed_reason: 256,
      closed_additional_information: 1024,
      after_hours_flag: 5,
      sender_type: 50,
      conversation_status: 50,
    });
  });
});
