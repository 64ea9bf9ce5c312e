import type { Knex } from 'knex';

// SPEC section 2: the source tables, names and types as the contract gives them. In
// production the pipeline reads a store of this shape; here they exist for development
// and tests.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE IF NOT EXISTS clients (
      id text PRIMARY KEY,
      name text NOT NULL,
      environment text NOT NULL DEFAULT 'production',
      timezone text NOT NULL DEFAULT 'UTC',
      frequency text NOT NULL DEFAULT 'daily',
      enabled boolean NOT NULL DEFAULT true,
      after_hours jsonb,
      delivery jsonb,
      file_name_template text
    );
    CREATE TABLE IF NOT EXISTS agents (
      id text PRIMARY KEY,
      email text,
      first_name text,
      last_name text,
      roles text[],
      control_group text
    );
    CREATE TABLE IF NOT EXISTS customers (
      client_id text NOT NULL REFERENCES clients,
      ccid text NOT NULL,
      first_name text,
      last_name text,
      product_group_id text,
      PRIMARY KEY (client_id, ccid)
    );
    CREATE TABLE IF NOT EXISTS twoway_events (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      client_id text NOT NULL,
      event_name text NOT NULL,
      event_time timestamptz NOT NULL,
      ccid text,
      agent_id text,
      control_tag text,
      twoway_channel_sid text,
      conversation_id text,
      closed_reason text,
      closed_additional_information text,
      sender_type text,
      conversation_status text,
      message_text text,
      received_at timestamptz NOT NULL DEFAULT now()
    );
    -- (client_id, event_time) as the contract asks, with id last so a period streams out
    -- in file order (event_time, then id) straight from the index, without a sort.
    CREATE INDEX IF NOT EXISTS twoway_events_client_id_event_time_idx
      ON twoway_events (client_id, event_time, id);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS twoway_events, customers, agents, clients');
}
