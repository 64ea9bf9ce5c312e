import { UsageError } from '../domain/errors.js';
import type { CliContext } from './context.js';

/** A command returns nothing (exit 0) or, when it passes another program's status through, that status. */
type Command = (args: readonly string[], context: CliContext) => Promise<number | void>;

interface CommandSpec {
  /** One line per form of the command (the overview lists them). */
  readonly synopsis: readonly string[];
  readonly summary: string;
  /** Options and arguments, one per line: `--name VALUE   meaning`. */
  readonly options: readonly string[];
  readonly load: () => Promise<Command>;
}

const HELP_FLAGS = new Set(['--help', '-h']);

// Loaded on use: `render` should not pay for Temporal's and SSH's modules.
const COMMANDS: Readonly<Record<string, CommandSpec>> = {
  migrate: {
    synopsis: ['migrate'],
    summary: 'create or upgrade the schema',
    options: [],
    load: async () => (await import('./commands/migrate.js')).migrateCommand,
  },
  seed: {
    synopsis: ['seed [--events N] [--days D]'],
    summary: 'demo clients and N generated events over the last D days',
    options: ['--events N   events to generate (default 100000)', '--days D     days before now they spread over (default 35)'],
    load: async () => (await import('./commands/seed.js')).seedCommand,
  },
  render: {
    synopsis: ['render --client ID --period DATE [--frequency F] [--out-dir DIR]'],
    summary: "build one period's file locally (no Temporal, no delivery)",
    options: [
      '--client ID       the client (required)',
      '--period DATE     any day of the period, YYYY-MM-DD (required)',
      "--frequency F     daily, weekly or monthly (default: the client's)",
      '--out-dir DIR     where the file is written (default: the current folder)',
    ],
    load: async () => (await import('./commands/render.js')).renderCommand,
  },
  run: {
    synopsis: ['run --client ID --period DATE [--force] [--no-wait]'],
    summary: "run that period's workflow on Temporal, wait (showing retries) and print the outcome",
    options: [
      '--client ID     the client (required)',
      '--period DATE   any day of the period, YYYY-MM-DD (required)',
      '--force         build again and deliver a changed file as a new revision',
      '--no-wait       start the run, print its workflow id and run id, and exit',
    ],
    load: async () => (await import('./commands/run.js')).runCommand,
  },
  backfill: {
    synopsis: ['backfill --client ID --from DATE --to DATE [--frequency F] [--force] [--concurrency N] [--detach]'],
    summary: 'run every ended period in the range; follows progress unless --detach',
    options: [
      '--client ID        the client (required)',
      '--from DATE        first day of the range, YYYY-MM-DD (required)',
      '--to DATE          last day of the range, YYYY-MM-DD (required)',
      "--frequency F      daily, weekly or monthly (default: the client's)",
      '--force            rebuild delivered periods, delivering changed files as revisions',
      '--concurrency N    periods run at once',
      '--detach           start it, print its workflow id and exit',
    ],
    load: async () => (await import('./commands/backfill.js')).backfillCommand,
  },
  verify: {
    synopsis: ['verify --client ID --period DATE [--frequency F]'],
    summary: "prove a period's delivery: list and hash its files on the client's server, compare with the ledger (exit 1 on any mismatch)",
    options: [
      '--client ID       the client (required)',
      '--period DATE     any day of the period, YYYY-MM-DD (required)',
      "--frequency F     daily, weekly or monthly (default: the client's)",
      'prints one line per file: ok, missing (the ledger says delivered; a receiver may have picked it up), different (both sizes and sha256 shown) or unknown (not in the ledger: another revision, a leftover temporary upload)',
    ],
    load: async () => (await import('./commands/verify.js')).verifyCommand,
  },
  schedules: {
    synopsis: ['schedules sync', 'schedules list'],
    summary: 'keep one Temporal schedule per client; show next run times',
    options: ['sync   create, update or delete schedules to match the clients table', 'list   every schedule and its next run times'],
    load: async () => (await import('./commands/schedules.js')).schedulesCommand,
  },
  status: {
    synopsis: ['status [--client ID] [--limit N]'],
    summary: 'the ledger of period runs, newest first',
    options: ['--client ID   only this client (it must exist)', '--limit N     rows shown (default 30)'],
    load: async () => (await import('./commands/status.js')).statusCommand,
  },
  problems: {
    synopsis: ['problems [--client ID]'],
    summary: 'the failed list: every period late, missing or failed now, with since when and its last error',
    options: ['--client ID   only this client (it must exist)'],
    load: async () => (await import('./commands/problems.js')).problemsCommand,
  },
  'setup-namespace': {
    synopsis: ['setup-namespace'],
    summary:
      'register the search attributes the workflows set (TwowayClient, TwowayFrequency, TwowayPeriod) in TEMPORAL_NAMESPACE; once, before the first worker (Temporal Cloud: see the README)',
    options: [],
    load: async () => (await import('./commands/setup-namespace.js')).setupNamespaceCommand,
  },
  ui: {
    synopsis: ['ui'],
    summary: "serve the status page: every client's periods at a glance, rerun, repair, force, pause (stops on SIGINT/SIGTERM)",
    options: [
      'TWOWAY_UI_ADDRESS        host:port to serve on (default 127.0.0.1:8080); off loopback TWOWAY_UI_TOKEN is required',
      'TWOWAY_UI_TOKEN          token required on every request (Authorization: Bearer, or ?token= once)',
      "TWOWAY_TEMPORAL_UI_URL   the Temporal Web UI's address, for links to workflows",
    ],
    load: async () => (await import('./commands/ui.js')).uiCommand,
  },
  worker: {
    synopsis: ['worker'],
    summary: 'run a Temporal worker (stops on SIGINT/SIGTERM)',
    options: [],
    load: async () => (await import('./commands/worker.js')).workerCommand,
  },
  clients: {
    synopsis: [
      'clients list',
      'clients set --client ID --set PATH=VALUE [--unset PATH]',
      'clients add --client ID --name NAME [--set PATH=VALUE] [--unset PATH]',
      'clients enable --client ID',
      'clients disable --client ID',
    ],
    summary: "show clients' settings (secret references only); add, change, enable or disable one, saving only a valid result",
    options: [
      '--client ID          the client to add or change',
      "--name NAME          the new client's name (add)",
      '--set PATH=VALUE     set a setting (repeatable)',
      '--unset PATH         remove an optional setting (repeatable)',
    ],
    load: async () => (await import('./commands/clients.js')).clientsCommand,
  },
  demo: {
    synopsis: ['demo [--once] [--fresh] [--events N] [--days D]'],
    summary: 'the whole pipeline on embedded defaults, its state kept between starts',
    options: [
      '--once       in a scratch folder of its own: verify the delivered files, stop, delete it and exit',
      "--fresh      wipe the demo first: its folder (.data/demo/, with Temporal's temporal.db) and the demo clients' rows and ledger",
      '--events N   events to generate on a fresh start (default 20000)',
      '--days D     days before now they spread over (default 40)',
    ],
    load: async () => (await import('./commands/demo.js')).demoCommand,
  },
  temporal: {
    synopsis: ['temporal ARGS…'],
    summary: "the project's Temporal CLI with ARGS, on this project's TEMPORAL_* settings",
    options: ['ARGS   passed to the Temporal CLI as given (`twoway-report temporal help` shows its commands); its exit status is returned'],
    load: async () => (await import('./commands/temporal.js')).temporalCommand,
  },
};

export const COMMAND_NAMES: readonly string[] = Object.keys(COMMANDS);

const SYNOPSIS_WIDTH = 42;

const USAGE = [
  'usage: twoway-report <command> [options]',
  '',
  ...Object.values(COMMANDS).flatMap((spec) =>
    spec.synopsis.map((form, index) => {
      const summary = index === spec.synopsis.length - 1 ? spec.summary : '';
      if (!summary) return `  ${form}`;
      return form.length < SYNOPSIS_WIDTH ? `  ${form.padEnd(SYNOPSIS_WIDTH)}${summary}` : `  ${form}\n  ${' '.repeat(SYNOPSIS_WIDTH)}${summary}`;
    }),
  ),
  '',
  'twoway-report <command> --help shows one command and its options.',
  'environment: DATABASE_URL (default: embedded PostgreSQL in .data/), TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE',
  'exit status: 0 success, 1 failure (reason on stderr), 2 bad usage',
].join('\n');

function commandUsage(spec: CommandSpec): string {
  const lines = [...spec.synopsis.map((form, index) => `${index === 0 ? 'usage:' : '      '} twoway-report ${form}`), '', spec.summary];
  if (spec.options.length > 0) lines.push('', ...spec.options.map((option) => `  ${option}`));
  lines.push('', 'run `twoway-report help` for every command; exit status: 0 success, 1 failure (reason on stderr), 2 bad usage');
  return lines.join('\n');
}

/**
 * Whether the user asked for a command's help. The Temporal CLI has its own --help for each of
 * its commands, so `temporal` shows ours only when --help is all it was given.
 */
function wantsHelp(name: string, args: readonly string[]): boolean {
  if (name === 'temporal') return args.length === 1 && HELP_FLAGS.has(args[0] ?? '');
  return args.some((arg) => HELP_FLAGS.has(arg));
}

/** Runs one command line; returns the exit status. */
export async function runCli(argv: readonly string[], context: CliContext): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === 'help' || HELP_FLAGS.has(name)) {
    const topic = name === 'help' ? args[0] : undefined;
    const spec = topic === undefined ? undefined : COMMANDS[topic];
    if (topic !== undefined && !spec) {
      context.stderr.write(`twoway-report: help ${topic}: unknown command; allowed: ${COMMAND_NAMES.join(', ')}\n`);
      return 2;
    }
    context.stdout.write(`${topic && spec ? commandUsage(spec) : USAGE}\n`);
    return name === undefined ? 2 : 0;
  }
  const spec = COMMANDS[name];
  try {
    if (!spec) throw new UsageError(`unknown command "${name}"; allowed: ${COMMAND_NAMES.join(', ')}`);
    if (wantsHelp(name, args)) {
      context.stdout.write(`${commandUsage(spec)}\n`);
      return 0;
    }
    const command = await spec.load();
    return (await command(args, context)) ?? 0;
  } catch (error) {
    const message = (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, ' ');
    context.stderr.write(`twoway-report: ${message}\n`);
    if (error instanceof UsageError) {
      context.stderr.write(spec ? `run \`twoway-report ${name} --help\` for its usage\n` : 'run `twoway-report help` for usage\n');
      return 2;
    }
    return 1;
  }
}
