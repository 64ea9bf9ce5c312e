import type { Knex } from 'knex';

// The files of a revision that is more than one file (issue 12): a split file's parts
// (`delivery.maxRowsPerFile`), the manifest (`delivery.manifest`) and its signature. One row per
// file, keyed by the revision (which keeps its `report_files` row) and the part number, which is
// the order of the renames: data parts 1..n, then the signature, the manifest last.
//
// A table rather than columns of `report_files`: every file needs its own intent (name,
// temporary path, size, checksums) and its own status, so that a retry after a crash between two
// renames finishes the others and never sends one twice. All rows of a revision are written in
// the transaction that records its intent, before the first rename; a part becomes `delivered`
// as it takes its name, the revision once the manifest has. A revision without rows here is one
// file, described by its `report_files` row as before. Deleting a revision's row deletes its parts.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE IF NOT EXISTS report_file_parts (
      client_id text NOT NULL,
      frequency text NOT NULL,
      period_start date NOT NULL,
      revision integer NOT NULL,
      part integer NOT NULL CHECK (part >= 1),
      kind text NOT NULL CHECK (kind IN ('data', 'signature', 'manifest')),
      status text NOT NULL CHECK (status IN ('publishing', 'delivered', 'abandoned')),
      file_name text NOT NULL,
      remote_path text NOT NULL,
      temporary_path text,
      sha256 text NOT NULL,
      delivered_sha256 text NOT NULL,
      bytes bigint NOT NULL,
      row_count bigint,
      note text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      delivered_at timestamptz,
      PRIMARY KEY (client_id, frequency, period_start, revision, part),
      UNIQUE (client_id, frequency, period_start, revision, file_name),
      FOREIGN KEY (client_id, frequency, period_start, revision)
        REFERENCES report_files (client_id, frequency, period_start, revision) ON DELETE CASCADE
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS report_file_parts');
}
