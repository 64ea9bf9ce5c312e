import type { Knex } from 'knex';
import { parseClientConfig, type ClientRow } from '../domain/client-config.js';
import { ClientNotFoundError } from '../domain/errors.js';
import type { ClientConfig } from '../domain/types.js';

const CLIENT_COLUMNS = ['id', 'name', 'environment', 'timezone', 'frequency', 'enabled', 'after_hours', 'delivery', 'file_name_template'];

/** The client's validated settings; throws ClientNotFoundError or InvalidClientSettingError. */
export async function loadClient(knex: Knex, clientId: string): Promise<ClientConfig> {
  const row = (await knex('clients').select(CLIENT_COLUMNS).where({ id: clientId }).first()) as ClientRow | undefined;
  if (!row) throw new ClientNotFoundError(clientId);
  return parseClientConfig(row);
}

/** Every client row as stored, unvalidated (callers validate one by one so one bad row does not hide the rest). */
export async function listClientRows(knex: Knex): Promise<ClientRow[]> {
  return (await knex('clients').select(CLIENT_COLUMNS).orderBy('id')) as ClientRow[];
}
