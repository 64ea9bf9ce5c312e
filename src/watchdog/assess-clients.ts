/**
 * The watchdog's view of every watched client: for each period that should exist by now (from
 * the client's frequency, time zone and active_since), its state from the ledger, corrected by
 * Temporal where the ledger cannot know (a run started but not yet recorded, a workflow
 * terminated before it recorded its end). Shared by the watchdog activity and `problems`.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { parseClientConfig, type ClientRow } from '../domain/client-config.js';
import type { DueTime } from '../domain/deadlines.js';
import { describeError } from '../domain/errors.js';
import { assessPeriod, type DeliveredFact, type PeriodAssessment, type RecordedState, type RunFact, type WatchRules } from '../domain/period-states.js';
import { periodsBetween } from '../domain/periods.js';
import type { LocalTimeOfDay } from '../domain/schedule-plan.js';
import { MS_PER_MINUTE, localDateOf } from '../domain/time-zone.js';
import type { ClientConfig, Frequency, Instant, Period } from '../domain/types.js';
import { periodWorkflowId } from '../domain/workflow-ids.js';
import { listClientRows } from '../db/clients.js';
import { ensureClientWatch, loadLedgerFacts } from '../db/period-watch.js';

/** Most periods watched per client: the newest ones (over a year of a daily client). */
export const MAX_WATCHED_PERIODS = 400;
/** Most workflows described in Temporal per pass; the rest wait for the next pass. */
const MAX_TEMPORAL_CHECKS_PER_PASS = 100;
/** A run the ledger shows running for this long is checked in Temporal (it may have been terminated). */
const STALE_RUN_AFTER_MS = 15 * MS_PER_MINUTE;

export interface WatchContext {
  readonly knex: Knex;
  /** Null: the ledger only (no corrections from Temporal). */
  readonly temporal: Client | null;
  readonly scheduleTime: LocalTimeOfDay;
  readonly defaultDue: Readonly<Record<Frequency, DueTime>>;
}

export interface WatchedPeriod {
  readonly period: Period;
  readonly assessment: PeriodAssessment;
  readonly delivered: DeliveredFact | null;
  readonly run: (RunFact & { readonly errorType: string | null }) | null;
  readonly recorded: RecordedState | null;
}

export type ClientView =
  | {
      readonly clientId: string;
      readonly watched: true;
      readonly frequency: Frequency;
      readonly timeZone: string;
      readonly watchStartedAt: Instant;
      readonly periods: readonly WatchedPeriod[];
    }
  | {
      readonly clientId: string;
      readonly watched: false;
      readonly reason: string;
      /** True when an operator should look (settings that do not validate, a read that failed); false for a disabled or sandbox client. */
      readonly needsAttention: boolean;
    };

/** What Temporal says of a period's workflow when the ledger has no run, or a run that may be dead. */
async function runFromTemporal(temporal: Client, workflowId: string): Promise<(RunFact & { errorType: string | null }) | null> {
  try {
    const description = await temporal.workflow.getHandle(workflowId).describe();
    const status = description.status.name;
    const startedAt = description.startTime.getTime();
    if (status === 'RUNNING') return { status: 'running', workflowId, startedAt, finishedAt: null, error: null, errorType: null };
    const finishedAt = description.closeTime?.getTime() ?? startedAt;
    // Completed runs record themselves; one without a ledger row is judged by the ledger's files.
    if (status === 'COMPLETED' || status === 'CONTINUED_AS_NEW') return null;
    return {
      status: 'failed',
      workflowId,
      startedAt,
      finishedAt,
      error: `the workflow ended ${status.toLowerCase().replace(/_/g, ' ')} before it recorded its outcome`,
      errorType: `Workflow${status}`,
    };
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return null;
    throw error;
  }
}

/**
 * The client's validated settings, or the reason it is not watched. A client whose row no
 * longer validates is still watched when its zone and frequency do: its periods then go
 * failed or missing, which is exactly what an operator must hear.
 */
function watchableConfig(row: ClientRow): ClientConfig | { reason: string; needsAttention: boolean } {
  if (row.enabled !== true) return { reason: 'disabled', needsAttention: false };
  if (row.environment !== 'production') return { reason: 'not a production client', needsAttention: false };
  try {
    return parseClientConfig(row);
  } catch (error) {
    try {
      return parseClientConfig({ ...row, after_hours: null, delivery: null, file_name_template: null, name: row.id, due: null });
    } catch {
      return { reason: `its settings do not validate: ${describeError(error)}`, needsAttention: true };
    }
  }
}

/** Periods that ended by `now`, from the one containing active_since, newest MAX_WATCHED_PERIODS. */
function endedPeriods(config: ClientConfig, activeSince: string, now: Instant): Period[] {
  const today = localDateOf(config.timeZone, now);
  if (activeSince > today) return [];
  const periods = periodsBetween(config.frequency, activeSince, today, config.timeZone).filter((period) => period.endInstant <= now);
  return periods.slice(-MAX_WATCHED_PERIODS);
}

interface Budget {
  temporalChecks: number;
}

async function viewClient(context: WatchContext, row: ClientRow, now: Instant, budget: Budget, createWatch: boolean): Promise<ClientView> {
  const config = watchableConfig(row);
  if ('reason' in config) return { clientId: row.id, watched: false, ...config };
  const today = localDateOf(config.timeZone, now);
  const watch = createWatch
    ? await ensureClientWatch(context.knex, config.id, config.activeSince ?? today)
    : { activeSince: config.activeSince ?? today, createdAt: now };
  const periods = endedPeriods(config, watch.activeSince, now);
  const base = { clientId: config.id, watched: true as const, frequency: config.frequency, timeZone: config.timeZone, watchStartedAt: watch.createdAt };
  const [first] = periods;
  if (!first) return { ...base, periods: [] };
  const facts = await loadLedgerFacts(context.knex, config.id, config.frequency, first.start);
  const rules: WatchRules = { due: config.due ?? context.defaultDue[config.frequency], scheduleTime: context.scheduleTime };
  const watched: WatchedPeriod[] = [];
  for (const period of periods) {
    const delivered = facts.delivered.get(period.start) ?? null;
    let run = facts.runs.get(period.start) ?? null;
    let assessment = assessPeriod({ period, delivered, lastRun: run }, rules, now);
    const stale = run?.status === 'running' && now - run.startedAt >= STALE_RUN_AFTER_MS;
    if (context.temporal && !delivered && (assessment.state === 'missing' || stale) && budget.temporalChecks > 0) {
      budget.temporalChecks -= 1;
      const fromTemporal = await runFromTemporal(context.temporal, run?.workflowId ?? periodWorkflowId(config.id, config.frequency, period.start));
      if (fromTemporal) {
        run = fromTemporal;
        assessment = assessPeriod({ period, delivered, lastRun: run }, rules, now);
      }
    }
    watched.push({ period, assessment, delivered, run, recorded: facts.recorded.get(period.start) ?? null });
  }
  return { ...base, periods: watched };
}

export interface AssessOptions {
  /** Only this client (the others are not read). */
  readonly clientId?: string;
  /** Give clients seen for the first time a client_watch row (the watchdog does; `problems` only reads). */
  readonly createWatch: boolean;
}

/** Every client's view at `now`; one client's failure is reported on its view and never stops the others. */
export async function assessClients(context: WatchContext, now: Instant, options: AssessOptions): Promise<ClientView[]> {
  const rows = (await listClientRows(context.knex)).filter((row) => options.clientId === undefined || row.id === options.clientId);
  const budget: Budget = { temporalChecks: MAX_TEMPORAL_CHECKS_PER_PASS };
  const views: ClientView[] = [];
  for (const row of rows) {
    try {
      views.push(await viewClient(context, row, now, budget, options.createWatch));
    } catch (error) {
      views.push({ clientId: row.id, watched: false, reason: `watching it failed: ${describeError(error)}`, needsAttention: true });
    }
  }
  return views;
}
