import type { Knex } from 'knex';
import { parseSecretRules } from '../../config/env.js';
import { assertClientUsable, parseClientConfig, type ClientRow } from '../../domain/client-config.js';
import { assertClientSecretsAllowed, type SecretRules } from '../../domain/secret-references.js';
import { ClientAlreadyExistsError, ClientNotFoundError, UsageError } from '../../domain/errors.js';
import type { ClientConfig, SecretReference } from '../../domain/types.js';
import { listClientRows } from '../../db/clients.js';
import { parseOptions, requireOption } from '../args.js';
import { print, withDatabase, type CliContext } from '../context.js';
import { applyEdits, CLIENT_COLUMNS, EDITABLE_COLUMNS, WATCH_COLUMNS, parseSetEdit, parseUnsetEdit, type Edit } from '../setting-edits.js';
import { formatDueTime } from '../../domain/deadlines.js';
import { localDateOf } from '../../domain/time-zone.js';

/** Columns whose change moves the client's schedule (delivery only when it appears or goes). */
const SCHEDULE_COLUMNS = new Set(['environment', 'timezone', 'frequency', 'enabled']);
/** PostgreSQL's SQLSTATE for a duplicate primary key. */
const UNIQUE_VIOLATION = '23505';

function reference(ref: SecretReference): string {
  return 'env' in ref ? `env ${ref.env}` : `file ${ref.file}`;
}

function clientSummary(client: ClientConfig): string {
  const delivery = client.delivery;
  const auth = delivery
    ? delivery.auth.method === 'password'
      ? `password from ${reference(delivery.auth.password)}`
      : `key from ${reference(delivery.auth.privateKey)}`
    : '';
  const where = delivery
    ? `sftp://${delivery.username}@${delivery.host}:${delivery.port}${delivery.remoteDir} (${auth}${delivery.gzip ? ', gzip' : ''}${delivery.pgp ? `, pgp to ${delivery.pgp.recipients.length} key(s)${delivery.pgp.signingKey ? ', signed' : ''}` : ''}${delivery.checksumFile ? ', .sha256' : ''}${delivery.manifest ? ', manifest' : ''}${delivery.maxRowsPerFile ? `, parts of ${delivery.maxRowsPerFile} rows` : ''})`
    : 'no delivery';
  const flags = [
    client.environment,
    client.enabled ? 'enabled' : 'disabled',
    client.afterHours ? 'after-hours set' : 'no after-hours',
    `due ${client.due ? formatDueTime(client.due) : 'default'}`,
    ...(client.activeSince ? [`active since ${client.activeSince}`] : []),
  ].join(', ');
  return `${client.id}  ${client.frequency} ${client.timeZone}  ${flags}  ${where}`;
}

async function listCommand(knex: Knex, context: CliContext): Promise<void> {
  const rows = await listClientRows(knex);
  if (rows.length === 0) print(context, 'no clients');
  for (const row of rows) {
    try {
      print(context, clientSummary(parseClientConfig(row)));
    } catch (error) {
      print(context, `${row.id}  INVALID: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

type Row = Record<string, unknown>;

/** Columns as knex writes them: JSON columns as JSON text. */
function columnValue(column: string, value: unknown): unknown {
  return column === 'after_hours' || column === 'delivery' ? (value === null || value === undefined ? null : JSON.stringify(value)) : value;
}

/**
 * The whole row validated as schedules sync and the worker will read it, its secret references
 * by the rules of this environment (the workers', when the CLI shares their settings); throws
 * InvalidClientSettingError or SecretReferenceRefusedError.
 */
function validateRow(row: Row, secretRules: SecretRules): ClientConfig {
  const config = parseClientConfig(row as unknown as ClientRow);
  assertClientUsable(config);
  assertClientSecretsAllowed(config, secretRules);
  return config;
}

/** The client's row with its client_watch settings as if they were columns. */
async function findRow(knex: Knex, clientId: string): Promise<Row> {
  const row = (await knex('clients').where({ id: clientId }).first()) as Row | undefined;
  if (!row) throw new ClientNotFoundError(clientId);
  const watch = (await knex('client_watch').select(WATCH_COLUMNS).where({ client_id: clientId }).first()) as Row | undefined;
  return { ...row, due: watch?.due ?? null, active_since: watch?.active_since ?? null };
}

/** Writes the changed columns, each to its table, in one transaction. */
async function saveColumns(knex: Knex, clientId: string, row: Row, columns: readonly string[]): Promise<void> {
  const clientColumns = columns.filter((column) => (CLIENT_COLUMNS as readonly string[]).includes(column));
  const watchColumns = columns.filter((column) => (WATCH_COLUMNS as readonly string[]).includes(column));
  await knex.transaction(async (trx) => {
    if (clientColumns.length > 0)
      await trx('clients')
        .where({ id: clientId })
        .update(Object.fromEntries(clientColumns.map((column) => [column, columnValue(column, row[column])])));
    if (watchColumns.length === 0) return;
    // active_since cannot be emptied: a watched client always has a first date (today's, UTC, when none is given).
    const values = Object.fromEntries(
      watchColumns.map((column) => [column, row[column] ?? null]).filter(([column, value]) => column !== 'active_since' || value !== null),
    );
    const insert = trx('client_watch')
      .insert({ client_id: clientId, active_since: trx.raw('CURRENT_DATE'), ...values })
      .onConflict('client_id');
    await (Object.keys(values).length > 0 ? insert.merge(Object.keys(values)) : insert.ignore());
  });
}

function parseEdits(command: string, sets: readonly string[], unsets: readonly string[]): Edit[] {
  const edits = [...unsets.map(parseUnsetEdit), ...sets.map(parseSetEdit)];
  if (command === 'clients set' && edits.length === 0) throw new UsageError('clients set: give at least one --set path=value or --unset path');
  return edits;
}

function suggestSync(context: CliContext): void {
  print(context, 'run `twoway-report schedules sync` to bring the schedule in line');
}

/** Saves the edited row when it validates and differs; says what changed. */
async function saveEdited(knex: Knex, context: CliContext, clientId: string, row: Row, edited: Row, verb: string): Promise<void> {
  const config = validateRow(edited, parseSecretRules(context.env));
  const changed = EDITABLE_COLUMNS.filter((column) => JSON.stringify(edited[column]) !== JSON.stringify(row[column]));
  if (changed.length === 0) {
    print(context, `${clientId}: nothing changed`);
    return;
  }
  await saveColumns(knex, clientId, edited, changed);
  print(context, `${verb} ${changed.join(', ')}: ${clientSummary(config)}`);
  const deliveryAppearedOrWent = (edited.delivery === null) !== (row.delivery === null);
  if (deliveryAppearedOrWent || changed.some((column) => SCHEDULE_COLUMNS.has(column))) suggestSync(context);
}

/** Applies --set/--unset to one client, saving only when the whole row validates. */
async function setCommand(knex: Knex, context: CliContext, clientId: string, edits: readonly Edit[]): Promise<void> {
  const row = await findRow(knex, clientId);
  await saveEdited(knex, context, clientId, row, applyEdits(row, edits), 'saved');
}

/** A new row: the table's defaults, the name, then the edits; inserted only when it validates. */
async function addCommand(knex: Knex, context: CliContext, clientId: string, name: string, edits: readonly Edit[]): Promise<void> {
  const defaults: Row = {
    id: clientId,
    name,
    environment: 'production',
    timezone: 'UTC',
    frequency: 'daily',
    enabled: true,
    after_hours: null,
    delivery: null,
    file_name_template: null,
    due: null,
    active_since: null,
  };
  const edited = applyEdits(defaults, edits);
  // A new client is watched from the day it is added (in its zone) unless told otherwise.
  const secretRules = parseSecretRules(context.env);
  const row: Row = { ...edited, active_since: edited.active_since ?? localDateOf(validateRow(edited, secretRules).timeZone, Date.now()) };
  const config = validateRow(row, secretRules);
  if (await knex('clients').where({ id: clientId }).first()) throw new ClientAlreadyExistsError(clientId);
  try {
    await knex('clients').insert({ id: clientId, ...Object.fromEntries(CLIENT_COLUMNS.map((column) => [column, columnValue(column, row[column])])) });
    await saveColumns(knex, clientId, row, WATCH_COLUMNS);
  } catch (error) {
    // Added by someone else between the check and the insert.
    if ((error as { code?: unknown }).code === UNIQUE_VIOLATION) throw new ClientAlreadyExistsError(clientId);
    throw error;
  }
  print(context, `added ${clientSummary(config)}`);
  suggestSync(context);
}

/** Disabling always works, even for a row that no longer validates: it is how a broken client is stopped. */
async function disableCommand(knex: Knex, context: CliContext, clientId: string): Promise<void> {
  const row = await findRow(knex, clientId);
  if (row.enabled === false) {
    print(context, `${clientId}: already disabled`);
    return;
  }
  await knex('clients').where({ id: clientId }).update({ enabled: false });
  print(context, `disabled ${clientId}`);
  suggestSync(context);
}

const USAGE =
  'allowed: clients list, clients add --client ID --name NAME [--set path=value …], clients set --client ID --set path=value [--unset path], clients enable --client ID, clients disable --client ID';

/** `clients list|add|set|enable|disable`. */
export async function clientsCommand(args: readonly string[], context: CliContext): Promise<void> {
  const [action, ...rest] = args;
  switch (action) {
    case 'list':
      parseOptions('clients list', rest, {});
      await withDatabase(context, ({ knex }) => listCommand(knex, context));
      return;
    case 'set':
    case 'add': {
      const command = `clients ${action}`;
      const options = parseOptions(command, rest, {
        client: { type: 'string' },
        ...(action === 'add' ? { name: { type: 'string' } } : {}),
        set: { type: 'string', multiple: true },
        unset: { type: 'string', multiple: true },
      });
      const clientId = requireOption(command, 'client', options.client);
      const edits = parseEdits(command, options.set ?? [], options.unset ?? []);
      if (action === 'set') {
        await withDatabase(context, ({ knex }) => setCommand(knex, context, clientId, edits));
        return;
      }
      const name = requireOption(command, 'name', (options as { name?: string }).name);
      await withDatabase(context, ({ knex }) => addCommand(knex, context, clientId, name, edits));
      return;
    }
    case 'enable':
    case 'disable': {
      const options = parseOptions(`clients ${action}`, rest, { client: { type: 'string' } });
      const clientId = requireOption(`clients ${action}`, 'client', options.client);
      await withDatabase(context, async ({ knex }) => {
        if (action === 'disable') return disableCommand(knex, context, clientId);
        // Enabling is an edit like any other: the row must validate as an enabled client before it is saved.
        const row = await findRow(knex, clientId);
        return saveEdited(knex, context, clientId, row, { ...row, enabled: true }, 'saved');
      });
      return;
    }
    default:
      throw new UsageError(`clients ${action ?? ''}: ${USAGE}`);
  }
}
