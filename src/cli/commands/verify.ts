import { parseSftpTimeouts } from '../../config/env.js';
import { requireDelivery } from '../../domain/client-config.js';
import { listPeriodFiles } from '../../db/report-files.js';
import { verifyPeriodDelivery } from '../../delivery/period-verifier.js';
import { planPeriodFile } from '../../report/period-file.js';
import { parseDateOption, parseFrequencyOption, parseOptions, requireOption } from '../args.js';
import { print, withDatabase, type CliContext } from '../context.js';

/** The widest verdict (`different`), so that the paths line up. */
const VERDICT_WIDTH = 9;

/**
 * Lists and hashes what the client's server holds of one period and compares it with the
 * ledger, one line per file; exit 1 on any line that is not `ok`. Secret references are
 * resolved here, in this process, as the worker resolves them.
 */
export async function verifyCommand(args: readonly string[], context: CliContext): Promise<number> {
  const options = parseOptions('verify', args, { client: { type: 'string' }, period: { type: 'string' }, frequency: { type: 'string' } });
  const clientId = requireOption('verify', 'client', options.client);
  const date = parseDateOption('period', requireOption('verify', 'period', options.period));
  const frequency = options.frequency === undefined ? undefined : parseFrequencyOption(options.frequency);
  const sftpTimeouts = parseSftpTimeouts(context.env);
  const { plan, files } = await withDatabase(context, async ({ knex }) => {
    // 'render': a disabled client's delivered files can still be checked.
    const plan = await planPeriodFile(knex, { clientId, frequency, date, purpose: 'render' });
    const files = await listPeriodFiles(knex, { clientId, frequency: plan.period.frequency, periodStart: plan.period.start });
    return { plan, files };
  });
  const settings = requireDelivery(plan.client);
  const lines = await verifyPeriodDelivery({ clientId, settings, baseFileName: plan.fileName, files }, { env: context.env, ...sftpTimeouts });
  const where = `${clientId} ${plan.period.frequency} ${plan.period.start} on ${settings.host}:${settings.port}`;
  if (lines.length === 0) {
    print(context, `no files: the ledger has no delivered revision of ${where}, and the server holds no file of it`);
    return 0;
  }
  for (const line of lines) print(context, `${line.verdict.padEnd(VERDICT_WIDTH)} ${line.path}  ${line.detail}`);
  const mismatches = lines.filter((line) => line.verdict !== 'ok');
  if (mismatches.length === 0) return 0;
  const counts = (['missing', 'different', 'unknown'] as const)
    .map((verdict) => [verdict, mismatches.filter((line) => line.verdict === verdict).length] as const)
    .filter(([, count]) => count > 0)
    .map(([verdict, count]) => `${count} ${verdict}`);
  context.stderr.write(`twoway-report: ${where}: ${mismatches.length} of ${lines.length} files do not match the ledger (${counts.join(', ')})\n`);
  return 1;
}
