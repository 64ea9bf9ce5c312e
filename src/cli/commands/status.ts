import { ClientNotFoundError } from '../../domain/errors.js';
import { listRuns, type LedgerRow } from '../../db/ledger.js';
import { revisionKeyText, revisionPartNames } from '../../db/report-files.js';
import { parseOptions, parseWholeNumberOption } from '../args.js';
import { print, withDatabase, type CliContext } from '../context.js';

const DEFAULT_LIMIT = 30;
const SHORT_SHA_LENGTH = 12;
/** A revision of more files than this shows its first and last only. */
const MAX_FILES_LISTED = 4;

/** The other files of a revision of several (parts, manifest): `+ a, b` or `+ a … z (n files)`. */
function otherFiles(row: LedgerRow, parts: readonly string[] | undefined): string {
  const others = (parts ?? []).filter((name) => name !== row.file_name);
  if (others.length === 0) return '';
  if (others.length <= MAX_FILES_LISTED) return ` + ${others.join(', ')}`;
  return ` + ${others[0]} … ${others.at(-1)} (${others.length} files)`;
}

function line(row: LedgerRow, parts: readonly string[] | undefined): string {
  const revision = row.revision === null ? '' : ` r${row.revision}`;
  const counts = row.row_count === null ? '' : ` ${row.row_count} rows ${row.bytes} bytes sha256 ${row.sha256?.slice(0, SHORT_SHA_LENGTH)}`;
  const where = (row.remote_path ? ` ${row.remote_path}` : row.file_name ? ` ${row.file_name}` : '') + otherFiles(row, parts);
  const error = row.last_error ? ` — ${row.last_error}` : '';
  const when = row.finished_at ?? row.started_at;
  return `${when.toISOString()}  ${row.client_id} ${row.frequency} ${row.period_start}${revision}  ${row.status}${row.forced ? ' (forced)' : ''}  attempts ${row.attempts}${counts}${where}${error}`;
}

/** The ledger: the newest period runs, newest first. */
export async function statusCommand(args: readonly string[], context: CliContext): Promise<void> {
  const options = parseOptions('status', args, { client: { type: 'string' }, limit: { type: 'string' } });
  const limit = options.limit === undefined ? DEFAULT_LIMIT : parseWholeNumberOption('limit', options.limit, 1, 10_000);
  await withDatabase(context, async ({ knex }) => {
    // An unknown client is a mistake to say so, not an empty ledger (a typo would look like "no runs yet").
    if (options.client && !(await knex('clients').where({ id: options.client }).first('id'))) throw new ClientNotFoundError(options.client);
    const rows = await listRuns(knex, { ...(options.client ? { clientId: options.client } : {}), limit });
    if (rows.length === 0) print(context, options.client ? `no runs of client "${options.client}" yet` : 'no runs yet');
    const keyOf = (row: LedgerRow) => ({ clientId: row.client_id, frequency: row.frequency, periodStart: row.period_start, revision: row.revision ?? 0 });
    const parts = await revisionPartNames(knex, rows.filter((row) => row.revision !== null).map(keyOf));
    for (const row of rows) print(context, line(row, row.revision === null ? undefined : parts.get(revisionKeyText(keyOf(row)))));
  });
}
