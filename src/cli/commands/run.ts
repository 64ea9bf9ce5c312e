import { WorkflowFailedError } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import { periodWorkflowId, TASK_QUEUE } from '../../domain/workflow-ids.js';
import { planPeriodFile } from '../../report/period-file.js';
import { connectTemporal } from '../../temporal/client.js';
import { describeFailure } from '../../workflows/failures.js';
import type { ReportPeriodOutcome, reportPeriodWorkflow } from '../../workflows/report-period-workflow.js';
import { periodSearchAttributes } from '../../workflows/search-attributes.js';
import { parseDateOption, parseOptions, requireOption } from '../args.js';
import { print, withDatabase, type CliContext } from '../context.js';

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

/** Runs one period's workflow on Temporal, waits for it and prints what it did. */
export async function runCommand(args: readonly string[], context: CliContext): Promise<void> {
  const options = parseOptions('run', args, { client: { type: 'string' }, period: { type: 'string' }, force: { type: 'boolean' } });
  const clientId = requireOption('run', 'client', options.client);
  const date = parseDateOption('period', requireOption('run', 'period', options.period));
  const plan = await withDatabase(context, ({ knex }) => planPeriodFile(knex, { clientId, date, purpose: 'deliver' }));
  const input = { clientId, frequency: plan.client.frequency, periodStart: plan.period.start, force: options.force ?? false };
  const workflowId = periodWorkflowId(clientId, input.frequency, input.periodStart);
  const temporal = await connectTemporal(context.env);
  try {
    const handle = await temporal.client.workflow.start<typeof reportPeriodWorkflow>('reportPeriodWorkflow', {
      taskQueue: TASK_QUEUE,
      workflowId,
      args: [input],
      typedSearchAttributes: periodSearchAttributes(clientId, input.frequency, input.periodStart),
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      // A run of this period already in progress (a schedule, a backfill) is joined, not duplicated.
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    });
    context.stderr.write(`running ${workflowId} (run ${handle.firstExecutionRunId}); waiting for it to finish…\n`);
    try {
      print(context, describeOutcome(await handle.result()));
    } catch (error) {
      if (error instanceof WorkflowFailedError) {
        throw new Error(`${workflowId} failed: ${describeFailure(error)}`);
      }
      throw error;
    }
  } finally {
    await temporal.close();
  }
}
