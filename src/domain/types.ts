/**
 * Glossary (the words the code and its messages use; SPEC sections in brackets)
 *
 * - client: a tenant of the messaging platform, one `clients` row [§2].
 * - frequency: how often a client receives the report: `daily`, `weekly` or `monthly` [§1].
 * - local date: a calendar date in some IANA time zone, written `YYYY-MM-DD`.
 * - instant: a point in time, as milliseconds since the Unix epoch (UTC).
 * - period: the half-open interval `[start, end)` of local wall-clock time in the client's
 *   time zone that one report covers: a local day, an ISO week (Monday to Monday) or a
 *   calendar month, named by its first local date [§3].
 * - period key: client + frequency + period start. One workflow id, one file name, one
 *   delivered file per revision.
 * - business window: `[open, close)` of local wall-clock time in which a client is open; a
 *   close may be `24:00` [§5].
 * - after hours: an event outside every business window of its local weekday, or on a
 *   holiday [§5].
 * - revision: 1 for the first delivered file of a period; 2, 3, … for changed files that a
 *   forced rerun delivers (`…_r2.csv`) [§6].
 * - ledger: the `report_runs` table; one row per period run [§7].
 * - file reference: the path of a built file on the host that built it. Activities pass
 *   references, counts and checksums, never rows [§7].
 * - already delivered: a run finds the period's file delivered and does nothing. startRun
 *   answers `skip` (unforced run of a delivered period), delivery answers `already-delivered`
 *   (another run delivered it meanwhile), the ledger records either as `skipped`.
 * - secret reference: where a credential can be read (`{ "env": NAME }` or
 *   `{ "file": PATH }`), never the credential itself [§6].
 */

export const FREQUENCIES = ['daily', 'weekly', 'monthly'] as const;
export type Frequency = (typeof FREQUENCIES)[number];

export const ENVIRONMENTS = ['production', 'sandbox'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

import type { DueTime } from './deadlines.js';

/** A calendar date, `YYYY-MM-DD`, with no time zone of its own. */
export type LocalDate = string;

/** Milliseconds since 1970-01-01T00:00:00Z. */
export type Instant = number;

/** One report's interval of local wall-clock time, `[start, end)`. Plain data: it travels through workflow history. */
export interface Period {
  readonly frequency: Frequency;
  readonly timeZone: string;
  /** First local date of the period; the period's name. */
  readonly start: LocalDate;
  /** First local date after the period (exclusive end). */
  readonly end: LocalDate;
  /** Last local date inside the period (`{end}` in file name templates). */
  readonly lastDay: LocalDate;
  /** First instant of the period: the earliest instant whose local time is at or after `start` 00:00. */
  readonly startInstant: Instant;
  /** First instant after the period. */
  readonly endInstant: Instant;
}

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** Local wall-clock window `[open, close)`, in minutes after local midnight; `close` may be 1440 (`"24:00"`). */
export interface BusinessWindow {
  readonly openMinute: number;
  readonly closeMinute: number;
}

/** A client's validated `after_hours` setting [§5]. */
export interface AfterHoursSettings {
  /** Zone the windows are read in: the setting's own `timezone`, else the client's. */
  readonly timeZone: string;
  /** Windows per weekday; a weekday with no windows is closed all day. */
  readonly businessHours: Readonly<Record<Weekday, readonly BusinessWindow[]>>;
  /** Local dates closed all day, sorted, unique. */
  readonly holidays: readonly LocalDate[];
}

/** Where a secret can be read from, inside the delivering process only. */
export type SecretReference = { readonly env: string } | { readonly file: string };

export type SftpAuthentication =
  | { readonly method: 'password'; readonly password: SecretReference }
  | { readonly method: 'privateKey'; readonly privateKey: SecretReference; readonly passphrase?: SecretReference };

/** A client's validated `delivery` setting [§6]. Holds references to secrets, never secrets. */
export interface SftpDeliverySettings {
  readonly protocol: 'sftp';
  readonly host: string;
  readonly port: number;
  readonly username: string;
  /** Absolute folder on the server that receives the files. */
  readonly remoteDir: string;
  /** Pinned host key, OpenSSH form `SHA256:<base64 without padding>`; during a rotation, a list of the keys the server may present. */
  readonly hostKeySha256: string | readonly string[];
  readonly auth: SftpAuthentication;
  /** Also upload `<file>.sha256` (sha256sum format) after the data file. */
  readonly checksumFile: boolean;
  /** Deliver `<file>.gz` instead of the plain CSV. */
  readonly gzip: boolean;
  /** Encrypt (and sign) what is delivered with OpenPGP; absent: sent as it is. */
  readonly pgp?: PgpSettings;
  /** Put `<file>.manifest.json` in place after the data file(s); absent: false. */
  readonly manifest?: boolean;
  /** Cut the CSV into parts of at most this many data rows (`…_part001.csv`, …); needs `manifest`. Absent: one file. */
  readonly maxRowsPerFile?: number;
}

/** A client's validated `delivery.pgp` setting: references to keys, never keys. */
export interface PgpSettings {
  /** Public keys the file is encrypted to; each alone decrypts it (two during a key rotation). */
  readonly recipients: readonly SecretReference[];
  /** Our secret key that signs the file, when the client verifies signatures. */
  readonly signingKey: SecretReference | null;
  readonly signingPassphrase: SecretReference | null;
  /** ASCII armor (`.asc`) instead of binary OpenPGP (`.pgp`). */
  readonly armor: boolean;
}

/** A validated `clients` row. */
export interface ClientConfig {
  readonly id: string;
  readonly name: string;
  readonly environment: Environment;
  readonly timeZone: string;
  readonly frequency: Frequency;
  readonly enabled: boolean;
  readonly afterHours: AfterHoursSettings | null;
  readonly delivery: SftpDeliverySettings | null;
  /** Checked `file_name_template`, or the default one when the column is null. */
  readonly fileNameTemplate: string;
  /** When its files are due (`client_watch.due`); null: the frequency's default. */
  readonly due: DueTime | null;
  /** First local date the watchdog expects files for (`client_watch.active_since`); null: not watched yet. */
  readonly activeSince: LocalDate | null;
}

/** What a finished build hands on: a reference to the file, never its rows. */
export interface BuiltFile {
  /** Absolute path on the host that built it. */
  readonly path: string;
  readonly fileName: string;
  readonly rowCount: number;
  readonly bytes: number;
  /** Lower-case hex SHA-256 of the file's bytes. */
  readonly sha256: string;
}

/** Timeouts and retries the worker hands its workflows (workflows cannot read configuration). */
export interface RunPolicy {
  /** How long delivery of one file may keep retrying, from first attempt to giving up. */
  readonly deliveryDeadlineMs: number;
  readonly retryInitialIntervalMs: number;
  readonly retryMaxIntervalMs: number;
  /** Longest a single build attempt may take. */
  readonly buildTimeoutMs: number;
  /** How long building one file may keep retrying (every attempt together) before the run fails. */
  readonly buildDeadlineMs: number;
  /** Silence after which a build or upload counts as stuck. */
  readonly heartbeatTimeoutMs: number;
  /** How long a host-bound step may wait for its host before the file is rebuilt elsewhere. */
  readonly hostScheduleToStartTimeoutMs: number;
  /** How many hosts one run may try before failing. */
  readonly maxHosts: number;
}
