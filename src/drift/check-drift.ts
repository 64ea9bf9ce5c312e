/**
 * The drift check of one client: for every delivered period inside its lookback (or since a
 * date), whether its newest delivered revision would differ if built today, at the least cost
 * that can tell (domain/late-data.ts planCheck):
 *
 * 1. `report` and already recorded for this revision: nothing is read.
 * 2. Today's source fingerprint (aggregates in SQL over the extraction's own rows; one statement
 *    for all of the client's periods) equal to the delivered file's: unchanged, nothing built.
 *    This is the common case.
 * 3. Equal to another file built earlier: that file's bytes are what a build gives today.
 * 4. Otherwise the period is rebuilt with the render's own code, its fingerprint read in the
 *    same snapshot, and only a different sha256 is drift.
 *
 * A drift is recorded once per revision (period_drift); `report` queues `period.drifted` with
 * it, `restate` hands the period back for a forced run with the reason `restated-for-drift`.
 * Shared by the drift workflow's activity and the `drift` command.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { assertReportable, parseClientConfig } from '../domain/client-config.js';
import { reportFileName } from '../domain/file-name.js';
import { DEFAULT_LOOKBACK, isInLookback, lookbackFloor, planCheck, type LateDataPolicy, type Lookback } from '../domain/late-data.js';
import { periodContaining } from '../domain/periods.js';
import { localDateOf } from '../domain/time-zone.js';
import type { ClientConfig, Frequency, Instant, LocalDate } from '../domain/types.js';
import { listClientRows, loadClient } from '../db/clients.js';
import { deliveredPeriodsFrom, driftKey, lateDataFacts, pruneLateData, recordBuildFingerprint, recordDrift, type DeliveredPeriod } from '../db/late-data.js';
import { readPeriodFingerprints } from '../db/period-events.js';
import type { NotificationInput } from '../notifications/events.js';
import { notificationEventId } from '../notifications/webhook.js';
import type { Logger } from '../observability/logger.js';
import { buildPlannedFile } from '../report/period-file.js';

export interface DriftCheckDeps {
  readonly knex: Knex;
  readonly databaseUrl: string;
  /** Where a rebuilt file is written to be hashed; it is removed at once. */
  readonly workDir: string;
  readonly logger: Logger;
  /** The check's clock: which periods are inside their lookback. */
  readonly now?: () => Instant;
  /** Called as the check goes (each period, and during a rebuild), for heartbeats. */
  readonly onProgress?: (detail: { readonly periodStart: LocalDate; readonly rowsWritten?: number }) => void;
  readonly signal?: AbortSignal;
}

export type PeriodCheckResult =
  /** The source fingerprint equals the delivered file's: nothing built. */
  | 'fingerprint-unchanged'
  /** Rebuilt (no known fingerprint matched), and the bytes are the delivered ones. */
  | 'rebuilt-unchanged'
  | 'drifted'
  /** `report`: this revision's drift was recorded by an earlier check; nothing read. */
  | 'already-recorded';

export interface PeriodDrift {
  readonly deliveredSha256: string;
  readonly rebuiltSha256: string;
  readonly deliveredRowCount: number;
  readonly rebuiltRowCount: number;
  /** Whether this check recorded it (false: an earlier check had). */
  readonly newlyRecorded: boolean;
}

export interface PeriodCheck {
  readonly periodStart: LocalDate;
  readonly revision: number;
  readonly fileName: string;
  readonly result: PeriodCheckResult;
  /** Whether the file was built to know. */
  readonly rebuilt: boolean;
  readonly drift: PeriodDrift | null;
}

export interface ClientDriftCheck {
  readonly clientId: string;
  readonly frequency: Frequency;
  readonly policy: LateDataPolicy;
  /** Why the client was not checked (late data off, disabled); null when it was. */
  readonly skipped: string | null;
  readonly periods: readonly PeriodCheck[];
  /** Periods to deliver again as the next revision (policy `restate`, drifted). */
  readonly restate: readonly LocalDate[];
}

export interface DriftCheckOptions {
  /** Check every delivered period starting on or after this local date instead of the lookback's. */
  readonly since?: LocalDate;
}

/** Enabled production clients whose settings validate and whose late data is not off, by id. */
export async function listDriftClients(knex: Knex): Promise<string[]> {
  const ids: string[] = [];
  for (const row of await listClientRows(knex)) {
    try {
      const client = parseClientConfig(row);
      if (client.enabled && client.environment === 'production' && client.lateData.policy !== 'off') ids.push(client.id);
    } catch {
      // A client whose settings do not validate is reported by schedules sync and the watchdog; no run can restate it either.
    }
  }
  return ids;
}

function lookbackOf(client: ClientConfig): Lookback {
  return client.lateData.lookback ?? DEFAULT_LOOKBACK[client.frequency];
}

/** Builds the period's file once more to learn its sha256 and row count; the file itself is removed. */
async function rebuild(deps: DriftCheckDeps, client: ClientConfig, delivered: DeliveredPeriod) {
  const period = periodContaining(client.frequency, delivered.periodStart, client.timeZone);
  const fileName = reportFileName(client.fileNameTemplate, { clientId: client.id, frequency: client.frequency, period });
  const built = await buildPlannedFile(deps.databaseUrl, { client, period, fileName }, join(deps.workDir, 'drift', client.id, client.frequency), {
    fingerprint: true,
    ...(deps.signal ? { signal: deps.signal } : {}),
    onProgress: (rowsWritten) => deps.onProgress?.({ periodStart: delivered.periodStart, rowsWritten }),
  });
  await rm(built.path, { force: true });
  if (!built.fingerprint) throw new Error('the rebuild read no fingerprint');
  return { sha256: built.sha256, rowCount: built.rowCount, fingerprint: built.fingerprint };
}

function driftedEvent(client: ClientConfig, delivered: DeliveredPeriod, drift: Omit<PeriodDrift, 'newlyRecorded'>, at: Instant) {
  const input: NotificationInput = {
    type: 'period.drifted',
    change: `r${delivered.revision}`,
    occurredAt: new Date(at).toISOString(),
    clientId: client.id,
    frequency: client.frequency,
    periodStart: delivered.periodStart,
    data: { revision: delivered.revision, fileName: delivered.fileName, ...drift },
  };
  return { id: notificationEventId(input), input };
}

/** Checks one client's delivered periods; see the module comment. */
export async function checkClientDrift(deps: DriftCheckDeps, clientId: string, options: DriftCheckOptions = {}): Promise<ClientDriftCheck> {
  const now = (deps.now ?? Date.now)();
  const client = await loadClient(deps.knex, clientId);
  const policy = client.lateData.policy;
  const result = (skipped: string | null, periods: PeriodCheck[] = [], restate: LocalDate[] = []): ClientDriftCheck => ({
    clientId,
    frequency: client.frequency,
    policy,
    skipped,
    periods,
    restate,
  });
  if (policy === 'off') return result('late_data is off');
  try {
    assertReportable(client, 'deliver');
  } catch (error) {
    return result(error instanceof Error ? error.message : String(error));
  }
  const today = localDateOf(client.timeZone, now);
  const lookback = lookbackOf(client);
  const floor = lookbackFloor(today, lookback);
  const from = options.since ?? floor;
  const candidates = (await deliveredPeriodsFrom(deps.knex, clientId, client.frequency, from)).filter(
    (delivered) => options.since !== undefined || isInLookback(periodContaining(client.frequency, delivered.periodStart, client.timeZone), lookback, today),
  );
  const facts = await lateDataFacts(deps.knex, clientId, client.frequency, from);
  const recordedDrift = (delivered: DeliveredPeriod) => facts.drifted.get(driftKey(delivered.periodStart, delivered.revision));
  // Today's fingerprints of every period that needs one, in one statement.
  const fingerprints = await readPeriodFingerprints(
    deps.knex,
    clientId,
    candidates
      .filter((delivered) => !(policy === 'report' && recordedDrift(delivered)))
      .map((delivered) => {
        const period = periodContaining(client.frequency, delivered.periodStart, client.timeZone);
        return { label: delivered.periodStart, startInstant: period.startInstant, endInstant: period.endInstant };
      }),
  );
  const periods: PeriodCheck[] = [];
  const restate: LocalDate[] = [];
  for (const delivered of candidates) {
    deps.signal?.throwIfAborted();
    deps.onProgress?.({ periodStart: delivered.periodStart });
    const key = { clientId, frequency: client.frequency, periodStart: delivered.periodStart };
    const recorded = recordedDrift(delivered);
    const driftRecorded = recorded !== undefined;
    const check = (result: PeriodCheckResult, rebuilt: boolean, drift: PeriodDrift | null = null): PeriodCheck => ({
      periodStart: delivered.periodStart,
      revision: delivered.revision,
      fileName: delivered.fileName,
      result,
      rebuilt,
      drift,
    });
    const earlier = recorded ? { ...recorded, newlyRecorded: false } : null;
    if (policy === 'report' && earlier) {
      periods.push(check('already-recorded', false, earlier));
      continue;
    }
    const current = fingerprints.get(delivered.periodStart);
    if (!current) throw new Error(`no fingerprint was read for period ${delivered.periodStart} of client "${clientId}"`);
    const plan = planCheck({
      policy,
      dimensions: client.lateData.dimensions,
      deliveredSha256: delivered.sha256,
      driftRecorded,
      builds: facts.builds.get(delivered.periodStart) ?? [],
      current,
    });
    let built: { sha256: string; rowCount: number };
    let rebuilt = false;
    switch (plan.kind) {
      case 'already-recorded':
        periods.push(check('already-recorded', false, earlier));
        continue;
      case 'unchanged':
        periods.push(check('fingerprint-unchanged', false));
        continue;
      case 'drifted':
        built = { sha256: plan.build.sha256, rowCount: plan.build.fingerprint.rows };
        break;
      case 'rebuild': {
        const build = await rebuild(deps, client, delivered);
        await recordBuildFingerprint(deps.knex, key, build);
        rebuilt = true;
        if (build.sha256 === delivered.sha256) {
          periods.push(check('rebuilt-unchanged', true));
          continue;
        }
        built = build;
        break;
      }
    }
    const drift = { deliveredSha256: delivered.sha256, rebuiltSha256: built.sha256, deliveredRowCount: delivered.rowCount, rebuiltRowCount: built.rowCount };
    const newlyRecorded = await recordDrift(
      deps.knex,
      key,
      { revision: delivered.revision, ...drift, policy },
      policy === 'report' ? driftedEvent(client, delivered, drift, now) : null,
    );
    deps.logger.info(
      { client: clientId, frequency: client.frequency, period: delivered.periodStart, revision: delivered.revision, ...drift, rebuilt, policy },
      'delivered file drifted: it would differ if built today',
    );
    periods.push(check('drifted', rebuilt, { ...drift, newlyRecorded }));
    if (policy === 'restate') restate.push(delivered.periodStart);
  }
  await pruneLateData(deps.knex, clientId, client.frequency, floor);
  return result(null, periods, restate);
}
