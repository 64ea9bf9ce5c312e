import { runDemo } from '../../devstack/demo.js';
import { parseOptions, parseWholeNumberOption } from '../args.js';
import { print, type CliContext } from '../context.js';

const DEFAULT_EVENTS = 20_000;
const DEFAULT_DAYS = 40;

/** `demo [--once] [--fresh] [--events N] [--days D]`: the whole pipeline on embedded defaults. */
export async function demoCommand(args: readonly string[], context: CliContext): Promise<void> {
  const options = parseOptions('demo', args, { once: { type: 'boolean' }, fresh: { type: 'boolean' }, events: { type: 'string' }, days: { type: 'string' } });
  const ok = await runDemo({
    once: options.once ?? false,
    fresh: options.fresh ?? false,
    events: options.events === undefined ? DEFAULT_EVENTS : parseWholeNumberOption('events', options.events, 0, 10_000_000),
    days: options.days === undefined ? DEFAULT_DAYS : parseWholeNumberOption('days', options.days, 1, 3_660),
    env: context.env,
    out: (line) => print(context, line),
    progress: context.stderr,
  });
  if (!ok) throw new Error('demo: a delivered file did not verify (see the FAIL lines above)');
}
