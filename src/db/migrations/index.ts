import type { Knex } from 'knex';
import * as sourceTables from './001-source-tables.js';
import * as reportRuns from './002-report-runs.js';
import * as reportFiles from './003-report-files.js';
import * as periodWatch from './004-period-watch.js';
import * as reportFileParts from './005-report-file-parts.js';
import * as reportRunsStarted from './007-report-runs-started-index.js';

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

// Listed explicitly instead of read from a folder: the compiled code then migrates the same
// way from any working directory or container.
const MIGRATIONS: ReadonlyArray<readonly [string, Migration]> = [
  ['001-source-tables', sourceTables],
  ['002-report-runs', reportRuns],
  ['003-report-files', reportFiles],
  ['004-period-watch', periodWatch],
  ['005-report-file-parts', reportFileParts],
  // 006 is taken by work merged separately (late data).
  ['007-report-runs-started-index', reportRunsStarted],
];

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => MIGRATIONS.map(([name]) => name),
  getMigrationName: (name) => name,
  getMigration: async (name) => {
    const found = MIGRATIONS.find(([candidate]) => candidate === name);
    if (!found) throw new Error(`unknown migration ${name}`);
    return found[1];
  },
};
