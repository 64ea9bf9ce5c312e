import type { Knex } from 'knex';
import { parseClientConfig, type ClientRow } from '../../domain/client-config.js';
import { ClientNotFoundError, UsageError } from '../../domain/errors.js';
import type { ClientConfig, SecretReference } from '../../domain/types.js';
import { listClientRows } from '../../db/clients.js';
import { parseOptions, requireOption } from '../args.js';
import { print, withDatabase, type CliContext } from '../context.js';
import { applyEdits, EDITABLE_COLUMNS, parseSetEdit, parseUnsetEdit } from '../setting-edits.js';

/** Columns whose change moves the client's schedule (delivery only when it appears or goes). */
const SCHEDULE_COLUMNS = new Set(['environment', 'timezone', 'frequency', 'enabled']);

function reference(ref: SecretReference): string {
  return 'env' in ref ? `env ${ref.env}` : `file ${ref.file}`;
}

function describeClient(client: ClientConfig): string {
  const delivery = client.delivery;
  const auth = delivery ? (delivery.auth.method === 'password' ? `password from ${reference(delivery.auth.password)}` : `key from ${reference(delivery.auth.privateKey)}`) : '';
  const where = delivery ? `sftp://${delivery.username}@${delivery.host}:${delivery.port}${delivery.remoteDir} (${auth}${delivery.gzip ? ', gzip' : ''}${delivery.checksumFile ? ', .sha256' : ''})` : 'no delivery';
  const flags = [client.environment, client.enabled ? 'enabled' : 'disabled', client.afterHours ? 'after-hours set' : 'no after-hours'].join(', ');
  return `${client.id}  ${client.frequency} ${client.timeZone}  ${flags}  ${where}`;
}

async function listCommand(knex: Knex, context: CliContext): Promise<void> {
  const rows = await listClientRows(knex);
  if (rows.length === 0) print(context, 'no clients');
  for (const row of rows) {
    try {
      print(context, describeClient(parseClientConfig(row)));
    } catch (error) {
      print(context, `${row.id}  INVALID: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

/** Applies --set/--unset to one client, saving only when the whole row validates. */
async function setCommand(knex: Knex, context: CliContext, clientId: string, sets: readonly string[], unsets: readonly string[]): Promise<void> {
  const edits = [...unsets.map(parseUnsetEdit), ...sets.map(parseSetEdit)];
  if (edits.length === 0) throw new UsageError('clients set: give at least one --set path=value or --unset path');
  const row = (await knex('clients').where({ id: clientId }).first()) as ClientRow | undefined;
  if (!row) throw new ClientNotFoundError(clientId);
  const edited = applyEdits(row as unknown as Record<string, unknown>, edits);
  const config = parseClientConfig(edited as unknown as ClientRow);
  const changes = Object.fromEntries(
    EDITABLE_COLUMNS.filter((column) => JSON.stringify(edited[column]) !== JSON.stringify((row as unknown as Record<string, unknown>)[column])).map((column) => {
      const value = edited[column];
      return [column, column === 'after_hours' || column === 'delivery' ? (value === null ? null : JSON.stringify(value)) : value];
    }),
  );
  if (Object.keys(changes).length === 0) {
    print(context, `${clientId}: nothing changed`);
    return;
  }
  await knex('clients').where({ id: clientId }).update(changes);
  print(context, `saved ${Object.keys(changes).join(', ')}: ${describeClient(config)}`);
  const deliveryAppearedOrWent = (edited.delivery === null) !== ((row as unknown as Record<string, unknown>).delivery === null);
  if (deliveryAppearedOrWent || Object.keys(changes).some((column) => SCHEDULE_COLUMNS.has(column))) {
    print(context, 'run `twoway-report schedules sync` to bring the schedule in line');
  }
}

/** `clients list` and `clients set --client ID --set path=value … --unset path …`. */
export async function clientsCommand(args: readonly string[], context: CliContext): Promise<void> {
  const [action, ...rest] = args;
  if (action === 'list') {
    parseOptions('clients list', rest, {});
    await withDatabase(context, ({ knex }) => listCommand(knex, context));
    return;
  }
  if (action !== 'set') throw new UsageError(`clients ${action ?? ''}: allowed: clients list, clients set --client ID --set path=value [--unset path]`);
  const options = parseOptions('clients set', rest, { client: { type: 'string' }, set: { type: 'string', multiple: true }, unset: { type: 'string', multiple: true } });
  const clientId = requireOption('clients set', 'client', options.client);
  await withDatabase(context, ({ knex }) => setCommand(knex, context, clientId, options.set ?? [], options.unset ?? []));
}
