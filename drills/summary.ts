/** How drill results are printed: one block per drill, and the closing summary line. */
import type { DrillResult } from './run-drill.js';

/** One drill: its verdict and time, the fault, the timeline, every failed check and the notes. */
export function printResult(result: DrillResult): void {
  const verdict = result.survived ? 'survived' : `FAILED (${[...new Set(result.failures.map((failure) => failure.check))].join(', ')})`;
  console.log(`\ndrill ${result.name}: ${verdict} in ${result.seconds.toFixed(0)} s`);
  console.log(`  fault: ${result.fault}`);
  for (const line of result.timeline) console.log(`  ${line}`);
  for (const failure of result.failures) console.log(`  ✗ ${failure.check}: ${failure.detail}`);
  for (const note of result.notes) console.log(`  · ${note}`);
  if (result.keptDir) console.log(`  logs kept in ${result.keptDir}/logs`);
}

/** The closing line: `drills: 11/11 survived; partial files seen 0; duplicates 0; lost 0; workers crashed 0`. */
export function summaryLine(results: readonly DrillResult[]): string {
  const total = (key: keyof DrillResult['counts']) => results.reduce((sum, result) => sum + result.counts[key], 0);
  const survived = results.filter((result) => result.survived).length;
  return `drills: ${survived}/${results.length} survived; partial files seen ${total('partialFilesSeen')}; duplicates ${total('duplicates')}; lost ${total('lost')}; workers crashed ${total('workersCrashed')}`;
}
