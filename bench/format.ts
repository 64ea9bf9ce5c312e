/** How figures are printed: fixed units, so runs can be compared by eye. */
import type { Spread } from './stats.js';

// Sizes and rates are printed in decimal megabytes (10^6 bytes), the unit the targets are stated in.
export const BYTES_PER_MIB = 1024 * 1024;
export const BYTES_PER_MB = 1_000_000;
export const BYTES_PER_GB = 1_000 * BYTES_PER_MB;
export const BYTES_PER_KIB = 1024;

export function seconds(value: number): string {
  return `${value.toFixed(value < 10 ? 2 : 1)} s`;
}

export function milliseconds(value: number): string {
  return `${value.toFixed(value < 10 ? 1 : 0)} ms`;
}

export function megabytes(bytes: number): string {
  return `${(bytes / BYTES_PER_MB).toFixed(1)} MB`;
}

export function megabytesPerSecond(bytesPerSecond: number): string {
  return `${(bytesPerSecond / BYTES_PER_MB).toFixed(1)} MB/s`;
}

export function perSecond(value: number): string {
  return `${count(value)}/s`;
}

export function count(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

export function ratio(value: number): string {
  return `${value.toFixed(2)}×`;
}

/** `median (min … max, n runs)` with the unit formatter given. */
export function spread(value: Spread, unit: (value: number) => string): string {
  return `${unit(value.median)} (min ${unit(value.min)}, max ${unit(value.max)}, ${value.count} run${value.count === 1 ? '' : 's'})`;
}

export function heading(title: string): void {
  console.log(`\n== ${title} ${'='.repeat(Math.max(0, 72 - title.length))}`);
}

export function line(text = ''): void {
  console.log(text);
}

/** A plain text table; columns padded to their widest cell. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => (row[column] ?? '').length)));
  const render = (row: readonly string[]) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return [render(header), render(widths.map((width) => '-'.repeat(width))), ...rows.map(render)].join('\n');
}
