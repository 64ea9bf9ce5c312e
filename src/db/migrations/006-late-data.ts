import type { Knex } from 'knex';

// Late data: what each built file of a period was built from, the drift found in delivered
// revisions, and why each run (and so each revision) exists. Depends on 001 to 004 only.
// - `client_watch.late_data`: the client's policy (off, report, restate), lookback, corrections.
// - `report_runs.reason`: why a run was started when it is neither a schedule's nor an
//   operator's own (`restated-for-drift`); `rows_added`/`rows_removed`: how the revision it
//   delivered differs from the one before, where the previous revision's rows were kept.
// - `period_fingerprints`: per period and distinct file built (its sha256), the fingerprint of
//   the source rows read in the same snapshot as the file, so the pair always belongs together.
// - `period_drift`: a delivered revision whose file would differ today; one row per revision,
//   so a drift is recorded (and announced) once.
// - `period_snapshots`: the newest delivered revision's CSV (gzip) of clients that restate or want
//   corrections, kept while the period is inside its lookback, so the next revision can be diffed.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE client_watch ADD COLUMN IF NOT EXISTS late_data jsonb;
    ALTER TABLE report_runs ADD COLUMN IF NOT EXISTS reason text;
    ALTER TABLE report_runs ADD COLUMN IF NOT EXISTS rows_added bigint;
    ALTER TABLE report_runs ADD COLUMN IF NOT EXISTS rows_removed bigint;
    CREATE TABLE IF NOT EXISTS period_fingerprints (
      client_id text NOT NULL,
      frequency text NOT NULL CHECK (frequency IN ('daily', 'weekly', 'monthly')),
      period_start date NOT NULL,
      sha256 text NOT NULL,
      fingerprint jsonb NOT NULL,
      built_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (client_id, frequency, period_start, sha256)
    );
    CREATE TABLE IF NOT EXISTS period_drift (
      client_id text NOT NULL,
      frequency text NOT NULL CHECK (frequency IN ('daily', 'weekly', 'monthly')),
      period_start date NOT NULL,
      revision integer NOT NULL,
      delivered_sha256 text NOT NULL,
      rebuilt_sha256 text NOT NULL,
      delivered_row_count bigint NOT NULL,
      rebuilt_row_count bigint NOT NULL,
      policy text NOT NULL CHECK (policy IN ('report', 'restate')),
      detected_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (client_id, frequency, period_start, revision)
    );
    CREATE TABLE IF NOT EXISTS period_snapshots (
      client_id text NOT NULL,
      frequency text NOT NULL CHECK (frequency IN ('daily', 'weekly', 'monthly')),
      period_start date NOT NULL,
      revision integer NOT NULL,
      sha256 text NOT NULL,
      row_count bigint NOT NULL,
      csv_gzip bytea NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (client_id, frequency, period_start)
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE IF EXISTS period_snapshots, period_drift, period_fingerprints;
    ALTER TABLE report_runs DROP COLUMN IF EXISTS rows_removed, DROP COLUMN IF EXISTS rows_added, DROP COLUMN IF EXISTS reason;
    ALTER TABLE client_watch DROP COLUMN IF EXISTS late_data;
  `);
}
