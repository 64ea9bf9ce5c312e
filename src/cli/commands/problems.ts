import { parseWatchSettings } from '../../config/env.js';
import { ClientNotFoundError } from '../../domain/errors.js';
import { isProblemState, PROBLEM_STATES, type ProblemState } from '../../domain/period-states.js';
import { connectTemporal, type TemporalClient } from '../../temporal/client.js';
import { assessClients, type WatchedPeriod } from '../../watchdog/assess-clients.js';
import { parseOptions } from '../args.js';
import { print, withDatabase, type CliContext } from '../context.js';

const iso = (instant: number) => new Date(instant).toISOString().replace(/\.000Z$/, 'Z');

function line(clientId: string, watched: WatchedPeriod): string {
  const { period, assessment, run } = watched;
  const error = assessment.state === 'failed' && assessment.error ? `  ${run?.errorType ? `${run.errorType}: ` : ''}${assessment.error}` : '';
  const workflow = assessment.workflowId ? `  ${assessment.workflowId}` : '';
  return `${clientId}  ${period.frequency} ${period.start}  ${assessment.state.padEnd(7)}  since ${iso(assessment.since)}  due ${iso(assessment.dueAt)}${workflow}${error}`;
}

/**
 * The failed list: every period that needs action now (late, missing, failed), judged from the
 * ledger and Temporal at this moment, so a period leaves it as soon as any run delivers it.
 */
export async function problemsCommand(args: readonly string[], context: CliContext): Promise<void> {
  const options = parseOptions('problems', args, { client: { type: 'string' } });
  const watch = parseWatchSettings(context.env);
  let temporal: TemporalClient | null = null;
  try {
    temporal = await connectTemporal(context.env);
  } catch (error) {
    print(context, `note: ${error instanceof Error ? error.message : String(error)}; judged from the ledger only`);
  }
  try {
    await withDatabase(context, async ({ knex }) => {
      if (options.client && !(await knex('clients').where({ id: options.client }).first('id'))) throw new ClientNotFoundError(options.client);
      const views = await assessClients(
        { knex, temporal: temporal?.client ?? null, scheduleTime: watch.scheduleTime, defaultDue: watch.defaultDue },
        Date.now(),
        {
          ...(options.client ? { clientId: options.client } : {}),
          createWatch: false,
        },
      );
      const counts: Record<ProblemState, number> = { late: 0, missing: 0, failed: 0 };
      for (const view of views) {
        if (!view.watched) {
          if (view.needsAttention) print(context, `${view.clientId}  not watched: ${view.reason}`);
          continue;
        }
        for (const watched of view.periods) {
          const state = watched.assessment.state;
          if (!isProblemState(state)) continue;
          counts[state] += 1;
          print(context, line(view.clientId, watched));
        }
      }
      const total = PROBLEM_STATES.reduce((sum, state) => sum + counts[state], 0);
      const parts = PROBLEM_STATES.filter((state) => counts[state] > 0).map((state) => `${counts[state]} ${state}`);
      print(context, total === 0 ? 'no periods need action' : `${total} period${total === 1 ? '' : 's'} need action (${parts.join(', ')})`);
    });
  } finally {
    await temporal?.close();
  }
}
