import { once } from 'node:events';
import { parseLogLevel, parseUiSettings } from '../../config/env.js';
import { createLogger } from '../../observability/logger.js';
import { connectTemporal } from '../../temporal/client.js';
import { startStatusServer } from '../../ui/server.js';
import { parseOptions } from '../args.js';
import { print, withDatabase, type CliContext } from '../context.js';

/** Serves the status page until SIGINT or SIGTERM. */
export async function uiCommand(args: readonly string[], context: CliContext): Promise<void> {
  parseOptions('ui', args, {});
  // Checked before anything connects: bound off loopback without a token, the page does not start.
  const settings = parseUiSettings(context.env);
  const temporal = await connectTemporal(context.env);
  try {
    await withDatabase(context, async ({ knex }) => {
      const logger = createLogger({ name: 'twoway-ui', level: parseLogLevel(context.env) });
      const server = await startStatusServer({ knex, temporal: temporal.client, namespace: temporal.namespace, settings, logger });
      print(context, `status page:       ${server.url}${settings.token ? '  (token required: TWOWAY_UI_TOKEN)' : ''}`);
      print(context, 'serving until Ctrl-C');
      await Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')]);
      await server.close();
      logger.flush();
    });
  } finally {
    await temporal.close();
  }
}
