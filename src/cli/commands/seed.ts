import { DEMO_CLIENTS, clearClientData, seedClients, seedEvents, seedLateEvents } from '../../db/seed.js';
import { UsageError } from '../../domain/errors.js';
import { planPeriodFile } from '../../report/period-file.js';
import { migrateLatest } from '../../db/knex.js';
import { MS_PER_DAY } from '../../domain/time-zone.js';
import { parseDateOption, parseOptions, parseWholeNumberOption, requireOption } from '../args.js';
import { print, withDatabase, type CliContext } from '../context.js';
import { createProgress } from '../progress.js';

const DEFAULT_EVENTS = 100_000;
const MAX_EVENTS = 100_000_000;
const DEFAULT_DAYS = 35;
const MAX_DAYS = 3_660;
const MAX_LATE_EVENTS = 100_000;

/** `seed --late --client ID --period DATE [--events N]`: N late events (default 1) in that period, received now; nothing else changes. */
async function seedLate(context: CliContext, options: { client?: string; period?: string; events?: string; days?: string }): Promise<void> {
  if (options.days !== undefined) throw new UsageError('seed --late: --days does not apply; the events go into the period of --period');
  const clientId = requireOption('seed --late', 'client', options.client);
  const date = parseDateOption('period', requireOption('seed --late', 'period', options.period));
  const count = options.events === undefined ? 1 : parseWholeNumberOption('events', options.events, 1, MAX_LATE_EVENTS);
  await withDatabase(context, async ({ knex }) => {
    const { client, period } = await planPeriodFile(knex, { clientId, date, purpose: 'render' });
    await seedLateEvents(knex, { clientId, from: period.startInstant, to: period.endInstant, count });
    print(context, `added ${count} late event${count === 1 ? '' : 's'} to ${clientId}'s ${client.frequency} period ${period.start}, received now`);
  });
}

/** Demo clients, agents, customers and N generated events over the last D days (replacing earlier demo data); or, with --late, late events. */
export async function seedCommand(args: readonly string[], context: CliContext): Promise<void> {
  const options = parseOptions('seed', args, {
    events: { type: 'string' },
    days: { type: 'string' },
    late: { type: 'boolean' },
    client: { type: 'string' },
    period: { type: 'string' },
  });
  if (options.late) return seedLate(context, options);
  if (options.client !== undefined || options.period !== undefined) throw new UsageError('seed: --client and --period go with --late');
  const events = options.events === undefined ? DEFAULT_EVENTS : parseWholeNumberOption('events', options.events, 0, MAX_EVENTS);
  const days = options.days === undefined ? DEFAULT_DAYS : parseWholeNumberOption('days', options.days, 1, MAX_DAYS);
  await withDatabase(context, async ({ knex }) => {
    await migrateLatest(knex);
    const clientIds = DEMO_CLIENTS.map((client) => client.id);
    await clearClientData(knex, clientIds);
    await seedClients(knex, DEMO_CLIENTS);
    const to = Date.now();
    const progress = createProgress('seed', 'events', events, context.stderr);
    await seedEvents(knex, { clientIds, from: to - days * MS_PER_DAY, to, count: events, onProgress: (done) => progress.update(done) });
    progress.finish();
    print(context, `seeded ${clientIds.length} clients (${clientIds.join(', ')}) with ${events.toLocaleString('en-US')} events over the last ${days} days`);
  });
}
