import { migrateLatest } from '../../db/knex.js';
import { parseOptions } from '../args.js';
import { print, withDatabase, type CliContext } from '../context.js';

export async function migrateCommand(args: readonly string[], context: CliContext): Promise<void> {
  parseOptions('migrate', args, {});
  await withDatabase(context, async ({ knex }) => {
    const applied = await migrateLatest(knex);
    print(context, applied.length === 0 ? 'schema is up to date' : `applied ${applied.join(', ')}`);
  });
}
