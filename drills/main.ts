/**
 * `npm run drills`: every fault drill against real processes on this machine, one after the
 * other, each on a fresh stack of its own. Ends with one summary line; exit status 0 only when
 * every drill survived, 1 when one did not, 2 for bad usage.
 */
import { parseArgs } from 'node:util';
import { DRILLS } from './catalog.js';
import { runDrill, type DrillResult } from './run-drill.js';
import { printResult, summaryLine } from './summary.js';

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
const EXIT_INTERRUPTED = 130;

const USAGE = `usage: npm run drills -- [--only NAME]... [--keep-logs] [--list]

  --only NAME   run only this drill; repeatable (default: all ${DRILLS.length})
  --keep-logs   keep every drill's logs (default: only those of drills that did not survive)
  --list        print the drills and what each does, run nothing

drills: ${DRILLS.map((drill) => drill.name).join(', ')}`;

function parse(argv: readonly string[]): { names: string[]; list: boolean; keepLogs: boolean } {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: { only: { type: 'string', multiple: true }, 'keep-logs': { type: 'boolean' }, list: { type: 'boolean' }, help: { type: 'boolean' } },
  });
  if (values.help) throw new Error('help');
  const names = values.only ?? [];
  for (const name of names) {
    if (!DRILLS.some((drill) => drill.name === name)) throw new Error(`--only is "${name}"; allowed: ${DRILLS.map((drill) => drill.name).join(', ')}`);
  }
  return { names, list: values.list ?? false, keepLogs: values['keep-logs'] ?? false };
}

async function main(): Promise<number> {
  let options;
  try {
    options = parse(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof Error && error.message === 'help')) console.error(error instanceof Error ? error.message : String(error));
    console.error(USAGE);
    return EXIT_USAGE;
  }
  const chosen = options.names.length === 0 ? DRILLS : DRILLS.filter((drill) => options.names.includes(drill.name));
  if (options.list) {
    for (const drill of chosen) console.log(`${drill.name}: ${drill.fault}`);
    return 0;
  }
  // Ctrl-C stops the running drill, which cleans up its processes; a second one exits at once
  // (the exit handlers of sshd, PostgreSQL, Temporal and the workers still end them).
  const interrupt = new AbortController();
  const onSigint = () => {
    if (interrupt.signal.aborted) process.exit(EXIT_INTERRUPTED);
    console.error('\ninterrupted: cleaning up the current drill (Ctrl-C again to exit at once)');
    interrupt.abort(new Error('interrupted'));
  };
  process.on('SIGINT', onSigint);
  const results: DrillResult[] = [];
  for (const drill of chosen) {
    if (interrupt.signal.aborted) break;
    console.log(`\n=== ${drill.name} ===`);
    const result = await runDrill(drill, { signal: interrupt.signal, keepLogs: options.keepLogs ? 'always' : 'failed' });
    results.push(result);
    printResult(result);
  }
  process.removeListener('SIGINT', onSigint);
  console.log('');
  for (const result of results)
    console.log(`${result.survived ? 'survived' : 'FAILED  '}  ${result.name.padEnd(38)} ${result.seconds.toFixed(0).padStart(4)} s`);
  console.log(summaryLine(results));
  if (interrupt.signal.aborted) return EXIT_INTERRUPTED;
  return results.every((result) => result.survived) && results.length === chosen.length ? 0 : EXIT_FAILED;
}

process.exitCode = await main();
