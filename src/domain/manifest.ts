/**
 * The manifest of a delivered revision (`delivery.manifest`): `{name}.manifest.json`, put in
 * place after every data file of the revision, so that its presence tells a receiver the
 * revision is complete, and what it holds (names, sizes, checksums, rows, period, columns).
 *
 * The same revision gives the same bytes: keys in a fixed order, nothing of the run (no
 * timestamps, run ids or hosts), numbers and names only.
 */
import { REPORT_HEADER } from './report-row.js';
import type { Period } from './types.js';

/** Raised when a field is added, removed or changes meaning; receivers check it. */
export const MANIFEST_VERSION = 1;
const JSON_INDENT = 2;

/** One data file of the revision, as delivered. */
export interface ManifestFile {
  readonly name: string;
  readonly rowCount: number;
  /** Bytes on the server. */
  readonly bytes: number;
  /** sha256 of the bytes on the server. */
  readonly sha256: string;
  /** sha256 of the CSV before compression or encryption (equal to `sha256` for a plain CSV). */
  readonly csvSha256: string;
}

export interface ManifestInput {
  readonly clientId: string;
  readonly period: Period;
  readonly revision: number;
  /** The delivered revision this one replaces, by the name it was delivered under; null for the first. */
  readonly replaces: { readonly revision: number; readonly name: string } | null;
  /** The data files in order (parts in part order). */
  readonly files: readonly ManifestFile[];
}

/** The manifest's text: JSON with a fixed key order, ending in a newline. */
export function renderManifest(input: ManifestInput): string {
  const { period } = input;
  if (input.files.length === 0) throw new RangeError('a manifest lists at least one data file');
  if (input.replaces !== null && input.replaces.revision >= input.revision) {
    throw new RangeError(`revision ${input.revision} cannot replace revision ${input.replaces.revision}`);
  }
  const manifest = {
    manifestVersion: MANIFEST_VERSION,
    client: input.clientId,
    frequency: period.frequency,
    timeZone: period.timeZone,
    period: {
      start: period.start,
      end: period.end,
      lastDay: period.lastDay,
      startUtc: new Date(period.startInstant).toISOString(),
      endUtc: new Date(period.endInstant).toISOString(),
    },
    revision: input.revision,
    replaces: input.replaces === null ? null : { revision: input.replaces.revision, name: input.replaces.name },
    rowCount: input.files.reduce((sum, file) => sum + file.rowCount, 0),
    columns: [...REPORT_HEADER],
    files: input.files.map((file) => ({ name: file.name, rowCount: file.rowCount, bytes: file.bytes, sha256: file.sha256, csvSha256: file.csvSha256 })),
  };
  return `${JSON.stringify(manifest, null, JSON_INDENT)}\n`;
}
