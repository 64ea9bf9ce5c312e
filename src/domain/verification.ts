/**
 * Proving a period's delivery [SPEC §6]: what the ledger says stands on the client's server
 * (expectedRemoteFiles), which names in the folder belong to the period (periodFileMatcher),
 * and one verdict per file (verifyPeriodFiles). The command `verify` does the listing and
 * hashing (delivery/period-verifier.ts); everything here is pure.
 */
import { CHECKSUM_SUFFIX, checksumFileText, GZIP_SUFFIX } from './file-name.js';
import type { PeriodFile } from './publication.js';

/** What a delivered gzip file's name ends with (period-publisher.ts appends it). */
/** Every template ends with it (file-name.ts), so a name's part before it identifies the period. */
const DATA_EXTENSION = '.csv';

export type Verdict = 'ok' | 'missing' | 'different' | 'unknown';
/** What a file is to its revision: a data file (whole or a split part), a manifest or its signature, a companion, an upload not yet renamed. */
export type RemoteFileRole = 'data' | 'signature' | 'manifest' | 'checksum' | 'temporary';

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
  /** The ledger's part (report_file_parts) the file belongs to; null for a revision of one file. */
  readonly part: number | null;
  readonly role: RemoteFileRole;
  /** What the file is, for messages: `revision 2`, `part 3 of revision 2`, `manifest of revision 2`, …; a companion or upload names what it belongs to. */
  readonly describes: string;
  /** The ledger's status of the file (of its part, for a revision of several). */
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

/** One file as the ledger records it: a revision of one file, or one part of a revision of several. */
interface RecordedFile {
  readonly part: number | null;
  readonly role: 'data' | 'signature' | 'manifest';
  readonly describes: string;
  readonly status: 'delivered' | 'publishing';
  readonly fileName: string;
  readonly remotePath: string;
  readonly temporaryPath: string | null;
  /** sha256 of the CSV of a data file; of the bytes themselves for a manifest or signature. */
  readonly sha256: string;
  readonly deliveredSha256: string;
  readonly bytes: number;
}

/** The files a revision put (or is putting) on the server: itself, or each of its parts not given up. */
function recordedFiles(file: PeriodFile): RecordedFile[] {
  if (file.status === 'abandoned') return [];
  if (file.parts.length === 0) return [{ ...file, part: null, role: 'data', describes: `revision ${file.revision}`, status: file.status }];
  const dataParts = file.parts.filter((part) => part.kind === 'data').length;
  return file.parts.flatMap((part): RecordedFile[] => {
    if (part.status === 'abandoned') return [];
    const of = `revision ${file.revision}`;
    const describes =
      part.kind === 'manifest'
        ? `manifest of ${of}`
        : part.kind === 'signature'
          ? `manifest signature of ${of}`
          : dataParts > 1
            ? `part ${part.part} of ${of}`
            : `data file of ${of}`;
    return [{ ...part, role: part.kind, describes, status: part.status }];
  });
}

/**
 * Every file the ledger accounts for, in revision order: each delivered or publishing
 * revision's data file, or each file of a revision of several (split parts, the manifest's
 * signature, the manifest: report_file_parts), every data file's checksum companion, and the
 * temporary upload a file still publishing recorded. Required is every file the ledger says is
 * delivered and, when the client wants them now, the companions of delivered data files; a
 * companion of a client that stopped wanting them is still judged when there.
 * `hashText` is sha256 in hex (domain code does not hash; the caller passes it in).
 */
export function expectedRemoteFiles(
  files: readonly PeriodFile[],
  settings: { readonly checksumFile: boolean },
  hashText: (text: string) => string,
): ExpectedRemoteFile[] {
  return files.flatMap((file) =>
    recordedFiles(file).flatMap((recorded): ExpectedRemoteFile[] => {
      const delivered = recorded.status === 'delivered';
      const common = { revision: file.revision, part: recorded.part, ledgerStatus: recorded.status };
      const isData = recorded.role === 'data';
      const digest = {
        bytes: recorded.bytes,
        sha256: recorded.deliveredSha256,
        contentSha256: isData && recorded.fileName.endsWith(GZIP_SUFFIX) ? recorded.sha256 : null,
      };
      const checksumText = checksumFileText(recorded.deliveredSha256, recorded.fileName);
      const checksum = { bytes: new TextEncoder().encode(checksumText).length, sha256: hashText(checksumText), contentSha256: null };
      return [
        { ...common, path: recorded.remotePath, role: recorded.role, describes: recorded.describes, required: delivered, digest },
        ...(isData
          ? [
              {
                ...common,
                path: `${recorded.remotePath}${CHECKSUM_SUFFIX}`,
                role: 'checksum' as const,
                describes: recorded.describes,
                required: delivered && settings.checksumFile,
                digest: checksum,
              },
            ]
          : []),
        ...(recorded.temporaryPath === null
          ? []
          : [{ ...common, path: recorded.temporaryPath, role: 'temporary' as const, describes: recorded.describes, required: false, digest }]),
      ];
    }),
  );
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
  const what =
    file.role === 'checksum' ? `checksum file of ${file.describes}` : file.role === 'temporary' ? `temporary upload of ${file.describes}` : file.describes;
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
  // A revision given up, or a file of one: parts put in place before it was given up stay.
  const abandoned = files.find((file) => file.remotePath === listed.path || file.parts.some((part) => part.remotePath === listed.path));
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
    // The file under its name or its recorded upload, not a companion.
    const itself = input.expected.filter((other) => other.revision === file.revision && other.part === file.part && other.role !== 'checksum');
    if (file.role !== 'checksum' && file.role !== 'temporary' && file.ledgerStatus === 'publishing' && !itself.some((other) => seen(other.path))) {
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
