import type { Knex } from 'knex';

// SPEC section 7: the ledger. One row per period run (a workflow run of one period). A
// delivered row owns its revision: the partial unique index makes a second delivery of the
// same revision impossible, whatever the workflows do.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE IF NOT EXISTS report_runs (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      client_id text NOT NULL,
      frequency text NOT NULL CHECK (frequency IN ('daily', 'weekly', 'monthly')),
      period_start date NOT NULL,
      period_end date NOT NULL,
      status text NOT NULL CHECK (status IN ('running', 'delivered', 'unchanged', 'skipped', 'failed')),
      forced boolean NOT NULL DEFAULT false,
      revision integer CHECK (revision >= 1),
      row_count bigint,
      bytes bigint,
      sha256 text,
      file_name text,
      remote_path text,
      workflow_id text NOT NULL,
      run_id text NOT NULL,
      attempts integer NOT NULL DEFAULT 0,
      started_at timestamptz NOT NULL DEFAULT now(),
      finished_at timestamptz,
      updated_at timestamptz NOT NULL DEFAULT now(),
      last_error text,
      UNIQUE (workflow_id, run_id)
    );
    CREATE UNIQUE INDEX IF NOT EXISTS report_runs_delivered_revision_idx
      ON report_runs (client_id, frequency, period_start, revision) WHERE status = 'delivered';
    CREATE INDEX IF NOT EXISTS report_runs_period_idx
      ON report_runs (client_id, frequency, period_start, started_at);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS report_runs');
}
