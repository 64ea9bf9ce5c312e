import { UsageError } from '../domain/errors.js';
import type { CliContext } from './context.js';

type Command = (args: readonly string[], context: CliContext) => Promise<void>;

const USAGE = `usage: twoway-report <command> [options]

  migrate                                   create or upgrade the schema
  seed [--events N] [--days D]              demo clients and N generated events over the last D days
  render --client ID --period DATE [--frequency F] [--out-dir DIR]
                                            build one period's file locally (no Temporal, no delivery)
  run --client ID --period DATE [--force]   run that period's workflow on Temporal, wait, print the outcome
  backfill --client ID --from DATE --to DATE [--frequency F] [--force] [--concurrency N] [--detach]
                                            run every period in the range; follows progress unless --detach
  schedules sync | schedules list           keep one Temporal schedule per client; show next run times
  status [--client ID] [--limit N]          the ledger of period runs, newest first
  worker                                    run a Temporal worker (stops on SIGINT/SIGTERM)
  demo [--once] [--events N] [--days D]    the whole pipeline on embedded defaults (--once: verify, stop, exit)
  clients list                              every client's settings (secret references only) or why they are invalid
  clients set --client ID --set PATH=VALUE [--unset PATH]
                                            change a client's settings; saved only when the result is valid

environment: DATABASE_URL (default: embedded PostgreSQL in .data/), TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE
exit status: 0 success, 1 failure (reason on stderr), 2 bad usage`;

// Loaded on use: `render` should not pay for Temporal's and SSH's modules.
const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  migrate: async () => (await import('./commands/migrate.js')).migrateCommand,
  seed: async () => (await import('./commands/seed.js')).seedCommand,
  render: async () => (await import('./commands/render.js')).renderCommand,
  run: async () => (await import('./commands/run.js')).runCommand,
  backfill: async () => (await import('./commands/backfill.js')).backfillCommand,
  schedules: async () => (await import('./commands/schedules.js')).schedulesCommand,
  status: async () => (await import('./commands/status.js')).statusCommand,
  worker: async () => (await import('./commands/worker.js')).workerCommand,
  clients: async () => (await import('./commands/clients.js')).clientsCommand,
  demo: async () => (await import('./commands/demo.js')).demoCommand,
};

export const COMMAND_NAMES: readonly string[] = Object.keys(COMMANDS);

/** Runs one command line; returns the exit status. */
export async function runCli(argv: readonly string[], context: CliContext): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    context.stdout.write(`${USAGE}\n`);
    return name === undefined ? 2 : 0;
  }
  const load = COMMANDS[name];
  try {
    if (!load) throw new UsageError(`unknown command "${name}"; allowed: ${Object.keys(COMMANDS).join(', ')}`);
    const command = await load();
    await command(args, context);
    return 0;
  } catch (error) {
    const message = (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, ' ');
    context.stderr.write(`twoway-report: ${message}\n`);
    if (error instanceof UsageError) {
      context.stderr.write('run `twoway-report help` for usage\n');
      return 2;
    }
    return 1;
  }
}
