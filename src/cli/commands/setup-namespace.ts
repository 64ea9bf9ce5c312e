import { ensureSearchAttributes } from '../../temporal/search-attributes-setup.js';
import { connectTemporal } from '../../temporal/client.js';
import { parseOptions } from '../args.js';
import { print, type CliContext } from '../context.js';

/** Registers the project's search attributes in TEMPORAL_NAMESPACE (once per namespace, before the first worker). */
export async function setupNamespaceCommand(args: readonly string[], context: CliContext): Promise<void> {
  parseOptions('setup-namespace', args, {});
  const temporal = await connectTemporal(context.env);
  try {
    const added = await ensureSearchAttributes(temporal.client.connection, temporal.namespace);
    print(
      context,
      added.length > 0
        ? `added search attributes ${added.join(', ')} to namespace ${temporal.namespace}`
        : `namespace ${temporal.namespace} has every search attribute already`,
    );
  } finally {
    await temporal.close();
  }
}
