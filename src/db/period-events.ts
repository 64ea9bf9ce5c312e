import type { Knex } from 'knex';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import type { SourceFingerprint } from '../domain/late-data.js';
import { INCLUDED_EVENT_NAMES, SOURCE_FIELDS, type SourceField, type SourceRow } from '../domain/report-row.js';
import type { Instant } from '../domain/types.js';
import { BinaryCopyDecoder } from './binary-copy-decoder.js';

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

/** The period's events: one client's included events in `[start, end)` (`e`), the filter every reading of a period shares. */
function periodEventsWhereSql(query: PeriodEventsQuery, quote: LiteralQuoter): string {
  const instant = (value: Instant) => `${quote(new Date(value).toISOString())}::timestamptz`;
  return `WHERE e.client_id = ${quote(query.clientId)}
  AND e.event_time >= ${instant(query.startInstant)}
  AND e.event_time < ${instant(query.endInstant)}
  AND e.event_name IN (${INCLUDED_EVENT_NAMES.map(quote).join(', ')})`;
}

/**
 * The period's rows with their agent and customer, in file order: `event_time` at full stored
 * precision, then `id`. The index on (client_id, event_time, id) serves the filter and the order.
 */
export function periodEventsSql(query: PeriodEventsQuery, quote: LiteralQuoter): string {
  const columns = SOURCE_FIELDS.map((field) => SOURCE_SQL[field]).join(',\n  ');
  return `SELECT
  ${columns}
FROM twoway_events e
LEFT JOIN agents a ON a.id = e.agent_id
LEFT JOIN customers c ON c.client_id = e.client_id AND c.ccid = e.ccid
${periodEventsWhereSql(query, quote)}
ORDER BY e.event_time, e.id`;
}

/** The event fields a file shows (or joins by), with the id that orders them; `message_text` and `received_at` never reach it. */
const FINGERPRINTED_EVENT_FIELDS = [
  'id',
  'event_name',
  'event_time',
  'ccid',
  'agent_id',
  'control_tag',
  'twoway_channel_sid',
  'conversation_id',
  'closed_reason',
  'closed_additional_information',
  'sender_type',
  'conversation_status',
];

/**
 * The source fingerprint of the period (domain/late-data.ts), over the very events the file is
 * built from (the same filter): their count; the sum of a 64-bit hash of each event's fields;
 * and the sum of a hash of each agent and customer row those events join, each row once (an
 * event moved to another agent changes the events part, a renamed agent the joined part). Rows
 * are hashed as PostgreSQL prints them, where NULL and '' differ; sums of bigint are numeric, so
 * nothing overflows and row order does not matter.
 */
export function periodFingerprintSql(query: PeriodEventsQuery, quote: LiteralQuoter): string {
  return `WITH events AS MATERIALIZED (
  SELECT ${FINGERPRINTED_EVENT_FIELDS.map((field) => `e.${field}`).join(', ')}
  FROM twoway_events e
  ${periodEventsWhereSql(query, quote).replaceAll('\n', '\n  ')}
)
SELECT (SELECT count(*) FROM events)::bigint AS rows,
  (SELECT coalesce(sum(hashtextextended(v::text, 0)), 0) FROM events v)::text AS events,
  ((SELECT coalesce(sum(hashtextextended(a::text, 1)), 0) FROM agents a WHERE a.id IN (SELECT agent_id FROM events))
    + (SELECT coalesce(sum(hashtextextended(c::text, 2)), 0) FROM customers c
        WHERE c.client_id = ${quote(query.clientId)} AND c.ccid IN (SELECT ccid FROM events)))::text AS joined`;
}

interface FingerprintRow {
  readonly rows: number;
  readonly events: string;
  readonly joined: string;
}

function toFingerprint(row: FingerprintRow | undefined): SourceFingerprint {
  if (!row) throw new Error('the fingerprint query returned no row');
  return { rows: Number(row.rows), events: row.events, joined: row.joined };
}

/** Today's source fingerprint of the period: one aggregate over its rows; no row leaves PostgreSQL. */
export async function readPeriodFingerprint(db: Knex | pg.ClientBase, query: PeriodEventsQuery): Promise<SourceFingerprint> {
  const sql = periodFingerprintSql(query, pg.escapeLiteral);
  const result = 'raw' in db ? ((await db.raw(sql)) as { rows: FingerprintRow[] }) : await db.query<FingerprintRow>(sql);
  return toFingerprint(result.rows[0]);
}

/**
 * Streams the period's rows as PostgreSQL hands them over (binary COPY), in batches as they
 * arrive; memory stays flat whatever the period's size. The connection is left in COPY
 * mode if the caller stops early, so callers own a connection of their own and end it.
 */
export async function* streamPeriodEvents(connection: pg.Client, query: PeriodEventsQuery): AsyncGenerator<SourceRow[]> {
  const sql = `COPY (${periodEventsSql(query, (value) => connection.escapeLiteral(value))}) TO STDOUT (FORMAT binary)`;
  const stream = connection.query(copyStreams.to(sql));
  const decoder = new BinaryCopyDecoder(SOURCE_FIELDS.length);
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const rows: (string | null)[][] = [];
    decoder.push(chunk, rows);
    if (rows.length > 0) yield rows;
  }
  decoder.end();
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
