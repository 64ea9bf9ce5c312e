/** Small statistics over repeated measurements: every figure the benchmark prints is a median with its min and max. */

export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly count: number;
}

function sorted(values: readonly number[]): number[] {
  if (values.length === 0) throw new Error('no measurements to summarise');
  return [...values].sort((a, b) => a - b);
}

/** Median (mean of the middle two for an even count), min and max. */
export function spreadOf(values: readonly number[]): Spread {
  const ordered = sorted(values);
  const middle = Math.floor(ordered.length / 2);
  const median = ordered.length % 2 === 1 ? (ordered[middle] as number) : ((ordered[middle - 1] as number) + (ordered[middle] as number)) / 2;
  return { median, min: ordered[0] as number, max: ordered[ordered.length - 1] as number, count: ordered.length };
}

/** Nearest-rank percentile (p in 0..100): a value that was actually measured. */
export function percentile(values: readonly number[], p: number): number {
  const ordered = sorted(values);
  const rank = Math.max(1, Math.ceil((p / 100) * ordered.length));
  return ordered[rank - 1] as number;
}

export function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
