import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError, type WorkflowExecutionDescription, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { periodWorkflowId } from '../../domain/workflow-ids.js';
import { planPeriodFile } from '../../report/period-file.js';
import { connectTemporal, type TemporalClient } from '../../temporal/client.js';
import { startPeriodRun } from '../../temporal/period-runs.js';
import { describeFailure } from '../../workflows/failures.js';
import type { ReportPeriodOutcome, reportPeriodWorkflow } from '../../workflows/report-period-workflow.js';
import { parseDateOption, parseOptions, requireOption } from '../args.js';
import { print, withDatabase, type CliContext } from '../context.js';

/** How often a waiting `run` looks at the run's retries. */
const RETRY_POLL_INTERVAL_MS = 2_000;
/** A describe call without an answer by then is skipped; the next poll asks again. */
const DESCRIBE_TIMEOUT_MS = 5_000;

type PendingActivity = NonNullable<WorkflowExecutionDescription['raw']['pendingActivities']>[number];

/**
 * What the run's retrying steps are at, one step per part: the attempt and the last error.
 * Empty while every step is on its first, unfailed attempt: only retries are news.
 */
export function describeRetries(activities: readonly PendingActivity[]): string {
  return activities
    .filter((activity) => (activity.attempt ?? 1) > 1 || activity.lastFailure)
    .map((activity) => {
      const lastError = (activity.lastFailure?.message ?? '').split('\n')[0];
      return `${activity.activityType?.name ?? 'a step'} attempt ${activity.attempt ?? 1}${lastError ? `, last error: ${lastError}` : ''}`;
    })
    .join('; ');
}

export function describeOutcome(outcome: ReportPeriodOutcome): string {
  const file = `${outcome.fileName} (revision ${outcome.revision}): ${outcome.rowCount} rows, ${outcome.bytes} bytes, sha256 ${outcome.sha256}, remote path ${outcome.remotePath}`;
  switch (outcome.status) {
    case 'delivered':
      return `delivered ${file}`;
    case 'unchanged':
      return `unchanged, not delivered again: the file equals delivered ${file}`;
    case 'already-delivered':
      return `already delivered, nothing done (use --force to deliver a changed file as a revision): ${file}`;
  }
}

/**
 * Waits for the run's result; meanwhile, delivery may retry for up to a day, so each change in
 * its steps' attempts or last error is a line on stderr.
 */
async function waitShowingRetries(
  temporal: TemporalClient,
  handle: WorkflowHandleWithFirstExecutionRunId<typeof reportPeriodWorkflow>,
  context: CliContext,
  workflowId: string,
) {
  const result = handle.result();
  let finished = false;
  void result.then(
    () => (finished = true),
    () => (finished = true),
  );
  let shown = '';
  while (!finished) {
    // Not referenced: a finished run must not keep the process up for the rest of a poll.
    await Promise.race([result.catch(() => undefined), sleep(RETRY_POLL_INTERVAL_MS, undefined, { ref: false })]);
    if (finished) break;
    try {
      const description = await temporal.client.withDeadline(Date.now() + DESCRIBE_TIMEOUT_MS, () => handle.describe());
      const retries = describeRetries(description.raw.pendingActivities ?? []);
      if (retries && retries !== shown) context.stderr.write(`${workflowId} retrying: ${retries}\n`);
      shown = retries;
    } catch {
      // Showing retries is a courtesy; the result is what the command waits for.
    }
  }
  return result;
}

/** Runs one period's workflow on Temporal, waits for it (unless --no-wait) and prints what it did. */
export async function runCommand(args: readonly string[], context: CliContext): Promise<void> {
  const options = parseOptions('run', args, {
    client: { type: 'string' },
    period: { type: 'string' },
    force: { type: 'boolean' },
    'no-wait': { type: 'boolean' },
  });
  const clientId = requireOption('run', 'client', options.client);
  const date = parseDateOption('period', requireOption('run', 'period', options.period));
  const plan = await withDatabase(context, ({ knex }) => planPeriodFile(knex, { clientId, date, purpose: 'deliver' }));
  const input = { clientId, frequency: plan.client.frequency, periodStart: plan.period.start, force: options.force ?? false };
  const workflowId = periodWorkflowId(clientId, input.frequency, input.periodStart);
  const temporal = await connectTemporal(context.env);
  try {
    const handle = await startPeriodRun(temporal.client, input, (message) => context.stderr.write(`${message}\n`));
    if (options['no-wait']) {
      context.stderr.write(
        `started ${workflowId} (run ${handle.firstExecutionRunId}); not waiting: \`twoway-report status --client ${clientId}\` shows how it ends\n`,
      );
      print(context, `${workflowId} ${handle.firstExecutionRunId}`);
      return;
    }
    context.stderr.write(`running ${workflowId} (run ${handle.firstExecutionRunId}); waiting for it to finish…\n`);
    try {
      print(context, describeOutcome(await waitShowingRetries(temporal, handle, context, workflowId)));
    } catch (error) {
      if (error instanceof WorkflowFailedError) throw new Error(`${workflowId} failed: ${describeFailure(error)}`);
      throw error;
    }
  } finally {
    await temporal.close();
  }
}
