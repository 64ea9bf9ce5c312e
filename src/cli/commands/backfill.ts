import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError } from '@temporalio/client';
import { assertBackfillRange } from '../../domain/backfill-range.js';
import { assertReportable } from '../../domain/client-config.js';
import { UsageError } from '../../domain/errors.js';
import { backfillWorkflowId } from '../../domain/workflow-ids.js';
import { loadClient } from '../../db/clients.js';
import { connectTemporal } from '../../temporal/client.js';
import { startBackfill } from '../../temporal/period-runs.js';
import { DEFAULT_BACKFILL_CONCURRENCY, MAX_BACKFILL_CONCURRENCY, type BackfillProgress } from '../../workflows/backfill-reports-workflow.js';
import { describeFailure } from '../../workflows/failures.js';
import { parseDateOption, parseFrequencyOption, parseOptions, parseWholeNumberOption, requireOption } from '../args.js';
import { print, withDatabase, type CliContext } from '../context.js';
import { createProgress } from '../progress.js';

const POLL_INTERVAL_MS = 1_000;
/** A progress query without an answer by then counts as failed (unbounded, one waits 30 s for a worker). */
const QUERY_TIMEOUT_MS = 5_000;
/**
 * Progress queries failing this many times in a row end the command: more than the moment
 * between continue-as-new runs, when no run answers; a backfill whose queries keep failing
 * is stuck or has no worker.
 */
const MAX_FAILED_QUERIES = 3;

function clampNote(clampedTo: string): string {
  return `periods after ${clampedTo} had not ended when the backfill started and are left out`;
}

export function describeBackfill(progress: BackfillProgress): string[] {
  const lines = [
    `backfill of ${progress.clientId} (${progress.frequency}): ${progress.done}/${progress.total} periods — ${progress.delivered} delivered, ${progress.unchanged} unchanged, ${progress.skipped} skipped, ${progress.failed} failed`,
  ];
  if (progress.clampedTo) lines.push(`  ${clampNote(progress.clampedTo)}`);
  for (const failure of progress.failures) lines.push(`  failed ${failure.periodStart}: ${failure.reason}`);
  return lines;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
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
  const concurrency =
    options.concurrency === undefined ? DEFAULT_BACKFILL_CONCURRENCY : parseWholeNumberOption('concurrency', options.concurrency, 1, MAX_BACKFILL_CONCURRENCY);
  const client = await withDatabase(context, ({ knex }) => loadClient(knex, clientId));
  assertReportable(client, 'deliver');
  const frequency = options.frequency === undefined ? client.frequency : parseFrequencyOption(options.frequency);
  // Refused here, before anything starts; the workflow refuses it too.
  assertBackfillRange(frequency, from, to);
  const workflowId = backfillWorkflowId(clientId, frequency, from, to);
  const temporal = await connectTemporal(context.env);
  try {
    const handle = await startBackfill(temporal.client, { clientId, from, to, frequency, force: options.force ?? false, concurrency });
    context.stderr.write(`backfill ${workflowId} started\n`);
    if (options.detach) {
      print(context, workflowId);
      return;
    }
    // Aborted when the command gives up, so no call is left running when the connection closes.
    const following = new AbortController();
    const result = temporal.client.withAbortSignal(following.signal, () => handle.result());
    let finished = false;
    void result.then(
      () => (finished = true),
      () => (finished = true),
    );
    const bar = createProgress(`backfill ${clientId}`, 'periods', null, context.stderr);
    let failedQueries = 0;
    let clampShown = false;
    while (!finished) {
      try {
        const progress = await temporal.client.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () => handle.query<BackfillProgress>('progress'));
        failedQueries = 0;
        if (progress.clampedTo && !clampShown) {
          clampShown = true;
          context.stderr.write(`backfill ${clientId}: --to ${to} reaches past the periods that have ended; ${clampNote(progress.clampedTo)}\n`);
        }
        bar.setTotal(progress.total);
        bar.update(progress.done);
      } catch (error) {
        // Between continue-as-new runs no run answers; ask again, but not forever.
        if (!finished && ++failedQueries >= MAX_FAILED_QUERIES) {
          following.abort();
          throw new Error(
            `backfill ${workflowId}: ${failedQueries} progress queries in a row failed (last: ${firstLine(error)}); it is stuck or has no worker — look at it in the Temporal UI`,
          );
        }
      }
      await Promise.race([result.catch(() => undefined), sleep(POLL_INTERVAL_MS)]);
    }
    let summary: BackfillProgress;
    try {
      summary = await result;
    } catch (error) {
      if (error instanceof WorkflowFailedError) throw new Error(`backfill ${workflowId} failed: ${describeFailure(error)}`);
      throw error;
    }
    // A backfill can end before any progress query answered: the summary carries the total too.
    bar.setTotal(summary.total);
    bar.update(summary.done);
    bar.finish();
    for (const line of describeBackfill(summary)) print(context, line);
    if (summary.failed > 0)
      throw new Error(`${summary.failed} of ${summary.total} periods failed; each is a failed workflow in the Temporal UI (TwowayClient = "${clientId}")`);
  } finally {
    await temporal.close();
  }
}
