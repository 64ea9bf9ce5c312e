import type { Knex } from 'knex';
import type { Frequency, Instant } from '../domain/types.js';

/** A demo client: settings as stored in `clients`, before validation. */
export interface SeedClient {
  readonly id: string;
  readonly name: string;
  readonly environment: 'production' | 'sandbox';
  readonly timezone: string;
  readonly frequency: Frequency;
  readonly afterHours: unknown;
  readonly fileNameTemplate?: string;
}

const WEEKDAY_HOURS = [['08:00', '17:00']];

/** Several clients in different zones and frequencies; one with after-hours settings, one with PGP, one sandbox. */
export const DEMO_CLIENTS: readonly SeedClient[] = [
  {
    id: 'acme',
    name: 'Acme Health',
    environment: 'production',
    timezone: 'America/Chicago',
    frequency: 'daily',
    afterHours: {
      businessHours: {
        mon: WEEKDAY_HOURS,
        tue: [
          ['08:00', '12:00'],
          ['13:00', '17:00'],
        ],
        wed: WEEKDAY_HOURS,
        thu: WEEKDAY_HOURS,
        fri: [['08:00', '24:00']],
      },
      holidays: ['2026-11-26', '2026-12-25', '2027-01-01'],
    },
  },
  {
    id: 'globex',
    name: 'Globex Retail',
    environment: 'production',
    timezone: 'Europe/Berlin',
    frequency: 'weekly',
    afterHours: {
      timezone: 'Europe/London',
      businessHours: { mon: WEEKDAY_HOURS, tue: WEEKDAY_HOURS, wed: WEEKDAY_HOURS, thu: WEEKDAY_HOURS, fri: WEEKDAY_HOURS, sat: [['10:00', '14:00']] },
    },
  },
  {
    id: 'initech',
    name: 'Initech Insurance',
    environment: 'production',
    timezone: 'Asia/Tokyo',
    frequency: 'monthly',
    afterHours: null,
    fileNameTemplate: 'initech_twoway_{start}_{end}.csv',
  },
  { id: 'hooli', name: 'Hooli Clinics', environment: 'production', timezone: 'Australia/Sydney', frequency: 'daily', afterHours: null },
  // Receives its files encrypted to its PGP key and signed by ours (delivery.pgp).
  { id: 'vandelay', name: 'Vandelay Industries', environment: 'production', timezone: 'America/New_York', frequency: 'daily', afterHours: null },
  { id: 'umbrella', name: 'Umbrella Sandbox', environment: 'sandbox', timezone: 'UTC', frequency: 'daily', afterHours: null },
];

export interface SeedEventsOptions {
  readonly clientIds: readonly string[];
  /** Events are spread evenly over [from, to), in time order, as an event store receives them. */
  readonly from: Instant;
  readonly to: Instant;
  readonly count: number;
  /** Customers per client (some events refer to ccids beyond them: customer rows may be missing). */
  readonly customersPerClient?: number;
  /** Same seed, same data. */
  readonly seed?: number;
  readonly onProgress?: (eventsInserted: number, total: number) => void;
}

const AGENT_COUNT = 200;
const CLIENTS_PER_STATEMENT = 1_000;
const DEFAULT_CUSTOMERS_PER_CLIENT = 5_000;
const EVENTS_PER_STATEMENT = 250_000;
const EVENTS_PER_CONVERSATION = 40;
const DEFAULT_SEED = 0.42;

// Realistic names, with the characters a CSV writer must get right among them.
const FIRST_NAMES = ['Ana', 'José', 'Zoë', 'Chloé', 'Liam', 'Noah', 'Mary, Jr.', 'Wei', '李', 'Nguyễn', 'Siobhán', 'Olu', 'Ava', 'Mia', 'Björn', 'Priya'];
const LAST_NAMES = ["O'Neil", 'Smith', 'García', 'Müller', 'Kowalski', 'Tanaka', 'Johnson', 'Dubois', '"Ace" Ventura', 'Okafor', 'Nakamura', 'Rossi'];
const CONTROL_GROUPS = ['north', 'south', 'east', 'west', 'escalations'];
const CLOSED_REASONS = ['resolved', 'no_response', 'transferred', 'spam'];
const CLOSED_NOTES = ['Customer confirmed, thanks', 'Follow-up booked for Monday, 9am', 'Left voicemail; "call back" requested', 'Line one\nline two'];
// Share of each event name, in percent; the last two are not in the report and must be left out.
const EVENT_MIX: ReadonlyArray<readonly [string, number]> = [
  ['twoway_webhook.customer_message_sent', 30],
  ['twoway_webhook.agent_message_sent', 30],
  ['twoway_webhook.system_message_sent', 8],
  ['twoway.agent_ping', 5],
  ['twoway.agent_invite', 3],
  ['twoway_webhook.member_added', 5],
  ['twoway_webhook.member_removed', 4],
  ['twoway_webhook.channel_added', 5],
  ['twoway.channel_closed', 5],
  ['twoway_webhook.message_read', 4],
  ['twoway.typing_started', 1],
];

/** A CASE choosing an event name from a uniform random number in [0, 1), by EVENT_MIX. */
function eventNameCase(randomColumn: string): string {
  let cumulative = 0;
  const branches = EVENT_MIX.map(([name, percent]) => {
    cumulative += percent;
    return `WHEN ${randomColumn} < ${cumulative / 100} THEN '${name}'`;
  });
  return `CASE ${branches.join(' ')} ELSE '${EVENT_MIX[0]?.[0]}' END`;
}

function sqlTextArray(values: readonly string[]): string {
  return `ARRAY[${values.map((value) => `'${value.replaceAll("'", "''")}'`).join(', ')}]::text[]`;
}

function jsonOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

/** Inserts or replaces the demo clients; `delivery` gives each its `clients.delivery` value. */
export async function seedClients(knex: Knex, clients: readonly SeedClient[], delivery: (clientId: string) => unknown = () => null): Promise<void> {
  const rows = clients.map((client) => ({
    id: client.id,
    name: client.name,
    environment: client.environment,
    timezone: client.timezone,
    frequency: client.frequency,
    enabled: true,
    after_hours: jsonOrNull(client.afterHours),
    delivery: jsonOrNull(delivery(client.id)),
    file_name_template: client.fileNameTemplate ?? null,
  }));
  // In batches: one statement per batch whatever the number of clients, under PostgreSQL's limit of bind parameters.
  for (let first = 0; first < rows.length; first += CLIENTS_PER_STATEMENT) {
    await knex('clients')
      .insert(rows.slice(first, first + CLIENTS_PER_STATEMENT))
      .onConflict('id')
      .merge();
  }
}

/** Agents shared by all clients (the agents table has no client column). */
export async function seedAgents(knex: Knex): Promise<void> {
  await knex.raw(
    `INSERT INTO agents (id, email, first_name, last_name, roles, control_group)
     SELECT 'agent-' || g,
            'agent' || g || '@support.example.com',
            (${sqlTextArray(FIRST_NAMES)})[1 + g % ${FIRST_NAMES.length}],
            (${sqlTextArray(LAST_NAMES)})[1 + (g * 7) % ${LAST_NAMES.length}],
            CASE WHEN g % 10 = 0 THEN ARRAY['twoway_agent', 'cx_portal_admin'] WHEN g % 17 = 0 THEN NULL ELSE ARRAY['twoway_agent'] END,
            (${sqlTextArray(CONTROL_GROUPS)})[1 + g % ${CONTROL_GROUPS.length}]
     FROM generate_series(1, ${AGENT_COUNT}) AS g
     ON CONFLICT (id) DO NOTHING`,
  );
}

/** Customers of every client in one statement (thousands of clients: one round trip, not one each). */
async function seedCustomers(knex: Knex, clientIds: readonly string[], count: number): Promise<void> {
  await knex.raw(
    `INSERT INTO customers (client_id, ccid, first_name, last_name, product_group_id)
     SELECT client_id, 'cc-' || g,
            (${sqlTextArray(FIRST_NAMES)})[1 + (g * 3) % ${FIRST_NAMES.length}],
            (${sqlTextArray(LAST_NAMES)})[1 + (g * 5) % ${LAST_NAMES.length}],
            CASE WHEN g % 23 = 0 THEN NULL ELSE 'pg-' || (g % 40) END
     FROM unnest(?::text[]) AS client_id CROSS JOIN generate_series(1, ?) AS g
     -- A client's customers together, as one statement per client stored them.
     ORDER BY client_id, g
     ON CONFLICT (client_id, ccid) DO NOTHING`,
    [[...clientIds], count],
  );
}

/**
 * Generates `count` events inside PostgreSQL (generate_series), spread over the clients and
 * the time range, deterministic for a given seed. Millions of rows take seconds, not minutes.
 */
export async function seedEvents(knex: Knex, options: SeedEventsOptions): Promise<void> {
  const customers = options.customersPerClient ?? DEFAULT_CUSTOMERS_PER_CLIENT;
  await seedCustomers(knex, options.clientIds, customers);
  await seedAgents(knex);
  const spanMs = options.to - options.from;
  for (let first = 1; first <= options.count; first += EVENTS_PER_STATEMENT) {
    const last = Math.min(options.count, first + EVENTS_PER_STATEMENT - 1);
    await knex.transaction(async (trx) => {
      // setseed and the INSERT share one session, so random() is reproducible per chunk.
      await trx.raw('SELECT setseed(?)', [((options.seed ?? DEFAULT_SEED) + first / options.count) % 1]);
      await trx.raw(
        `INSERT INTO twoway_events (client_id, event_name, event_time, ccid, agent_id, control_tag, twoway_channel_sid,
                                    conversation_id, closed_reason, closed_additional_information, sender_type,
                                    conversation_status, message_text, received_at)
         SELECT client_id, event_name, event_time, ccid, agent_id, control_tag, channel_sid, conversation_id,
                CASE WHEN event_name = 'twoway.channel_closed' THEN (${sqlTextArray(CLOSED_REASONS)})[1 + conv % ${CLOSED_REASONS.length}] END,
                CASE WHEN event_name = 'twoway.channel_closed' AND conv % 3 = 0 THEN (${sqlTextArray(CLOSED_NOTES)})[1 + conv % ${CLOSED_NOTES.length}] END,
                CASE WHEN r_sender < 0.2 THEN NULL
                     WHEN event_name IN ('twoway_webhook.customer_message_sent') THEN 'customer'
                     WHEN event_name IN ('twoway_webhook.agent_message_sent', 'twoway.agent_ping', 'twoway.agent_invite') THEN 'agent'
                     ELSE 'system' END,
                CASE WHEN event_name = 'twoway.channel_closed' THEN 'closed' ELSE 'active' END,
                'Message text #' || g || ' (never exported)',
                event_time + interval '2 seconds'
         FROM (
           SELECT g, conv, r_sender,
                  (?::text[])[1 + conv % ?] AS client_id,
                  ${eventNameCase('r_name')} AS event_name,
                  to_timestamp((? + (g - 1) * (?::float8 / ?) + random() * (?::float8 / ?)) / 1000.0) AS event_time,
                  'cc-' || (1 + floor(random() * ? * 1.05)::int) AS ccid,
                  CASE WHEN r_agent < 0.02 THEN 'agent-departed-' || conv WHEN r_agent < 0.5 THEN 'agent-' || (1 + conv % ${AGENT_COUNT}) END AS agent_id,
                  'tag-' || (conv % 12) AS control_tag,
                  'CH' || md5('channel' || conv) AS channel_sid,
                  substr(md5('conversation' || conv), 1, 8) || '-' || substr(md5('conversation' || conv), 9, 4) || '-4' ||
                    substr(md5('conversation' || conv), 14, 3) || '-a' || substr(md5('conversation' || conv), 18, 3) || '-' ||
                    substr(md5('conversation' || conv), 21, 12) AS conversation_id
           FROM (
             SELECT g, g / ${EVENTS_PER_CONVERSATION} AS conv, random() AS r_name, random() AS r_agent, random() AS r_sender
             FROM generate_series(?::bigint, ?::bigint) AS g
           ) numbered
         ) generated`,
        [[...options.clientIds], options.clientIds.length, options.from, spanMs, options.count, spanMs, options.count, customers, first, last],
      );
    });
    options.onProgress?.(last, options.count);
  }
  await knex.raw('ANALYZE twoway_events, customers, agents');
}

/** Removes the given clients' events and customers (a re-seed starts clean). */
export async function clearClientData(knex: Knex, clientIds: readonly string[]): Promise<void> {
  await knex('twoway_events').whereIn('client_id', clientIds).delete();
  await knex('customers').whereIn('client_id', clientIds).delete();
}
