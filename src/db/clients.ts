import type { Knex } from 'knex';
import { parseClientConfig, type ClientRow } from '../domain/client-config.js';
import { ClientNotFoundError } from '../domain/errors.js';
import type { ClientConfig } from '../domain/types.js';

const CLIENT_COLUMNS = ['id', 'name', 'environment', 'timezone', 'frequency', 'enabled', 'after_hours', 'delivery', 'file_name_template'].map(
  (column) => `clients.${column}`,
);
/** The project's own per-client settings, kept beside the contract's `clients` table. */
const WATCH_COLUMNS = ['client_watch.due', 'client_watch.active_since', 'client_watch.late_data'];

/** Client rows with their `client_watch` settings. */
function clientRows(knex: Knex) {
  return knex('clients')
    .select([...CLIENT_COLUMNS, ...WATCH_COLUMNS])
    .leftJoin('client_watch', 'client_watch.client_id', 'clients.id');
}

/** The client's validated settings; throws ClientNotFoundError or InvalidClientSettingError. */
export async function loadClient(knex: Knex, clientId: string): Promise<ClientConfig> {
  const row = (await clientRows(knex).where('clients.id', clientId).first()) as ClientRow | undefined;
  if (!row) throw new ClientNotFoundError(clientId);
  return parseClientConfig(row);
}

/** Every client row as stored, unvalidated (callers validate one by one so one bad row does not hide the rest). */
export async function listClientRows(knex: Knex): Promise<ClientRow[]> {
  return (await clientRows(knex).orderBy('clients.id')) as ClientRow[];
}
