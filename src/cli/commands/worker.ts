import { runWorkerProcess } from '../../worker.js';
import { parseOptions } from '../args.js';
import type { CliContext } from '../context.js';

export async function workerCommand(args: readonly string[], context: CliContext): Promise<void> {
  parseOptions('worker', args, {});
  await runWorkerProcess(context.env);
}
