import type { Knex } from 'knex';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import type { SourceFingerprint } from '../domain/late-data.js';
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
 * The filter every reading of a period shares: one client's included events (`e`) with
 * `event_time` in `[lower, upper)`, the bounds given as SQL expressions.
 */
function includedEventsSql(clientId: string, lower: string, upper: string, quote: LiteralQuoter): string {
  return `e.client_id = ${quote(clientId)}
  AND e.event_time >= ${lower}
  AND e.event_time < ${upper}
  AND e.event_name IN (${INCLUDED_EVENT_NAMES.map(quote).join(', ')})`;
}

function instantSql(value: Instant, quote: LiteralQuoter): string {
  return `${quote(new Date(value).toISOString())}::timestamptz`;
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
WHERE ${includedEventsSql(query.clientId, instantSql(query.startInstant, quote), instantSql(query.endInstant, quote), quote)}
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

/** One period of a client to fingerprint: a label of the caller's (the period start) and its instants. */
export interface FingerprintRange {
  readonly label: string;
  readonly startInstant: Instant;
  readonly endInstant: Instant;
}

/**
 * The source fingerprints (domain/late-data.ts) of one client's periods in one statement, over
 * the very events each file is built from (the extraction's filter): per period, the events'
 * count; the sum of a 64-bit hash of each event's fields; and the sum of a hash of each agent and
 * customer row those events join, each row once (an event moved to another agent changes the
 * events part, a renamed agent the joined part). Rows are hashed field by field with each type's
 * own hash (hash_record_extended, PostgreSQL 14 and later; formatting values as text would cost
 * five times as much); sums of bigint are numeric, so nothing overflows and row order does not
 * matter. The periods (of one frequency, so they never overlap) are read in one range scan of
 * the (client_id, event_time) index, each event given to its period by `width_bucket` over the
 * periods' starts. A build reads its one period with the same statement, so both readings agree.
 */
export function periodFingerprintsSql(clientId: string, ranges: readonly FingerprintRange[], quote: LiteralQuoter): string {
  if (ranges.length === 0) throw new Error('periodFingerprintsSql needs at least one period');
  const sorted = [...ranges].sort((a, b) => a.startInstant - b.startInstant);
  const array = (values: readonly string[], type: string) => `ARRAY[${values.join(', ')}]::${type}[]`;
  const starts = array(
    sorted.map((range) => instantSql(range.startInstant, quote)),
    'timestamptz',
  );
  const ends = array(
    sorted.map((range) => instantSql(range.endInstant, quote)),
    'timestamptz',
  );
  const labels = array(
    sorted.map((range) => quote(range.label)),
    'text',
  );
  const first = instantSql(sorted[0]?.startInstant ?? 0, quote);
  const last = instantSql(Math.max(...sorted.map((range) => range.endInstant)), quote);
  const fields = FINGERPRINTED_EVENT_FIELDS.map((field) => `e.${field}`).join(', ');
  return `WITH events AS MATERIALIZED (
  SELECT (${labels})[width_bucket(e.event_time, ${starts})] AS label, hash_record_extended(ROW(${fields}), 0) AS hash, e.agent_id, e.ccid
  FROM twoway_events e
  WHERE ${includedEventsSql(clientId, first, last, quote).replaceAll('\n', '\n  ')}
    AND e.event_time < (${ends})[width_bucket(e.event_time, ${starts})]
),
counted AS (
  SELECT label, count(*) AS rows, sum(hash) AS events FROM events GROUP BY label
),
agent_rows AS (
  SELECT x.label, sum(hash_record_extended(a, 1)) AS hash FROM (SELECT DISTINCT label, agent_id FROM events) x JOIN agents a ON a.id = x.agent_id GROUP BY x.label
),
customer_rows AS (
  SELECT x.label, sum(hash_record_extended(c, 2)) AS hash
  FROM (SELECT DISTINCT label, ccid FROM events) x JOIN customers c ON c.client_id = ${quote(clientId)} AND c.ccid = x.ccid
  GROUP BY x.label
)
SELECT p.label, coalesce(counted.rows, 0)::bigint AS rows, coalesce(counted.events, 0)::text AS events,
  (coalesce(agent_rows.hash, 0) + coalesce(customer_rows.hash, 0))::text AS joined
FROM unnest(${labels}) AS p (label)
LEFT JOIN counted ON counted.label = p.label
LEFT JOIN agent_rows ON agent_rows.label = p.label
LEFT JOIN customer_rows ON customer_rows.label = p.label`;
}

interface FingerprintRow {
  readonly label: string;
  readonly rows: number;
  readonly events: string;
  readonly joined: string;
}

/**
 * Today's source fingerprints of one client's periods, by label: one statement for them all;
 * no event row leaves PostgreSQL.
 */
export async function readPeriodFingerprints(
  db: Knex | pg.ClientBase,
  clientId: string,
  ranges: readonly FingerprintRange[],
): Promise<Map<string, SourceFingerprint>> {
  if (ranges.length === 0) return new Map();
  const sql = periodFingerprintsSql(clientId, ranges, pg.escapeLiteral);
  const result = 'raw' in db ? ((await db.raw(sql)) as { rows: FingerprintRow[] }) : await db.query<FingerprintRow>(sql);
  return new Map(result.rows.map((row) => [row.label, { rows: Number(row.rows), events: row.events, joined: row.joined }]));
}

/** The source fingerprint of one period. */
export async function readPeriodFingerprint(db: Knex | pg.ClientBase, query: PeriodEventsQuery): Promise<SourceFingerprint> {
  const label = 'period';
  const found = (await readPeriodFingerprints(db, query.clientId, [{ label, startInstant: query.startInstant, endInstant: query.endInstant }])).get(label);
  if (!found) throw new Error('the fingerprint query returned no row');
  return found;
}

/**
 * Streams the period's rows in PostgreSQL's binary COPY format, as the server hands them over
 * (chunks that need not end at a row's end; BinaryCopyDecoder frames them); memory stays flat
 * whatever the period's size. The connection is left in COPY mode if the caller stops early,
 * so callers own a connection of their own and end it.
 */
export function streamPeriodCopy(connection: pg.ClientBase, query: PeriodEventsQuery): AsyncIterable<Buffer> {
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
