import type { Knex } from 'knex';

// The watchdog's tables. `clients` keeps the contract's shape [SPEC §2], so what the project adds
// per client (the date it became active, its own due time) lives beside it in `client_watch`.
// `period_states` holds the state the watchdog last gave each period: it is what makes a
// notification go out once per state change. `notification_outbox` holds every event decided
// in the same transaction as the state change; sending is a separate, retried step, so a
// receiver that is down loses nothing and holds nothing up.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE IF NOT EXISTS client_watch (
      client_id text PRIMARY KEY,
      active_since date NOT NULL,
      due text,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE IF NOT EXISTS period_states (
      client_id text NOT NULL,
      frequency text NOT NULL CHECK (frequency IN ('daily', 'weekly', 'monthly')),
      period_start date NOT NULL,
      period_end_at timestamptz NOT NULL,
      state text NOT NULL CHECK (state IN ('not_yet_due', 'running', 'delivered', 'late', 'missing', 'failed')),
      since timestamptz NOT NULL,
      due_at timestamptz NOT NULL,
      last_problem text CHECK (last_problem IN ('late', 'missing', 'failed')),
      last_error text,
      workflow_id text,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (client_id, frequency, period_start)
    );
    CREATE INDEX IF NOT EXISTS period_states_open_idx ON period_states (client_id, state) WHERE state <> 'delivered';
    CREATE TABLE IF NOT EXISTS notification_outbox (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      event_id text NOT NULL UNIQUE,
      event jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      sent_at timestamptz,
      attempts integer NOT NULL DEFAULT 0,
      last_error text
    );
    CREATE INDEX IF NOT EXISTS notification_outbox_pending_idx ON notification_outbox (id) WHERE sent_at IS NULL;
    -- The failure's type (AuthenticationFailedError, …) beside its message, for period.failed events.
    ALTER TABLE report_runs ADD COLUMN IF NOT EXISTS last_error_type text;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS notification_outbox, period_states, client_watch; ALTER TABLE report_runs DROP COLUMN IF EXISTS last_error_type');
}
