import { WorkflowFailedError } from '@temporalio/client';
import { parseWorkDir } from '../../config/env.js';
import { describeError } from '../../domain/errors.js';
import { periodWorkflowId } from '../../domain/workflow-ids.js';
import { loadClient } from '../../db/clients.js';
import { runLateDataFacts } from '../../db/late-data.js';
import { checkClientDrift, listDriftClients, type ClientDriftCheck, type PeriodCheck } from '../../drift/check-drift.js';
import { describeRowChanges } from '../../notifications/webhook.js';
import { createSilentLogger } from '../../observability/logger.js';
import { connectTemporal } from '../../temporal/client.js';
import { startPeriodRun } from '../../temporal/period-runs.js';
import { describeFailure } from '../../workflows/failures.js';
import { parseDateOption, parseOptions } from '../args.js';
import { print, withDatabase, type CliContext } from '../context.js';
import { describeOutcome } from './run.js';

function driftLine(check: ClientDriftCheck, period: PeriodCheck): string {
  const drift = period.drift;
  if (!drift) throw new Error(`period ${period.periodStart} of client "${check.clientId}" has no drift to show`);
  const what =
    check.policy === 'restate' ? 'restating it as the next revision' : drift.newlyRecorded ? 'recorded; period.drifted queued' : 'recorded by an earlier check';
  return `${check.clientId}  ${check.frequency} ${period.periodStart}  r${period.revision}  drifted  ${drift.deliveredRowCount} → ${drift.rebuiltRowCount} rows  ${what}`;
}

/**
 * `drift [--client ID] [--since DATE]`: the drift check, run here and now (drift/check-drift.ts):
 * one line per drifted period; the periods of `restate` clients are then run forced on Temporal
 * (the reason `restated-for-drift`), waited for, and their new revisions shown.
 */
export async function driftCommand(args: readonly string[], context: CliContext): Promise<void> {
  const options = parseOptions('drift', args, { client: { type: 'string' }, since: { type: 'string' } });
  const since = options.since === undefined ? undefined : parseDateOption('since', options.since);
  const checks = await withDatabase(context, async ({ knex, url }) => {
    // An unknown client is an error, not an empty check.
    if (options.client) await loadClient(knex, options.client);
    const clientIds = options.client ? [options.client] : await listDriftClients(knex);
    const deps = { knex, databaseUrl: url, workDir: parseWorkDir(context.env), logger: createSilentLogger() };
    const done: ClientDriftCheck[] = [];
    for (const clientId of clientIds) done.push(await checkClientDrift(deps, clientId, since === undefined ? {} : { since }));
    return done;
  });
  for (const check of checks) {
    if (check.skipped) print(context, `${check.clientId}: not checked: ${check.skipped}`);
    for (const period of check.periods) if (period.drift) print(context, driftLine(check, period));
  }
  const periods = checks.flatMap((check) => check.periods);
  const count = (result: PeriodCheck['result']) => periods.filter((period) => period.result === result).length;
  const drifted = periods.filter((period) => period.drift).length;
  print(
    context,
    `checked ${periods.length} delivered periods of ${checks.filter((check) => !check.skipped).length} clients: ` +
      `${count('fingerprint-unchanged')} unchanged by fingerprint, ${periods.filter((period) => period.rebuilt).length} rebuilt, ` +
      `${drifted === 0 ? 'no drift' : `${drifted} drifted`}`,
  );
  const restates = checks.flatMap((check) => check.restate.map((periodStart) => ({ check, periodStart })));
  if (restates.length === 0) return;
  const temporal = await connectTemporal(context.env);
  try {
    for (const { check, periodStart } of restates) {
      const input = { clientId: check.clientId, frequency: check.frequency, periodStart, force: true, reason: 'restated-for-drift' as const };
      const workflowId = periodWorkflowId(input.clientId, input.frequency, periodStart);
      const handle = await startPeriodRun(temporal.client, input, (message) => context.stderr.write(`${message}\n`));
      context.stderr.write(`restating ${workflowId} (run ${handle.firstExecutionRunId}); waiting for it to finish…\n`);
      try {
        const outcome = await handle.result();
        const facts = await withDatabase(context, ({ knex }) => runLateDataFacts(knex, { workflowId, runId: handle.firstExecutionRunId }));
        const changes = outcome.status === 'delivered' && facts ? `  ${describeRowChanges(facts)}` : '';
        print(context, `${check.clientId}  ${check.frequency} ${periodStart}  restated  ${describeOutcome(outcome)}${changes}`);
      } catch (error) {
        throw new Error(`${workflowId} failed: ${error instanceof WorkflowFailedError ? describeFailure(error) : describeError(error)}`);
      }
    }
  } finally {
    await temporal.close();
  }
}
