import { DEMO_CLIENTS, clearClientData, seedClients, seedEvents } from '../../db/seed.js';
import { migrateLatest } from '../../db/knex.js';
import { MS_PER_DAY } from '../../domain/time-zone.js';
import { parseOptions, parseWholeNumberOption } from '../args.js';
import { print, withDatabase, type CliContext } from '../context.js';
import { createProgress } from '../progress.js';

const DEFAULT_EVENTS = 100_000;
const MAX_EVENTS = 100_000_000;
const DEFAULT_DAYS = 35;
const MAX_DAYS = 3_660;

/** Demo clients, agents, customers and N generated events over the last D days (replacing earlier demo data). */
export async function seedCommand(args: readonly string[], context: CliContext): Promise<void> {
  const options = parseOptions('seed', args, { events: { type: 'string' }, days: { type: 'string' } });
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
