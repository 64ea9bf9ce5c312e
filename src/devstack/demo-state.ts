/**
 * What a demo start keeps from the last one: the demo clients' rows (settings an operator
 * changed included), their events and ledger in PostgreSQL, the delivered files and Temporal's
 * database in the demo home. Only what a new sshd changes (its port, user, host key) is
 * written into the clients' delivery settings again.
 *
 * A start is "kept" when the demo home holds the state file, written once a start has seeded
 * the events, *and* the database still has the demo clients. A state file without them (the
 * database was reset, or DATABASE_URL points elsewhere now) starts fresh, so the ledger,
 * Temporal's history and the delivered files never come from different starts.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative, isAbsolute } from 'node:path';
import type { Knex } from 'knex';
import { clearClientData } from '../db/seed.js';
import type { SftpServer } from './sftp-server.js';

const STATE_FILE = 'demo-state.json';

/** The environment variables the demo's worker resolves its clients' references from, under the default TWOWAY_SECRET_ENV_PREFIX. */
export const DEMO_SECRET_VARIABLES = {
  password: 'TWOWAY_SECRET_DEMO_SFTP_PASSWORD',
  /** The broken client's: a password the server refuses. */
  wrongPassword: 'TWOWAY_SECRET_HOOLI_SFTP_PASSWORD',
  /** The user key's text: a file reference would have to lie in the TWOWAY_SECRETS_DIR of every `clients set` beside the demo. */
  privateKey: 'TWOWAY_SECRET_DEMO_SFTP_KEY',
} as const;

/** Names the demo used before references were confined to TWOWAY_SECRET_ENV_PREFIX; a kept row's references are renamed. */
const EARLIER_VARIABLES: Readonly<Record<string, string>> = {
  DEMO_SFTP_PASSWORD: DEMO_SECRET_VARIABLES.password,
  HOOLI_SFTP_PASSWORD: DEMO_SECRET_VARIABLES.wrongPassword,
};

/** What the state file records: when the events were seeded, and how many. */
export interface DemoState {
  readonly seededAt: string;
  readonly events: number;
  readonly days: number;
}

/** The last start's state when this start keeps it, else null (a fresh start). */
export async function keptState(home: string, knex: Knex, clientIds: readonly string[]): Promise<DemoState | null> {
  let state: Partial<DemoState> | null;
  try {
    state = JSON.parse(await readFile(join(home, STATE_FILE), 'utf8')) as Partial<DemoState> | null;
  } catch {
    return null;
  }
  if (typeof state?.seededAt !== 'string' || typeof state.events !== 'number' || typeof state.days !== 'number') return null;
  const found = await knex('clients').whereIn('id', clientIds).count<{ count: string }[]>({ count: '*' });
  return Number(found[0]?.count ?? 0) > 0 ? { seededAt: state.seededAt, events: state.events, days: state.days } : null;
}

/** Written after seeding: from then on, a start keeps what this one made. */
export async function saveState(home: string, state: DemoState): Promise<void> {
  await writeFile(join(home, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
}

/**
 * Everything of the demo: its home (files, Temporal's database, the state file; null for
 * --once, whose new scratch folder also holds its running PostgreSQL) and the demo clients'
 * rows, ledger and watchdog rows included. Other clients' rows are left alone.
 */
export async function wipeDemo(home: string | null, knex: Knex, clientIds: readonly string[]): Promise<void> {
  if (home) await rm(home, { recursive: true, force: true });
  await clearClientData(knex, clientIds);
  await knex.transaction(async (trx) => {
    for (const table of ['report_files', 'report_runs', 'period_states', 'client_watch']) await trx(table).whereIn('client_id', clientIds).delete();
    await trx('notification_outbox')
      .whereRaw("event->>'clientId' = ANY(?)", [[...clientIds]])
      .delete();
    await trx('clients').whereIn('id', clientIds).delete();
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isInside(path: string, dir: string): boolean {
  const below = relative(dir, path);
  return below !== '' && !below.startsWith('..') && !isAbsolute(below);
}

/** A kept row's password reference under the demo's current name, when it had an earlier one. */
function renamedPassword(password: unknown): Record<string, unknown> {
  const renamed = isRecord(password) && typeof password.env === 'string' ? EARLIER_VARIABLES[password.env] : undefined;
  return renamed ? { password: { env: renamed } } : {};
}

/**
 * Points the kept demo clients' deliveries at this start's sshd: its port, user and host key;
 * a private key file of an earlier sshd (in `sshdDir`) becomes the demo's key reference, and
 * password references of earlier demo versions get their current names. Everything else stays
 * as an operator left it (hooli's fixed password reference, say); so does a delivery removed or
 * pointed at a host other than the demo's.
 */
export async function pointDeliveriesAt(knex: Knex, clientIds: readonly string[], sftp: SftpServer, sshdDir: string): Promise<void> {
  const rows = (await knex('clients').whereIn('id', clientIds).select('id', 'delivery')) as { id: string; delivery: unknown }[];
  for (const row of rows) {
    const delivery = row.delivery;
    if (!isRecord(delivery) || delivery.host !== sftp.host) continue;
    const privateKey = delivery.privateKey;
    const earlierKey = isRecord(privateKey) && typeof privateKey.file === 'string' && isInside(privateKey.file, sshdDir);
    const refreshed = {
      ...delivery,
      port: sftp.port,
      username: sftp.username,
      hostKeySha256: sftp.hostKeySha256,
      ...(earlierKey ? { privateKey: { env: DEMO_SECRET_VARIABLES.privateKey } } : {}),
      ...renamedPassword(delivery.password),
    };
    await knex('clients')
      .where({ id: row.id })
      .update({ delivery: JSON.stringify(refreshed) });
  }
}
