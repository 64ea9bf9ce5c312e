/** What the summary table collects: one line per target (or per figure without a target). */

export type Verdict = 'PASS' | 'MISS' | 'INFO';

export interface TargetResult {
  readonly name: string;
  readonly measured: string;
  readonly target: string;
  readonly verdict: Verdict;
  /** Why the figure is not a valid target measurement, when it is not (e.g. a quick-try file size). */
  readonly note?: string;
}

/** The benchmark itself failed (a checksum or row count that does not match): exit status 1. */
export class BenchFailure extends Error {}

export function verdict(pass: boolean): Verdict {
  return pass ? 'PASS' : 'MISS';
}
