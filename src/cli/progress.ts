/**
 * Progress of long work on standard error: a redrawn bar with count, rate and ETA on a
 * terminal, a plain line every few seconds otherwise (logs, CI).
 */
const REDRAW_INTERVAL_MS = 100;
const PLAIN_LINE_INTERVAL_MS = 5_000;
const BAR_WIDTH = 28;

export interface Progress {
  update(done: number): void;
  /** Sets or corrects the total once known. */
  setTotal(total: number): void;
  finish(): void;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
      : `${s}s`;
}

function formatCount(value: number): string {
  return value.toLocaleString('en-US');
}

export function createProgress(label: string, unit: string, total: number | null, stream: NodeJS.WriteStream = process.stderr): Progress {
  const startedAt = Date.now();
  const interactive = stream.isTTY === true;
  let knownTotal = total;
  let done = 0;
  let lastDrawn = 0;

  const render = (final: boolean) => {
    const elapsed = (Date.now() - startedAt) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const eta = knownTotal && rate > 0 ? formatDuration((knownTotal - done) / rate) : '?';
    const counts = knownTotal ? `${formatCount(done)}/${formatCount(knownTotal)} ${unit}` : `${formatCount(done)} ${unit}`;
    const timing = final ? `in ${formatDuration(elapsed)}` : `ETA ${eta}`;
    const text = `${label}: ${counts}, ${formatCount(Math.round(rate))} ${unit}/s, ${timing}`;
    if (!interactive) return stream.write(`${text}\n`);
    const ratio = knownTotal ? Math.min(1, done / knownTotal) : 0;
    const filled = Math.round(ratio * BAR_WIDTH);
    const bar = knownTotal ? `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ` : '';
    return stream.write(`\r\x1b[2K${bar}${text}${final ? '\n' : ''}`);
  };

  return {
    update(value) {
      done = value;
      const now = Date.now();
      if (now - lastDrawn >= (interactive ? REDRAW_INTERVAL_MS : PLAIN_LINE_INTERVAL_MS)) {
        lastDrawn = now;
        render(false);
      }
    },
    setTotal(value) {
      knownTotal = value;
    },
    finish() {
      render(true);
    },
  };
}
