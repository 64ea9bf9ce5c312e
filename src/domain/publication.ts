/**
 * Exactly-once publication of a period's file [SPEC §6, §7], as pure decisions over what the
 * ledger knows (`report_files`, one row per revision) and what the SFTP server shows.
 *
 * The protocol, run by one delivery attempt at a time per period (a database lock):
 * 1. Reconcile: every revision left `publishing` (its verified upload waits under a temporary
 *    name, and the rename may or may not have happened) is judged from the server
 *    (judgeIntent) and becomes `delivered` or `abandoned`. Nothing the ledger recorded is
 *    ever uploaded a second time.
 * 2. Decide (decidePublication): done already, nothing to do, or publish revision N.
 * 3. Publish: upload under a temporary name, check size and sha256, record the intent
 *    (revision, name, temporary path, sha256), put the file under its final name with an
 *    operation that cannot replace an existing file, record it delivered.
 *
 * A revision of several files (a split file's parts, a manifest, its signature) follows the
 * same protocol file by file: every file is uploaded and verified under a temporary name and
 * every intent recorded (`parts`, in one transaction) before the first rename; the renames then
 * go in part order, the manifest last. Reconciling judges each part that is not yet delivered
 * as above and finishes the renames in the same order; one part whose name is taken by other
 * bytes abandons the whole revision before its manifest is in place.
 */
export const PERIOD_FILE_STATUSES = ['publishing', 'delivered', 'abandoned'] as const;
export type PeriodFileStatus = (typeof PERIOD_FILE_STATUSES)[number];

/** One revision of a period's file, as the ledger knows it. */
export interface PeriodFile {
  readonly revision: number;
  readonly status: PeriodFileStatus;
  /** Name of the data file on the server (with `.gz` when gzipped, `.pgp` or `.asc` when encrypted). */
  readonly fileName: string;
  readonly remotePath: string;
  /** Where the verified upload waits for its rename; null once resolved. */
  readonly temporaryPath: string | null;
  /** sha256 of the CSV. */
  readonly sha256: string;
  /** sha256 of the bytes on the server (differs from `sha256` for gzip and PGP; for PGP it identifies that one upload). */
  readonly deliveredSha256: string;
  /** Bytes on the server. */
  readonly bytes: number;
  readonly rowCount: number;
  /** The run that published it. */
  readonly workflowId: string;
  readonly runId: string;
  readonly note: string | null;
  /**
   * The files of a revision of several (split data, manifest, signature), in the order they
   * are renamed into place; empty when the revision is this one file. When there are parts,
   * this row stands for the revision: its data file when unsplit, its manifest when split.
   */
  readonly parts: readonly PeriodFilePart[];
}

export const PART_KINDS = ['data', 'signature', 'manifest'] as const;
export type PartKind = (typeof PART_KINDS)[number];

/** One file of a revision of several. */
export interface PeriodFilePart {
  /** 1, 2, …: the order of the renames; data parts first, the manifest last. */
  readonly part: number;
  readonly kind: PartKind;
  readonly status: PeriodFileStatus;
  readonly fileName: string;
  readonly remotePath: string;
  readonly temporaryPath: string | null;
  /** sha256 of the CSV of a data part; of the bytes themselves for a manifest or signature. */
  readonly sha256: string;
  readonly deliveredSha256: string;
  readonly bytes: number;
  /** Data rows of a data part; null for a manifest or signature. */
  readonly rowCount: number | null;
  readonly note: string | null;
}

export type PublishingPart = Omit<PeriodFilePart, 'status' | 'note'>;

/** A revision about to be published: recorded before the rename. */
export type PublishingFile = Omit<PeriodFile, 'status' | 'note' | 'parts'> & { readonly parts?: readonly PublishingPart[] };

/** The ledger operations the publisher needs, bound to one period and held under its lock. */
export interface PublicationLedger {
  /** Every revision of the period, ascending. */
  files(): Promise<PeriodFile[]>;
  /** Records the intent to publish (status `publishing`), with every part of a revision of several. */
  recordPublishing(file: PublishingFile): Promise<void>;
  /** One part of a revision of several is in place (or was, and has been picked up). */
  markPartDelivered(revision: number, part: number, note: string | null): Promise<void>;
  /** The revision is on the server (or was, and has been picked up); its run is recorded delivered too. */
  markDelivered(revision: number, note: string | null): Promise<PeriodFile>;
  /** The revision's name (or one of its parts') is taken by other bytes; the number is not used again. Parts not in place are abandoned with it. */
  markAbandoned(revision: number, note: string): Promise<void>;
  /** A revision number skipped because a file the ledger does not know stands under its name. */
  recordSkippedName(file: PublishingFile, note: string): Promise<void>;
}

export interface PublicationRequest {
  /** The run asking: what it delivered earlier (an attempt whose completion was lost) is its result. */
  readonly runId: string;
  /** Deliver a changed file of a delivered period as the next revision. */
  readonly force: boolean;
  /** sha256 of the file this run built. */
  readonly sha256: string;
}

export type PublicationDecision =
  /** This run delivered the period already (a retry after a lost completion). */
  | { readonly kind: 'delivered-by-this-run'; readonly file: PeriodFile }
  /** Delivered by another run and not forced: nothing to do. */
  | { readonly kind: 'already-delivered'; readonly file: PeriodFile }
  /** Forced, but the newest delivered file has the same bytes. */
  | { readonly kind: 'unchanged'; readonly file: PeriodFile }
  | { readonly kind: 'publish'; readonly revision: number };

/** What to do next, from the reconciled files of a period (none may be `publishing`). */
export function decidePublication(files: readonly PeriodFile[], request: PublicationRequest): PublicationDecision {
  const pending = files.find((file) => file.status === 'publishing');
  if (pending) throw new Error(`revision ${pending.revision} is still publishing; reconcile before deciding`);
  const delivered = files.filter((file) => file.status === 'delivered');
  const byThisRun = delivered.filter((file) => file.runId === request.runId).at(-1);
  if (byThisRun) return { kind: 'delivered-by-this-run', file: byThisRun };
  const latest = delivered.at(-1);
  if (latest && !request.force) return { kind: 'already-delivered', file: latest };
  if (latest && latest.sha256 === request.sha256) return { kind: 'unchanged', file: latest };
  return { kind: 'publish', revision: nextRevision(files) };
}

/** One more than any revision ever recorded, abandoned ones included: a number is used once. */
export function nextRevision(files: readonly PeriodFile[]): number {
  return files.reduce((highest, file) => Math.max(highest, file.revision), 0) + 1;
}

/** What the server shows of a `publishing` revision. */
export interface IntentObservation {
  /** The final name: nothing there, the recorded bytes, or other bytes. */
  readonly final: 'absent' | 'recorded-bytes' | 'other-bytes';
  /** The temporary name: nothing there, the recorded size, or another size. */
  readonly temporary: 'absent' | 'complete' | 'incomplete';
}

export type IntentVerdict =
  /** The file is in place: delivered. */
  | 'delivered'
  /** The rename never happened; the verified upload is still there: rename it now. */
  | 'finish-rename'
  /**
   * Neither name is there: the rename happened and the receiver has since taken the file
   * away (nothing else removes a recorded temporary file). Delivered; never sent again.
   */
  | 'picked-up'
  /** Other bytes stand under the name, or the upload is not what was recorded. */
  | 'abandon';

export function judgeIntent(observation: IntentObservation): IntentVerdict {
  if (observation.final === 'recorded-bytes') return 'delivered';
  if (observation.final === 'other-bytes') return 'abandon';
  if (observation.temporary === 'complete') return 'finish-rename';
  if (observation.temporary === 'incomplete') return 'abandon';
  return 'picked-up';
}
