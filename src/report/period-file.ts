import { join } from 'node:path';
import type { Knex } from 'knex';
import { assertReportable } from '../domain/client-config.js';
import { reportFileName } from '../domain/file-name.js';
import { periodContaining } from '../domain/periods.js';
import type { ClientConfig, Frequency, LocalDate, Period } from '../domain/types.js';
import { loadClient } from '../db/clients.js';
import { buildReportFile, type BuildDatabase, type BuildReportOptions, type FingerprintedFile } from './build-report.js';

/** What one period's file is: the client's checked settings, the period and the file's name. */
export interface PeriodFilePlan {
  readonly client: ClientConfig;
  readonly period: Period;
  /** Name of revision 1; later revisions derive theirs with revisionFileName. */
  readonly fileName: string;
}

/**
 * Loads and checks the client and works out the period containing `date` (a local date in
 * the client's zone) and the file's name. Shared by `render` and the workflow's activities.
 */
export async function planPeriodFile(
  knex: Knex,
  request: { readonly clientId: string; readonly frequency?: Frequency | undefined; readonly date: LocalDate; readonly purpose: 'render' | 'deliver' },
): Promise<PeriodFilePlan> {
  const client = await loadClient(knex, request.clientId);
  assertReportable(client, request.purpose);
  const frequency = request.frequency ?? client.frequency;
  const period = periodContaining(frequency, request.date, client.timeZone);
  const fileName = reportFileName(client.fileNameTemplate, { clientId: client.id, frequency, period });
  return { client, period, fileName };
}

/**
 * Builds the planned file inside `outDir`, under the period's file name. A revision's name
 * (`…_r2.csv`) is given at delivery: the bytes are the same whatever revision they become.
 */
export function buildPlannedFile(database: BuildDatabase, plan: PeriodFilePlan, outDir: string, options: BuildReportOptions = {}): Promise<FingerprintedFile> {
  const outputPath = join(outDir, plan.fileName);
  return buildReportFile(database, { client: plan.client, period: plan.period, outputPath }, options);
}
