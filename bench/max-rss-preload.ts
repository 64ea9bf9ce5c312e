/**
 * Loaded with `node --import` into a measured process: when it exits, writes its peak
 * resident set size (process.resourceUsage().maxRSS, KiB on Linux) to the file named by
 * BENCH_MAX_RSS_FILE. The process measures itself, so the figure is the render process's
 * own and nobody else's; it costs nothing until exit.
 */
import { writeFileSync } from 'node:fs';

const target = process.env.BENCH_MAX_RSS_FILE;
if (target) {
  // Not inherited by anything the process might start.
  delete process.env.BENCH_MAX_RSS_FILE;
  process.once('exit', () => writeFileSync(target, String(process.resourceUsage().maxRSS)));
}
