import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowIdConflictPolicy } from '@temporalio/common';
import { assertReportable } from '../../domain/client-config.js';
import { UsageError } from '../../domain/errors.js';
import { backfillWorkflowId, TASK_QUEUE } from '../../domain/workflow-ids.js';
import { loadClient } from '../../db/clients.js';
import { connectTemporal } from '../../temporal/client.js';
import {
  DEFAULT_BACKFILL_CONCURRENCY,
  MAX_BACKFILL_CONCURRENCY,
  type BackfillProgress,
  type backfillReportsWorkflow,
} from '../../workflows/backfill-reports-workflow.js';
import { clientSearchAttributes } from '../../workflows/search-attributes.js';
import { parseDateOption, parseFrequencyOption, parseOptions, parseWholeNumberOption, requireOption } from '../args.js';
import { print, withDatabase, type CliContext } from '../context.js';
import { createProgress } from '../progress.js';

const POLL_INTERVAL_MS = 1_000;

export function describeBackfill(progress: BackfillProgress): string[] {
  const lines = [
    `backfill of ${progress.clientId} (${progress.frequency}): ${progress.done}/${progress.total} periods — ${progress.delivered} delivered, ${progress.unchanged} unchanged, ${progress.skipped} skipped, ${progress.failed} failed`,
  ];
  for (const failure of progress.failures) lines.push(`  failed ${failure.periodStart}: ${failure.reason}`);
  return lines;
}

/** Starts a backfill workflow and, unless --detach, follows its progress to the end. */
export async function backfillCommand(args: readonly string[], context: CliContext): Promise<void> {
  const options = parseOptions('backfill', args, {
    client: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    frequency: { type: 'string' },
    force: { type: 'boolean' },
    concurrency: { type: 'string' },
    detach: { type: 'boolean' },
  });
  const clientId = requireOption('backfill', 'client', options.client);
  const from = parseDateOption('from', requireOption('backfill', 'from', options.from));
  const to = parseDateOption('to', requireOption('backfill', 'to', options.to));
  if (from > to) throw new UsageError(`--from ${from} is after --to ${to}; allowed: --from on or before --to`);
  const concurrency = options.concurrency === undefined ? DEFAULT_BACKFILL_CONCURRENCY : parseWholeNumberOption('concurrency', options.concurrency, 1, MAX_BACKFILL_CONCURRENCY);
  const client = await withDatabase(context, ({ knex }) => loadClient(knex, clientId));
  assertReportable(client, 'deliver');
  const frequency = options.frequency === undefined ? client.frequency : parseFrequencyOption(options.frequency);
  const workflowId = backfillWorkflowId(clientId, frequency, from, to);
  const temporal = await connectTemporal(context.env);
  try {
    const handle = await temporal.client.workflow.start<typeof backfillReportsWorkflow>('backfillReportsWorkflow', {
      taskQueue: TASK_QUEUE,
      workflowId,
      args: [{ clientId, from, to, frequency, force: options.force ?? false, concurrency }],
      typedSearchAttributes: clientSearchAttributes(clientId, frequency),
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    });
    context.stderr.write(`backfill ${workflowId} started\n`);
    if (options.detach) {
      print(context, workflowId);
      return;
    }
    const result = handle.result();
    let finished = false;
    void result.then(
      () => (finished = true),
      () => (finished = true),
    );
    const bar = createProgress(`backfill ${clientId}`, 'periods', null, context.stderr);
    while (!finished) {
      try {
        const progress = await handle.query<BackfillProgress>('progress');
        bar.setTotal(progress.total);
        bar.update(progress.done);
      } catch {
        // Between continue-as-new runs the query has no run to answer; ask again.
      }
      await Promise.race([result.catch(() => undefined), sleep(POLL_INTERVAL_MS)]);
    }
    const summary = await result;
    bar.update(summary.done);
    bar.finish();
    for (const line of describeBackfill(summary)) print(context, line);
    if (summary.failed > 0) throw new Error(`${summary.failed} of ${summary.total} periods failed; each is a failed workflow in the Temporal UI (TwowayClient = "${clientId}")`);
  } finally {
    await temporal.close();
  }
}
