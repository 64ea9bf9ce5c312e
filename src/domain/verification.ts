/**
 * Proving a period's delivery [SPEC §6]: what the ledger says stands on the client's server
 * (expectedRemoteFiles), which names in the folder belong to the period (periodFileMatcher),
 * and one verdict per file (verifyPeriodFiles). The command `verify` does the listing and
 * hashing (delivery/period-verifier.ts); everything here is pure.
 */
import { CHECKSUM_SUFFIX, checksumFileText } from './file-name.js';
import type { PeriodFile } from './publication.js';

/** What a delivered gzip file's name ends with (period-publisher.ts appends it). */
const GZIP_SUFFIX = '.gz';
/** Every template ends with it (file-name.ts), so a name's part before it identifies the period. */
const DATA_EXTENSION = '.csv';

export type Verdict = 'ok' | 'missing' | 'different' | 'unknown';
/** What a file is to its revision; manifests and split parts add their roles here. */
export type RemoteFileRole = 'data' | 'checksum' | 'temporary';

/** Bytes and hashes of a file, as the ledger records them or as the server holds them. */
export interface FileDigest {
  readonly bytes: number;
  readonly sha256: string;
  /** sha256 of the gunzipped content: expected for a gzip data file, observed when asked for; else null. */
  readonly contentSha256: string | null;
}

/** A file the ledger accounts for. */
export interface ExpectedRemoteFile {
  readonly path: string;
  readonly revision: number;
  readonly role: RemoteFileRole;
  readonly ledgerStatus: 'delivered' | 'publishing';
  /** Absence is a mismatch; a file that is not required is judged only when it is there. */
  readonly required: boolean;
  readonly digest: FileDigest;
}

/** A name in the remote folder that belongs to the period. */
export interface ListedRemoteFile {
  readonly path: string;
  /** For a temporary upload (`.<name>.<hex>.part`), the name it was meant to take; else null. */
  readonly temporaryOf: string | null;
}

export interface VerificationLine {
  readonly verdict: Verdict;
  readonly path: string;
  readonly detail: string;
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function describeDigest(digest: { readonly bytes: number; readonly sha256: string }): string {
  return `${digest.bytes} bytes, sha256 ${digest.sha256}`;
}

/**
 * Every file the ledger accounts for, in revision order: the data file of each delivered or
 * publishing revision, its checksum companion, and the temporary upload a publishing revision
 * recorded. Required are a delivered revision's data file and, when the client wants them now,
 * its companions; a companion of a client that stopped wanting them is still judged when there.
 * `hashText` is sha256 in hex (domain code does not hash; the caller passes it in).
 */
export function expectedRemoteFiles(
  files: readonly PeriodFile[],
  settings: { readonly checksumFile: boolean },
  hashText: (text: string) => string,
): ExpectedRemoteFile[] {
  return files.flatMap((file): ExpectedRemoteFile[] => {
    if (file.status === 'abandoned') return [];
    const delivered = file.status === 'delivered';
    const common = { revision: file.revision, ledgerStatus: file.status };
    const data = {
      bytes: file.bytes,
      sha256: file.deliveredSha256,
      contentSha256: file.fileName.endsWith(GZIP_SUFFIX) ? file.sha256 : null,
    };
    const checksumText = checksumFileText(file.deliveredSha256, file.fileName);
    const checksum = { bytes: new TextEncoder().encode(checksumText).length, sha256: hashText(checksumText), contentSha256: null };
    return [
      { ...common, path: file.remotePath, role: 'data', required: delivered, digest: data },
      { ...common, path: `${file.remotePath}${CHECKSUM_SUFFIX}`, role: 'checksum', required: delivered && settings.checksumFile, digest: checksum },
      ...(file.temporaryPath === null ? [] : [{ ...common, path: file.temporaryPath, role: 'temporary' as const, required: false, digest: data }]),
    ];
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A name's part before `.csv`, without its revision mark: what every file of its period starts with. */
function periodStem(fileName: string, revision: number): string {
  const extension = fileName.lastIndexOf(DATA_EXTENSION);
  const named = extension > 0 ? fileName.slice(0, extension) : fileName;
  const mark = `_r${revision}`;
  return revision > 1 && named.endsWith(mark) ? named.slice(0, -mark.length) : named;
}

/**
 * Whether a final name (not a temporary one) belongs to the period whose revision 1 is
 * `baseFileName`: the name's stem, any revision or part marks (`_r2`, `_part001`), then one or
 * more extensions (`.csv`, `.gz`, `.sha256`, or companions added later). Stems of the names the
 * ledger recorded count too, so files named under an earlier template are still found.
 * Template dates are fixed width, so another period's names never match; a template without
 * `{frequency}` gives a daily and a weekly period starting the same day the same names.
 */
export function periodFileMatcher(baseFileName: string, files: readonly PeriodFile[]): (name: string) => boolean {
  const stems = new Set([periodStem(baseFileName, 1), ...files.map((file) => periodStem(file.fileName, file.revision))]);
  const pattern = new RegExp(`^(?:${[...stems].map(escapeRegExp).join('|')})(?:_(?:r|part)\\d+)*(?:\\.[A-Za-z0-9_-]+)+$`);
  return (name) => pattern.test(name);
}

function sameBytes(expected: FileDigest, observed: FileDigest): 'same' | 'same-content' | 'other' {
  if (observed.bytes === expected.bytes && observed.sha256 === expected.sha256) return 'same';
  // Another gzip of the same CSV: a retry that found it in place recorded its own gzip's bytes.
  if (expected.contentSha256 !== null && observed.contentSha256 === expected.contentSha256) return 'same-content';
  return 'other';
}

function subject(file: ExpectedRemoteFile): string {
  const revision = `revision ${file.revision}`;
  const what = file.role === 'checksum' ? `checksum file of ${revision}` : file.role === 'temporary' ? `temporary upload of ${revision}` : revision;
  return file.ledgerStatus === 'publishing' ? `${what} (the ledger says publishing: an attempt was cut off before recording it delivered)` : what;
}

function judgeExpected(file: ExpectedRemoteFile, observed: FileDigest | null): VerificationLine | null {
  const { path, digest } = file;
  if (observed === null) {
    if (!file.required) return null;
    return {
      verdict: 'missing',
      path,
      detail: `${subject(file)}: the ledger says delivered (${describeDigest(digest)}); the server does not have it. The contract lets a receiver pick files up: ask the client whether they took it before delivering it again`,
    };
  }
  const same = sameBytes(digest, observed);
  if (same === 'other') {
    return { verdict: 'different', path, detail: `${subject(file)}: the ledger says ${describeDigest(digest)}; the server has ${describeDigest(observed)}` };
  }
  const note = same === 'same-content' ? ` (another gzip of the same CSV, whose sha256 is ${digest.contentSha256})` : '';
  return { verdict: 'ok', path, detail: `${subject(file)}: ${describeDigest(observed)}${note}` };
}

function judgeUnknown(listed: ListedRemoteFile, observed: FileDigest | null, files: readonly PeriodFile[]): VerificationLine | null {
  // Gone between the listing and the hashing (a receiver picking up, a run cleaning up): nothing to judge.
  if (observed === null) return null;
  const what = describeDigest(observed);
  if (listed.temporaryOf !== null) {
    return {
      verdict: 'unknown',
      path: listed.path,
      detail: `${what}: a temporary upload of ${listed.temporaryOf} the ledger does not know, left by an attempt that did not finish (receivers ignore hidden names; delete it when no run of the period is delivering)`,
    };
  }
  const abandoned = files.find((file) => file.remotePath === listed.path);
  const why = abandoned
    ? `the ledger gave up revision ${abandoned.revision} under this name${abandoned.note ? ` (${abandoned.note})` : ''}`
    : 'not in the ledger: another revision or a file this pipeline did not deliver';
  return { verdict: 'unknown', path: listed.path, detail: `${what}: ${why}` };
}

/**
 * One line per file: every expected file that is required or there (ok, missing, different),
 * a `missing` line for a publishing revision of which neither the file nor its temporary upload
 * is there, then every listed file the ledger does not account for (unknown), by name.
 * `observed` holds what each looked-at path holds (null: nothing there).
 */
export function verifyPeriodFiles(input: {
  readonly files: readonly PeriodFile[];
  readonly expected: readonly ExpectedRemoteFile[];
  readonly listed: readonly ListedRemoteFile[];
  readonly observed: ReadonlyMap<string, FileDigest | null>;
}): VerificationLine[] {
  const seen = (path: string) => (input.observed.get(path) ?? null) !== null;
  const lines: VerificationLine[] = [];
  for (const file of input.expected) {
    const line = judgeExpected(file, input.observed.get(file.path) ?? null);
    if (line) lines.push(line);
    const ofRevision = input.expected.filter((other) => other.revision === file.revision && other.role !== 'checksum');
    if (file.role === 'data' && file.ledgerStatus === 'publishing' && !ofRevision.some((other) => seen(other.path))) {
      lines.push({
        verdict: 'missing',
        path: file.path,
        detail: `${subject(file)}: neither the file (${describeDigest(file.digest)}) nor its temporary upload is there; the run's next attempt records it as picked up by the receiver`,
      });
    }
  }
  const accounted = new Set(input.expected.map((file) => file.path));
  const unknown = input.listed.filter((listed) => !accounted.has(listed.path)).sort((a, b) => (baseName(a.path) < baseName(b.path) ? -1 : 1));
  for (const listed of unknown) {
    const line = judgeUnknown(listed, input.observed.get(listed.path) ?? null, input.files);
    if (line) lines.push(line);
  }
  return lines;
}
