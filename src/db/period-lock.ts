/**
 * One delivery attempt per period at a time: a PostgreSQL advisory lock on a connection of
 * its own. The ledger writes of the attempt go through that same connection, so a write can
 * only commit while the lock is held; if the connection drops (the database restarts, the
 * network fails), the lock is gone, the attempt is told through `signal`, and it stops before
 * anything else is published.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Knex } from 'knex';
import pg from 'pg';
import { DatabaseConnectionLostError, PeriodBusyError } from '../domain/errors.js';
import type { PeriodKey } from './ledger.js';

/** First key of every lock this project takes ("tw"), so they never meet another application's. */
const LOCK_NAMESPACE = 0x7477;
export const LOCK_POLL_INTERVAL_MS = 250;
/**
 * The lock is a lease: PostgreSQL ends a lock session that has been silent this long
 * (`idle_session_timeout`), releasing the lock, so a frozen or partitioned holder (a stopped
 * process, a VM paused mid-upload) cannot keep its period forever. A live holder speaks every
 * LOCK_KEEPALIVE_INTERVAL_MS.
 */
export const LOCK_LEASE_MS = 60_000;
export const LOCK_KEEPALIVE_INTERVAL_MS = 10_000;

export interface PeriodLock {
  /** Runs `work` in a transaction on the lock's connection: it commits only while the lock is held. */
  transaction<T>(work: (trx: Knex.Transaction) => Promise<T>): Promise<T>;
  /** Aborts when the lock's connection is lost, or when the caller's signal aborts. */
  readonly signal: AbortSignal;
}

export interface PeriodLockOptions {
  /** How long to wait for another attempt to let go before giving up (retryable). */
  readonly waitTimeoutMs: number;
  /** Silence after which the database ends the lock session (default LOCK_LEASE_MS); tests shorten it. */
  readonly leaseMs?: number;
  readonly signal?: AbortSignal | undefined;
  /** Called while waiting, every LOCK_POLL_INTERVAL_MS: the activity heartbeats. */
  readonly onWait?: () => void;
}

function lockName(key: PeriodKey): string {
  return `${key.clientId}/${key.frequency}/${key.periodStart}`;
}

const LOCK_APPLICATION_NAME = 'twoway-report period lock';
/** How long a pooled lock connection stays open unused (shorter than any lease, though the lease is reset on return). */
const LOCK_IDLE_CONNECTION_MS = 10_000;

/**
 * Where the lock's connection comes from: a connection string (a connection of its own, ended
 * afterwards) or a pool (createLockConnectionPool). A pooled connection goes back only after a
 * clean end, with the lock released and the lease reset; after any failure it is discarded,
 * and with it whatever the session held.
 */
export type LockDatabase = string | pg.Pool;

/** The lock connections of a worker process: one login per connection, not per delivery. */
export function createLockConnectionPool(databaseUrl: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: databaseUrl, application_name: LOCK_APPLICATION_NAME, max, idleTimeoutMillis: LOCK_IDLE_CONNECTION_MS });
  // An idle connection's error (the database restarted) comes here; it is removed from the pool.
  pool.on('error', () => undefined);
  return pool;
}

interface LockConnection {
  readonly client: pg.ClientBase;
  /** Ends the use of the connection: given back only when `reusable`, else closed. */
  finish(reusable: boolean): Promise<void>;
}

async function openLockConnection(database: LockDatabase, onError: (error: Error) => void): Promise<LockConnection> {
  if (typeof database !== 'string') {
    const client = await database.connect();
    client.on('error', onError);
    return {
      client,
      finish: async (reusable) => {
        client.off('error', onError);
        client.release(reusable ? false : new Error('the period lock was not released cleanly'));
      },
    };
  }
  const client = new pg.Client({ connectionString: database, application_name: LOCK_APPLICATION_NAME });
  // Without a listener a dropped connection would crash the worker; here it ends the attempt.
  client.on('error', onError);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  return { client, finish: () => client.end().catch(() => undefined) };
}

/** Holds the period's lock while `work` runs; it is released afterwards (or with its connection, when that is closed). */
export async function withPeriodLock<T>(
  knex: Knex,
  database: LockDatabase,
  key: PeriodKey,
  options: PeriodLockOptions,
  work: (lock: PeriodLock) => Promise<T>,
): Promise<T> {
  const lost = new AbortController();
  const loseLock = (error: Error) => lost.abort(new DatabaseConnectionLostError(`the delivery lock of ${lockName(key)}`, error.message));
  const { client, finish } = await openLockConnection(database, loseLock);
  const signal = options.signal ? AbortSignal.any([lost.signal, options.signal]) : lost.signal;
  const leaseMs = options.leaseMs ?? LOCK_LEASE_MS;
  let keepalive: NodeJS.Timeout | undefined;
  let locked = false;
  let clean = false;
  try {
    // PostgreSQL 14 and later; on older servers the lock lasts as long as its connection.
    await client.query(`SET idle_session_timeout = ${Math.round(leaseMs)}`).catch(() => undefined);
    keepalive = setInterval(
      () => {
        client.query('SELECT 1').catch(loseLock);
      },
      Math.min(LOCK_KEEPALIVE_INTERVAL_MS, leaseMs / 3),
    );
    const started = Date.now();
    for (;;) {
      signal.throwIfAborted();
      const result = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked', [LOCK_NAMESPACE, lockName(key)]);
      if (result.rows[0]?.locked) break;
      const waited = Date.now() - started;
      if (waited >= options.waitTimeoutMs) throw new PeriodBusyError(key.clientId, key.frequency, key.periodStart, waited);
      options.onWait?.();
      await sleep(LOCK_POLL_INTERVAL_MS, undefined, { signal });
    }
    locked = true;
    const result = await work({ signal, transaction: (inner) => knex.transaction(inner, { connection: client }) });
    clean = !lost.signal.aborted;
    return result;
  } finally {
    clearInterval(keepalive);
    // Only a pooled connection is reused; it must hold nothing when it goes back.
    const reusable = clean && typeof database !== 'string' && locked && (await releaseSession(client, key));
    await finish(reusable);
  }
}

/** Releases the lock and resets the lease on a connection that is to be reused; false when either fails. */
async function releaseSession(client: pg.ClientBase, key: PeriodKey): Promise<boolean> {
  try {
    const result = await client.query<{ unlocked: boolean }>('SELECT pg_advisory_unlock($1, hashtext($2)) AS unlocked', [LOCK_NAMESPACE, lockName(key)]);
    await client.query('RESET idle_session_timeout');
    return result.rows[0]?.unlocked === true;
  } catch {
    return false;
  }
}
