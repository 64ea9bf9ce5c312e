/** File names of the report [SPEC §4], of its revisions [§6] and of its companions. */
import { InvalidClientSettingError, describeValue } from './errors.js';
import { compactDate } from './local-date.js';
import type { Frequency, Period } from './types.js';

export const DEFAULT_FILE_NAME_TEMPLATE = 'twoway_activity_{client}_{frequency}_{start}.csv';
export const FILE_NAME_PLACEHOLDERS = ['client', 'frequency', 'start', 'end'] as const;
const REQUIRED_EXTENSION = '.csv';
/**
 * Leaves room under common 255-byte file name limits for what delivery adds: `_r99`, `_part001`,
 * `.gz`, `.pgp`, `.manifest.json`, `.sig` or `.sha256`, and a temporary name's `.` and `.<8 hex>.part`.
 */
const MAX_FILE_NAME_LENGTH = 200;
const SAFE_LITERAL = /^[A-Za-z0-9._-]*$/;
const SAFE_FILE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
const PLACEHOLDER = /\{([^{}]*)\}/g;

const TEMPLATE_FIELD = 'file_name_template';
const TEMPLATE_ALLOWED =
  'letters, digits, ".", "_", "-" and the placeholders {client}, {frequency}, {start}, {end}; at least one of {start} or {end}; ending in ".csv"';

/**
 * Checks a client's `file_name_template` (null: the default). Every period must get a name
 * of its own, so the template must hold `{start}` or `{end}`; names must be safe on any
 * SFTP server, so only a small alphabet is allowed.
 */
export function parseFileNameTemplate(clientId: string, template: string | null | undefined): string {
  if (template === null || template === undefined) return DEFAULT_FILE_NAME_TEMPLATE;
  const refuse = () => new InvalidClientSettingError(clientId, TEMPLATE_FIELD, describeValue(template), TEMPLATE_ALLOWED);
  if (typeof template !== 'string' || !template.endsWith(REQUIRED_EXTENSION)) throw refuse();
  const names = [...template.matchAll(PLACEHOLDER)].map((match) => match[1]);
  if (names.some((name) => !(FILE_NAME_PLACEHOLDERS as readonly (string | undefined)[]).includes(name))) throw refuse();
  if (!names.includes('start') && !names.includes('end')) throw refuse();
  if (!SAFE_LITERAL.test(template.replace(PLACEHOLDER, ''))) throw refuse();
  return template;
}

export interface FileNameParts {
  readonly clientId: string;
  readonly frequency: Frequency;
  readonly period: Period;
}

/** The period's file name from a checked template; a name that would be unsafe is refused. */
export function reportFileName(template: string, parts: FileNameParts): string {
  const values: Record<string, string> = {
    client: parts.clientId,
    frequency: parts.frequency,
    start: compactDate(parts.period.start),
    end: compactDate(parts.period.lastDay),
  };
  const name = template.replace(PLACEHOLDER, (_, placeholder: string) => values[placeholder] ?? '');
  if (!SAFE_FILE_NAME.test(name) || name.length > MAX_FILE_NAME_LENGTH) {
    throw new InvalidClientSettingError(
      parts.clientId,
      template === DEFAULT_FILE_NAME_TEMPLATE ? 'id' : TEMPLATE_FIELD,
      `${describeValue(template === DEFAULT_FILE_NAME_TEMPLATE ? parts.clientId : template)} (file name ${describeValue(name)})`,
      `a file name of letters, digits, ".", "_" and "-", at most ${MAX_FILE_NAME_LENGTH} characters`,
    );
  }
  return name;
}

/** Revision 1 keeps the name; revision n > 1 inserts `_r<n>` before the extension (`…_20261124_r2.csv`). */
export function revisionFileName(fileName: string, revision: number): string {
  if (!Number.isInteger(revision) || revision < 1) throw new RangeError(`revision is ${revision}; allowed: a whole number from 1`);
  if (revision === 1) return fileName;
  const dot = fileName.lastIndexOf('.');
  return dot <= 0 ? `${fileName}_r${revision}` : `${fileName.slice(0, dot)}_r${revision}${fileName.slice(dot)}`;
}

/** What delivery appends to a gzipped CSV's name (`delivery.gzip`). */
export const GZIP_SUFFIX = '.gz';
/** What delivery appends to an encrypted file's name: binary OpenPGP, or ASCII armor (`delivery.pgp.armor`). */
export const PGP_SUFFIX = '.pgp';
export const ARMORED_PGP_SUFFIX = '.asc';

/** Suffix of the checksum companion (`<data file>.sha256`) a client with `checksumFile` receives. */
export const CHECKSUM_SUFFIX = '.sha256';

/** The checksum companion's content: one `sha256sum` line, so `sha256sum -c` checks the data file beside it. */
export function checksumFileText(sha256: string, dataName: string): string {
  return `${sha256}  ${dataName}\n`;
}

/** Parts of a split revision are numbered with three digits, so that they sort by name: `_part001` to `_part999`. */
export const MAX_PARTS_PER_REVISION = 999;
const PART_NUMBER_DIGITS = 3;

/** A manifest is named after its revision's data file as if unsplit: `{name}.manifest.json`. */
export const MANIFEST_SUFFIX = '.manifest.json';
/** A detached signature of the manifest: `{manifest}.sig`. */
export const SIGNATURE_SUFFIX = '.sig';

/** Inserts `_part<nnn>` before the extension of a revision's name: `…_20261124_r2.csv` → `…_20261124_r2_part001.csv`. */
export function partFileName(revisionName: string, part: number): string {
  if (!Number.isInteger(part) || part < 1 || part > MAX_PARTS_PER_REVISION) {
    throw new RangeError(`part is ${part}; allowed: a whole number from 1 to ${MAX_PARTS_PER_REVISION}`);
  }
  const suffix = `_part${String(part).padStart(PART_NUMBER_DIGITS, '0')}`;
  const dot = revisionName.lastIndexOf('.');
  return dot <= 0 ? `${revisionName}${suffix}` : `${revisionName.slice(0, dot)}${suffix}${revisionName.slice(dot)}`;
}

/** What delivery may append to a data file's name, and the companions' suffixes. */
const DELIVERED_SUFFIXES = [GZIP_SUFFIX, PGP_SUFFIX, ARMORED_PGP_SUFFIX, CHECKSUM_SUFFIX, MANIFEST_SUFFIX, SIGNATURE_SUFFIX];

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Whether `name` is a name one of a period's files can have on the server, given its revision-1
 * CSV `baseName`: any revision (`_r<n>`) and part (`_part<nnn>`), with what delivery appends
 * (`.gz`, `.pgp`, `.asc`) and the companions (`.sha256`, `.manifest.json`, `.sig`).
 */
export function isPeriodFileName(name: string, baseName: string): boolean {
  const dot = baseName.lastIndexOf('.');
  const [stem, extension] = dot <= 0 ? [baseName, ''] : [baseName.slice(0, dot), baseName.slice(dot)];
  const suffixes = DELIVERED_SUFFIXES.map(escapeRegExp).join('|');
  const pattern = new RegExp(`^${escapeRegExp(stem)}(?:_r[1-9][0-9]*)?(?:_part[0-9]{${PART_NUMBER_DIGITS}})?${escapeRegExp(extension)}(?:${suffixes})*$`);
  return pattern.test(name);
}

/** Parts a file of `rowCount` data rows is cut into, at most `maxRowsPerFile` rows each; an empty file is one part (its header). */
export function partCount(rowCount: number, maxRowsPerFile: number): number {
  return Math.max(1, Math.ceil(rowCount / maxRowsPerFile));
}

export interface RevisionFileNames {
  /** The data files, in order: one unsplit file, or the parts. */
  readonly data: readonly string[];
  /** The manifest: the unsplit data file's name (which a split revision does not use) and `.manifest.json`. */
  readonly manifest: string;
  /** The manifest's detached signature, when the client signs. */
  readonly signature: string;
}

/**
 * The names of revision `revision` of a period whose revision-1 CSV is `baseName`: `suffix` is
 * what delivery appends to a CSV's name (`.gz`, …); `parts` is null for an unsplit file.
 * `…_20261124_r2.csv.gz`, or `…_20261124_r2_part001.csv.gz` … with `…_20261124_r2.csv.gz.manifest.json`.
 */
export function revisionFileNames(baseName: string, revision: number, suffix: string, parts: number | null): RevisionFileNames {
  const name = revisionFileName(baseName, revision);
  const data = parts === null ? [`${name}${suffix}`] : Array.from({ length: parts }, (_, index) => `${partFileName(name, index + 1)}${suffix}`);
  const manifest = `${name}${suffix}${MANIFEST_SUFFIX}`;
  return { data, manifest, signature: `${manifest}${SIGNATURE_SUFFIX}` };
}
