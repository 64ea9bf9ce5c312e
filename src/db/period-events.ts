import type { Knex } from 'knex';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { INCLUDED_EVENT_NAMES, SOURCE_FIELDS, type SourceField } from '../domain/report-row.js';
import type { Instant } from '../domain/types.js';

/** The SQL of each source field. `message_text` is deliberately absent: it is never exported. */
const SOURCE_SQL: Readonly<Record<SourceField, string>> = {
  agent_email: 'a.email',
  agent_first_name: 'a.first_name',
  agent_last_name: 'a.last_name',
  agent_roles: "array_to_string(a.roles, '|', '')",
  agent_control_group: 'a.control_group',
  ccid: 'e.ccid',
  customer_first_name: 'c.first_name',
  customer_last_name: 'c.last_name',
  product_group_id: 'c.product_group_id',
  event_name: 'e.event_name',
  // to_char's MS drops sub-millisecond digits, as the file wants (never rounds up).
  event_time: `to_char(e.event_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`,
  control_tag: 'e.control_tag',
  twoway_channel_sid: 'e.twoway_channel_sid',
  conversation_id: 'e.conversation_id',
  closed_reason: 'e.closed_reason',
  closed_additional_information: 'e.closed_additional_information',
  sender_type: 'e.sender_type',
  conversation_status: 'e.conversation_status',
};

export interface PeriodEventsQuery {
  readonly clientId: string;
  readonly startInstant: Instant;
  readonly endInstant: Instant;
}

/** Quotes a string as an SQL literal (COPY takes no bind parameters). */
export type LiteralQuoter = (value: string) => string;

/**
 * One client's included events in `[start, end)` with their agent and customer, in file
 * order: `event_time` at full stored precision, then `id`. The index on
 * (client_id, event_time, id) serves the filter and the order.
 */
export function periodEventsSql(query: PeriodEventsQuery, quote: LiteralQuoter): string {
  const columns = SOURCE_FIELDS.map((field) => SOURCE_SQL[field]).join(',\n  ');
  const instant = (value: Instant) => `${quote(new Date(value).toISOString())}::timestamptz`;
  return `SELECT
  ${columns}
FROM twoway_events e
LEFT JOIN agents a ON a.id = e.agent_id
LEFT JOIN customers c ON c.client_id = e.client_id AND c.ccid = e.ccid
WHERE e.client_id = ${quote(query.clientId)}
  AND e.event_time >= ${instant(query.startInstant)}
  AND e.event_time < ${instant(query.endInstant)}
  AND e.event_name IN (${INCLUDED_EVENT_NAMES.map(quote).join(', ')})
ORDER BY e.event_time, e.id`;
}

/**
 * Streams the period's rows in PostgreSQL's binary COPY format, as the server hands them over
 * (chunks that need not end at a row's end; BinaryCopyDecoder frames them); memory stays flat
 * whatever the period's size. The connection is left in COPY mode if the caller stops early,
 * so callers own a connection of their own and end it.
 */
export function streamPeriodCopy(connection: pg.Client, query: PeriodEventsQuery): AsyncIterable<Buffer> {
  const sql = `COPY (${periodEventsSql(query, (value) => connection.escapeLiteral(value))}) TO STDOUT (FORMAT binary)`;
  return connection.query(copyStreams.to(sql)) as AsyncIterable<Buffer>;
}

/** How many rows the period's file will have (for progress bars; costs one index scan). */
export async function countPeriodEvents(knex: Knex, query: PeriodEventsQuery): Promise<number> {
  const result = await knex('twoway_events')
    .where('client_id', query.clientId)
    .where('event_time', '>=', new Date(query.startInstant))
    .where('event_time', '<', new Date(query.endInstant))
    .whereIn('event_name', INCLUDED_EVENT_NAMES)
    .count<{ count: number }[]>({ count: '*' });
  return Number(result[0]?.count ?? 0);
}
