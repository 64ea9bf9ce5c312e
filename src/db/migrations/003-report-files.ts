import type { Knex } from 'knex';

// The files of each period, one row per revision [SPEC §6, §7]. A row is written *before* its
// file is renamed into place (status `publishing`, with the temporary path that holds the
// verified bytes), so that a retry or a later run can always tell what happened to it:
// delivered (the file, or its disappearance after the rename, is ours), or abandoned (the name
// was taken by bytes the ledger does not know). Each revision number is used once.
// Runs may also end `cancelled`; earlier delivered runs become files.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE IF NOT EXISTS report_files (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      client_id text NOT NULL,
      frequency text NOT NULL CHECK (frequency IN ('daily', 'weekly', 'monthly')),
      period_start date NOT NULL,
      revision integer NOT NULL CHECK (revision >= 1),
      status text NOT NULL CHECK (status IN ('publishing', 'delivered', 'abandoned')),
      file_name text NOT NULL,
      remote_path text NOT NULL,
      temporary_path text,
      sha256 text NOT NULL,
      delivered_sha256 text NOT NULL,
      content_sha256 text,
      bytes bigint NOT NULL,
      row_count bigint NOT NULL,
      workflow_id text NOT NULL,
      run_id text NOT NULL,
      note text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      delivered_at timestamptz,
      UNIQUE (client_id, frequency, period_start, revision)
    );
    INSERT INTO report_files (client_id, frequency, period_start, revision, status, file_name, remote_path,
                              sha256, delivered_sha256, bytes, row_count, workflow_id, run_id, delivered_at)
    SELECT client_id, frequency, period_start, revision, 'delivered', file_name, remote_path,
           sha256, sha256, bytes, row_count, workflow_id, run_id, finished_at
      FROM report_runs
     WHERE status = 'delivered' AND revision IS NOT NULL AND sha256 IS NOT NULL
    ON CONFLICT DO NOTHING;
    ALTER TABLE report_runs DROP CONSTRAINT IF EXISTS report_runs_status_check;
    ALTER TABLE report_runs ADD CONSTRAINT report_runs_status_check
      CHECK (status IN ('running', 'delivered', 'unchanged', 'skipped', 'failed', 'cancelled'));
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE IF EXISTS report_files;
    UPDATE report_runs SET status = 'failed' WHERE status = 'cancelled';
    ALTER TABLE report_runs DROP CONSTRAINT IF EXISTS report_runs_status_check;
    ALTER TABLE report_runs ADD CONSTRAINT report_runs_status_check
      CHECK (status IN ('running', 'delivered', 'unchanged', 'skipped', 'failed'));
  `);
}
