/**
 * The drift check's steps (drift/check-drift.ts): which clients to check, and one client's
 * check. They return counts and period starts only; never rows.
 */
import { Context } from '@temporalio/activity';
import type { Knex } from 'knex';
import { isLocalDate } from '../domain/local-date.js';
import { UsageError, describeValue } from '../domain/errors.js';
import type { Frequency, Instant, LocalDate } from '../domain/types.js';
import { checkClientDrift, listDriftClients, type PeriodCheckResult } from '../drift/check-drift.js';
import type { Logger } from '../observability/logger.js';

export interface DriftActivityDeps {
  readonly knex: Knex;
  readonly databaseUrl: string;
  readonly workDir: string;
  readonly logger: Logger;
  /** The check's clock; tests move it. */
  readonly now?: () => Instant;
}

/** One client's check, as the workflow keeps it. */
export interface ClientDriftSummary {
  readonly clientId: string;
  readonly frequency: Frequency;
  /** Why it was not checked; null when it was. */
  readonly skipped: string | null;
  /** Periods per result. */
  readonly results: Readonly<Record<PeriodCheckResult, number>>;
  /** Files built to know (the rest were judged by their fingerprint alone). */
  readonly rebuilt: number;
  /** Periods found drifted, with the revision. */
  readonly drifted: ReadonlyArray<{ readonly periodStart: LocalDate; readonly revision: number; readonly newlyRecorded: boolean }>;
  /** Periods to deliver again (policy restate). */
  readonly restate: readonly LocalDate[];
}

const HEARTBEAT_EVERY_MS = 1_000;

export function createDriftActivities(deps: DriftActivityDeps) {
  return {
    /** Enabled production clients whose late data is not off. */
    async listDriftClients(): Promise<string[]> {
      return listDriftClients(deps.knex);
    },

    /** Checks one client's delivered periods inside their lookback (or since a date); heartbeats as it goes. */
    async checkClientDrift(input: { readonly clientId: string; readonly since?: LocalDate }): Promise<ClientDriftSummary> {
      if (input.since !== undefined && !isLocalDate(input.since)) throw new UsageError(`since is ${describeValue(input.since)}; allowed: a date YYYY-MM-DD`);
      const context = Context.current();
      let last = 0;
      const check = await checkClientDrift(
        {
          ...deps,
          signal: context.cancellationSignal,
          onProgress: (detail) => {
            const now = Date.now();
            if (now - last < HEARTBEAT_EVERY_MS) return;
            last = now;
            context.heartbeat(detail);
          },
        },
        input.clientId,
        input.since === undefined ? {} : { since: input.since },
      );
      const results: Record<PeriodCheckResult, number> = { 'fingerprint-unchanged': 0, 'rebuilt-unchanged': 0, drifted: 0, 'already-recorded': 0 };
      for (const period of check.periods) results[period.result] += 1;
      return {
        clientId: check.clientId,
        frequency: check.frequency,
        skipped: check.skipped,
        results,
        rebuilt: check.periods.filter((period) => period.rebuilt).length,
        drifted: check.periods.flatMap((period) =>
          period.drift ? [{ periodStart: period.periodStart, revision: period.revision, newlyRecorded: period.drift.newlyRecorded }] : [],
        ),
        restate: check.restate,
      };
    },
  };
}

export type DriftActivities = ReturnType<typeof createDriftActivities>;
