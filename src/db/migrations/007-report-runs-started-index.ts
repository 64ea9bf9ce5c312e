import type { Knex } from 'knex';

// `status` lists the newest runs of all clients (ORDER BY started_at DESC, id DESC LIMIT n).
// Without an index that is a scan and sort of the whole ledger, which grows by one row per
// client and period (2,000 daily clients: 730,000 rows a year); with it, n index entries.
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX IF NOT EXISTS report_runs_started_idx ON report_runs (started_at, id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS report_runs_started_idx');
}
