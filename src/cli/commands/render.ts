import { resolve } from 'node:path';
import { countPeriodEvents } from '../../db/period-events.js';
import { buildPlannedFile, planPeriodFile } from '../../report/period-file.js';
import { parseDateOption, parseFrequencyOption, parseOptions, requireOption } from '../args.js';
import { print, withDatabase, type CliContext } from '../context.js';
import { createProgress } from '../progress.js';

/** Builds one period's file locally with the workflow's own code; no Temporal, no delivery. */
export async function renderCommand(args: readonly string[], context: CliContext): Promise<void> {
  const options = parseOptions('render', args, {
    client: { type: 'string' },
    period: { type: 'string' },
    frequency: { type: 'string' },
    'out-dir': { type: 'string' },
  });
  const clientId = requireOption('render', 'client', options.client);
  const date = parseDateOption('period', requireOption('render', 'period', options.period));
  const frequency = options.frequency === undefined ? undefined : parseFrequencyOption(options.frequency);
  const outDir = resolve(options['out-dir'] ?? '.');
  await withDatabase(context, async ({ knex, url }) => {
    const plan = await planPeriodFile(knex, { clientId, frequency, date, purpose: 'render' });
    const query = { clientId, startInstant: plan.period.startInstant, endInstant: plan.period.endInstant };
    // Counting costs an index scan; only worth it when someone watches the bar.
    const total = context.stderr.isTTY ? await countPeriodEvents(knex, query) : null;
    const progress = createProgress(`render ${plan.fileName}`, 'rows', total, context.stderr);
    const built = await buildPlannedFile(url, plan, outDir, { onProgress: (rows) => progress.update(rows) });
    progress.finish();
    print(context, `${built.path}: ${built.rowCount} rows, ${built.bytes} bytes, sha256 ${built.sha256}`);
  });
}
