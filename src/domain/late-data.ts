/**
 * Late data: events that reach the event store after their period's file went out, and what a
 * client wants done about them. Pure: the fingerprints come from SQL, the dates from the caller.
 *
 * Glossary
 * - drift: a delivered revision whose file, built today, would have other bytes. Only a real
 *   byte difference is drift; a fingerprint only says whether a rebuild is needed to know.
 * - source fingerprint: the row count and two sums of 64-bit hashes over the period's included
 *   events, read in SQL with the extraction's own filter: one over the events' exported fields
 *   (`events`), one over the agent and customer fields each row joins (`joined`). Stored per
 *   distinct file built (its sha256), read in the same snapshot as that file's rows.
 * - policy (`late_data`): `off` (never checked), `report` (a drift is recorded and announced
 *   once per revision) or `restate` (the next revision is delivered through the normal run).
 * - lookback: how long after its end a delivered period is still checked.
 * - dimensions: whether a change of a joined agent or customer counts (`true`, the default: if
 *   the bytes would change, it is drift), or only new, deleted or changed events (`false`).
 */
import { InvalidClientSettingError, describeValue } from './errors.js';
import { addDays, addMonths } from './local-date.js';
import type { Frequency, LocalDate } from './types.js';

export const LATE_DATA_POLICIES = ['off', 'report', 'restate'] as const;
export type LateDataPolicy = (typeof LATE_DATA_POLICIES)[number];

export const LOOKBACK_UNITS = ['day', 'week', 'month'] as const;
export type LookbackUnit = (typeof LOOKBACK_UNITS)[number];

export interface Lookback {
  readonly count: number;
  readonly unit: LookbackUnit;
}

/** A client's validated `late_data` setting. */
export interface LateDataSettings {
  readonly policy: LateDataPolicy;
  /** Deliver a corrections file (rows added and removed) beside every revision from 2 on. */
  readonly corrections: boolean;
  /** Whether a changed agent or customer of a delivered row counts as drift. */
  readonly dimensions: boolean;
  /** Null: the frequency's default (DEFAULT_LOOKBACK). */
  readonly lookback: Lookback | null;
}

export const DEFAULT_LATE_DATA: LateDataSettings = { policy: 'report', corrections: false, dimensions: true, lookback: null };

/** How long after its end a period is checked: a week of days, five weeks of weeks, two months of months. */
export const DEFAULT_LOOKBACK: Readonly<Record<Frequency, Lookback>> = {
  daily: { count: 7, unit: 'day' },
  weekly: { count: 5, unit: 'week' },
  monthly: { count: 2, unit: 'month' },
};

/** Longest lookback of each unit: about a year, so a mistyped `700 days` is refused. */
const MAX_LOOKBACK: Readonly<Record<LookbackUnit, number>> = { day: 366, week: 53, month: 12 };
const DAYS_PER_WEEK = 7;
/** The longest period (a month) in days: a period starting this long before another ends no later than it. */
const LONGEST_PERIOD_DAYS = 31;
const LOOKBACK_PATTERN = /^([1-9]\d{0,2}) (day|week|month)s?$/;
const SETTING_KEYS = ['policy', 'corrections', 'dimensions', 'lookback'];

export const LATE_DATA_ALLOWED =
  '"off", "report" or "restate", or {"policy": one of them, "corrections"?: true|false, "dimensions"?: true|false, "lookback"?: "N days|weeks|months"}, or nothing for "report"';

/** `7 days`, `5 weeks`, `2 months` (singular too), within a year; null when it is not one. */
export function parseLookback(text: string): Lookback | null {
  const match = LOOKBACK_PATTERN.exec(text.trim());
  if (!match) return null;
  const count = Number(match[1]);
  const unit = match[2] as LookbackUnit;
  return count <= MAX_LOOKBACK[unit] ? { count, unit } : null;
}

export function formatLookback(lookback: Lookback): string {
  return `${lookback.count} ${lookback.unit}${lookback.count === 1 ? '' : 's'}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A client's `late_data` setting: null (the defaults), a policy name, or an object; anything else names the field. */
export function parseLateDataSetting(clientId: string, value: unknown): LateDataSettings {
  if (value === null || value === undefined) return DEFAULT_LATE_DATA;
  const refuse = (field: string, given: unknown, allowed: string) => new InvalidClientSettingError(clientId, field, describeValue(given), allowed);
  const policyOf = (field: string, given: unknown): LateDataPolicy => {
    if (typeof given === 'string' && (LATE_DATA_POLICIES as readonly string[]).includes(given)) return given as LateDataPolicy;
    throw refuse(field, given, LATE_DATA_POLICIES.map((policy) => `"${policy}"`).join(', '));
  };
  if (typeof value === 'string') return { ...DEFAULT_LATE_DATA, policy: policyOf('late_data', value) };
  if (!isPlainObject(value)) throw refuse('late_data', value, LATE_DATA_ALLOWED);
  const unknown = Object.keys(value).filter((key) => !SETTING_KEYS.includes(key));
  if (unknown.length > 0) throw refuse(`late_data.${unknown[0]}`, value[unknown[0] as string], `only the keys ${SETTING_KEYS.join(', ')}`);
  const flag = (key: 'corrections' | 'dimensions'): boolean => {
    const given = value[key];
    if (given === undefined) return DEFAULT_LATE_DATA[key];
    if (typeof given !== 'boolean') throw refuse(`late_data.${key}`, given, 'true or false');
    return given;
  };
  let lookback: Lookback | null = null;
  if (value.lookback !== undefined && value.lookback !== null) {
    lookback = typeof value.lookback === 'string' ? parseLookback(value.lookback) : null;
    if (!lookback)
      throw refuse(
        'late_data.lookback',
        value.lookback,
        `"N days" (up to ${MAX_LOOKBACK.day}), "N weeks" (up to ${MAX_LOOKBACK.week}) or "N months" (up to ${MAX_LOOKBACK.month}), or nothing for the frequency's default`,
      );
  }
  return {
    policy: value.policy === undefined ? DEFAULT_LATE_DATA.policy : policyOf('late_data.policy', value.policy),
    corrections: flag('corrections'),
    dimensions: flag('dimensions'),
    lookback,
  };
}

/** The setting as `clients list` shows it, e.g. `late data restate (corrections, lookback 10 days)`. */
export function describeLateData(settings: LateDataSettings, frequency: Frequency): string {
  if (settings.policy === 'off') return 'late data off';
  const details = [
    ...(settings.corrections ? ['corrections'] : []),
    ...(settings.dimensions ? [] : ['events only']),
    `lookback ${formatLookback(settings.lookback ?? DEFAULT_LOOKBACK[frequency])}`,
  ];
  return `late data ${settings.policy} (${details.join(', ')})`;
}

/** Whether a client's delivered revisions keep their rows (period_snapshots), for counting and listing the next revision's changes. */
export function keepsSnapshots(settings: LateDataSettings): boolean {
  return settings.policy === 'restate' || settings.corrections;
}

function shift(date: LocalDate, lookback: Lookback, sign: 1 | -1): LocalDate {
  switch (lookback.unit) {
    case 'day':
      return addDays(date, sign * lookback.count);
    case 'week':
      return addDays(date, sign * lookback.count * DAYS_PER_WEEK);
    case 'month':
      return addMonths(date, sign * lookback.count);
  }
}

/**
 * The first local date on which a period is no longer checked: its end date (the first date
 * after it) plus the lookback. A daily period of 2026-11-24 (end 2026-11-25) with 7 days is
 * checked up to and including 2026-12-01; the November monthly period (end 2026-12-01) with 2
 * months up to and including 2027-01-31.
 */
export function lookbackEnds(period: { readonly end: LocalDate }, lookback: Lookback): LocalDate {
  return shift(period.end, lookback, 1);
}

/** Whether the period is still checked on the local date `today` (the client's zone). */
export function isInLookback(period: { readonly end: LocalDate }, lookback: Lookback, today: LocalDate): boolean {
  return today < lookbackEnds(period, lookback);
}

/**
 * A period starting before this date cannot be inside the lookback on `today`: every period
 * ends at most LONGEST_PERIOD_DAYS after it starts. For narrowing a query; isInLookback decides.
 */
export function lookbackFloor(today: LocalDate, lookback: Lookback): LocalDate {
  return addDays(shift(today, lookback, -1), -LONGEST_PERIOD_DAYS);
}

/** The fingerprint of a period's source rows (see the glossary); sums as decimal text (they exceed 2^53). */
export interface SourceFingerprint {
  readonly rows: number;
  readonly events: string;
  readonly joined: string;
}

/** Whether the sources are the same: the events (count and fields), and the joined rows too when dimensions count. */
export function sameSource(a: SourceFingerprint, b: SourceFingerprint, dimensions: boolean): boolean {
  return a.rows === b.rows && a.events === b.events && (!dimensions || a.joined === b.joined);
}

/** A file built from a known source: its sha256 and the fingerprint read with it. */
export interface FingerprintedBuild {
  readonly sha256: string;
  readonly fingerprint: SourceFingerprint;
}

export type CheckPlan =
  /** `report`, and this revision's drift is recorded already: nothing to read. */
  | { readonly kind: 'already-recorded' }
  /** The source still matches the delivered file's: no drift, no rebuild. */
  | { readonly kind: 'unchanged' }
  /** The source matches another file built earlier, with other bytes: drift, no rebuild. */
  | { readonly kind: 'drifted'; readonly build: FingerprintedBuild }
  /** Nothing known matches today's source: rebuild and compare sha256. */
  | { readonly kind: 'rebuild' };

/**
 * What one check of a delivered revision needs, from what is known: the builds of the period
 * with their fingerprints, and today's fingerprint. A fingerprint equal in every part pins the
 * bytes (the file built from it); with `dimensions: false` an equal events part says the
 * delivered file's events are unchanged, whatever its bytes would be now.
 */
export function planCheck(input: {
  readonly policy: Exclude<LateDataPolicy, 'off'>;
  readonly dimensions: boolean;
  readonly deliveredSha256: string;
  readonly driftRecorded: boolean;
  readonly builds: readonly FingerprintedBuild[];
  /** Null when not read yet: only `already-recorded` can be decided without it. */
  readonly current: SourceFingerprint | null;
}): CheckPlan {
  if (input.policy === 'report' && input.driftRecorded) return { kind: 'already-recorded' };
  const current = input.current;
  if (!current) throw new Error('planCheck needs the current fingerprint unless the drift is recorded already');
  const delivered = input.builds.find((build) => build.sha256 === input.deliveredSha256);
  if (delivered && sameSource(delivered.fingerprint, current, input.dimensions)) return { kind: 'unchanged' };
  const pinned = input.builds.find((build) => sameSource(build.fingerprint, current, true));
  if (pinned) return pinned.sha256 === input.deliveredSha256 ? { kind: 'unchanged' } : { kind: 'drifted', build: pinned };
  return { kind: 'rebuild' };
}

/** Why a run was started, when it is neither a schedule's nor an operator's own. */
export const RUN_REASONS = ['restated-for-drift'] as const;
export type RunReason = (typeof RUN_REASONS)[number];

export function isRunReason(value: unknown): value is RunReason {
  return typeof value === 'string' && (RUN_REASONS as readonly string[]).includes(value);
}

/** Why a delivered revision exists, as the ledger shows it. */
export type RevisionReason = 'first delivery' | 'forced' | 'restated for drift';

export function revisionReason(revision: number, reason: string | null): RevisionReason {
  if (revision <= 1) return 'first delivery';
  return reason === 'restated-for-drift' ? 'restated for drift' : 'forced';
}
