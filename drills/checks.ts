/**
 * What every drill must leave behind, checked the same way after each: what the receiver saw
 * (never a partial file under a final name), what is in the folder (one file per period and
 * revision plus documented companions, no temporary files), its bytes (equal to `render`'s, or
 * to what the ledger recorded when the drill changed the data), the ledger (delivered once), no
 * secret anywhere, and every worker not killed on purpose still running.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { revisionFileName } from '../src/domain/file-name.js';
import type { LedgerRow } from '../src/db/ledger.js';
import type { LocalDate } from '../src/domain/types.js';
import type { DrillStack } from './stack.js';
import { CLIENT_ID } from './stack.js';

export type CheckName = 'partial' | 'duplicates' | 'missing' | 'bytes' | 'ledger' | 'temporary' | 'secrets' | 'workers' | 'outcome';

export interface FailedCheck {
  readonly check: CheckName;
  readonly detail: string;
}

/** What one period should end with. */
export interface PeriodExpectation {
  readonly periodStart: LocalDate;
  /** Final name of revision 1. */
  readonly fileName: string;
  /** Revisions the drill forced (1 unless it reran with --force on changed data). */
  readonly revisions: number;
  /**
   * `render`: the delivered bytes must equal what `render` builds from the data now.
   * `ledger`: the drill changed the data after (or while) a file went out, so the delivered
   * bytes must equal the sha256 the ledger recorded instead.
   */
  readonly compareWith: 'render' | 'ledger';
}

export interface CheckCounts {
  partialFilesSeen: number;
  duplicates: number;
  lost: number;
  workersCrashed: number;
}

export interface CheckResult {
  readonly failures: FailedCheck[];
  readonly counts: CheckCounts;
  readonly notes: string[];
}

const CHECKSUM_SUFFIX = '.sha256';
const TEMPORARY_PATTERN = /^\..*\.part$/;

async function sha256Of(path: string): Promise<{ sha256: string; bytes: number } | null> {
  try {
    const bytes = await readFile(path);
    return { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
  } catch {
    return null;
  }
}

async function ledgerRows(knex: Knex, periodStart: LocalDate): Promise<LedgerRow[]> {
  return (await knex('report_runs').where({ client_id: CLIENT_ID, period_start: periodStart }).orderBy('id')) as LedgerRow[];
}

interface FileRow {
  readonly revision: number;
  readonly status: string;
  readonly remote_path: string;
  readonly temporary_path: string | null;
  readonly delivered_sha256: string;
  readonly note: string | null;
}

/** The period's rows in `report_files` (one per revision), or null where the schema has no such table. */
async function reportFiles(knex: Knex, periodStart: LocalDate): Promise<FileRow[] | null> {
  if (!(await knex.schema.hasTable('report_files'))) return null;
  return (await knex('report_files').where({ client_id: CLIENT_ID, period_start: periodStart }).orderBy('revision')) as FileRow[];
}

/** `render` of the period into the drill's folder, as an operator would: its sha256 and size. */
async function renderNow(stack: DrillStack, periodStart: LocalDate): Promise<{ sha256: string; bytes: number } | string> {
  const render = stack.cli(['render', '--client', CLIENT_ID, '--period', periodStart, '--out-dir', join(stack.dir, 'render', periodStart)]);
  const exit = await render.exited;
  const output = render.output();
  const match = /: (\d+) rows, (\d+) bytes, sha256 ([0-9a-f]{64})/.exec(output);
  if (exit.code !== 0 || !match) return `render exited with ${exit.signal ?? `status ${exit.code}`}: ${output.trim().split('\n').slice(-3).join(' | ')}`;
  return { bytes: Number(match[2]), sha256: match[3] as string };
}

/** Every workflow history of the drill's namespace, payloads decoded, as one text. */
async function historiesText(stack: DrillStack): Promise<{ text: string; count: number }> {
  const parts: string[] = [];
  for await (const execution of stack.temporal.client.workflow.list()) {
    const history = await stack.temporal.client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
    parts.push(
      JSON.stringify(history, function (this: Record<string, unknown>, key: string, value: unknown) {
        const raw = this[key];
        if (raw instanceof Uint8Array) return Buffer.from(raw).toString('utf8');
        // Histories given as proto JSON carry payload bytes as base64.
        if (key === 'data' && typeof value === 'string') return `${value} ${Buffer.from(value, 'base64').toString('utf8')}`;
        return value;
      }),
    );
  }
  return { text: parts.join('\n'), count: parts.length };
}

/** The text with every secret (and its base64 form) replaced, for anything the drills print. */
export function redactSecrets(secrets: readonly string[], text: string): string {
  let redacted = text;
  for (const secret of secrets) redacted = redacted.split(secret).join('[secret]').split(Buffer.from(secret).toString('base64')).join('[secret]');
  return redacted;
}

function findSecrets(secrets: readonly string[], text: string): boolean {
  return secrets.some((secret) => text.includes(secret) || text.includes(Buffer.from(secret).toString('base64')));
}

export async function checkDrill(stack: DrillStack, periods: readonly PeriodExpectation[]): Promise<CheckResult> {
  const failures: FailedCheck[] = [];
  const notes: string[] = [];
  const counts: CheckCounts = { partialFilesSeen: 0, duplicates: 0, lost: 0, workersCrashed: 0 };
  const fail = (check: CheckName, detail: string) => failures.push({ check, detail });

  await stack.poller.scanNow();
  const folderNow = new Map<string, number>();
  for (const name of await readdir(stack.folder)) folderNow.set(name, (await stat(join(stack.folder, name))).size);

  // What the receiver saw: a final name only ever with its final size.
  for (const [name, sighting] of stack.poller.sightings) {
    if (name.startsWith('.')) continue;
    const finalSize = folderNow.get(name);
    if (finalSize === undefined) {
      counts.partialFilesSeen += 1;
      fail('partial', `${name} was seen (sizes ${sighting.sizes.join(', ')}) and is gone at the end`);
    } else if (sighting.sizes.some((size) => size !== finalSize)) {
      counts.partialFilesSeen += 1;
      fail('partial', `${name} was seen with sizes ${sighting.sizes.join(', ')}; its final size is ${finalSize}`);
    }
  }

  const seen = [...stack.poller.sightings.values()].map(
    (sighting) =>
      `${sighting.name} (${sighting.sizes.length === 1 ? sighting.sizes[0] : `${sighting.sizes.length} sizes, up to ${Math.max(...sighting.sizes)}`} bytes)`,
  );
  notes.push(`poller: ${stack.poller.scans} listings; seen ${seen.join(', ') || 'nothing'}`);

  // What is in the folder: the expected names and nothing else.
  const expected = new Set<string>();
  for (const period of periods) {
    for (let revision = 1; revision <= period.revisions; revision++) {
      const name = revisionFileName(period.fileName, revision);
      expected.add(name);
      if (stack.checksumFile) expected.add(`${name}${CHECKSUM_SUFFIX}`);
    }
  }
  for (const name of folderNow.keys()) {
    if (TEMPORARY_PATTERN.test(name)) fail('temporary', `temporary file ${name} (${folderNow.get(name)} bytes) left in the folder`);
    else if (!expected.has(name)) {
      counts.duplicates += 1;
      fail('duplicates', `unexpected file ${name} (${folderNow.get(name)} bytes)`);
    }
  }

  for (const period of periods) {
    const rows = await ledgerRows(stack.postgres.knex, period.periodStart);
    if (findSecrets(stack.secrets, JSON.stringify(rows))) fail('secrets', `a secret is in the ledger rows of ${period.periodStart}`);
    const delivered = rows.filter((row) => row.status === 'delivered');
    notes.push(
      `ledger ${period.periodStart}: ${rows.map((row) => `${row.status}${row.revision ? ` r${row.revision}` : ''}${row.last_error ? ` (${row.last_error})` : ''}`).join('; ') || 'no rows'}`,
    );
    const files = await reportFiles(stack.postgres.knex, period.periodStart);
    if (files) {
      if (findSecrets(stack.secrets, JSON.stringify(files))) fail('secrets', `a secret is in the report_files rows of ${period.periodStart}`);
      notes.push(
        `report_files ${period.periodStart}: ${files.map((file) => `r${file.revision} ${file.status}${file.note ? ` (${file.note})` : ''}`).join('; ') || 'no rows'}`,
      );
      for (const file of files.filter((candidate) => candidate.status === 'publishing')) {
        fail('ledger', `${period.periodStart}: report_files revision ${file.revision} is still publishing at the end (temporary ${file.temporary_path})`);
      }
      const deliveredFiles = files.filter((file) => file.status === 'delivered');
      if (deliveredFiles.length > period.revisions)
        fail('ledger', `${period.periodStart}: report_files has ${deliveredFiles.length} delivered revisions; expected ${period.revisions}`);
      if (deliveredFiles.length > 0 !== delivered.length > 0) {
        fail('ledger', `${period.periodStart}: report_files has ${deliveredFiles.length} delivered revisions, report_runs ${delivered.length} delivered runs`);
      }
      for (const file of deliveredFiles) {
        const onDisk = await sha256Of(file.remote_path);
        if (!onDisk) fail('ledger', `report_files says revision ${file.revision} is delivered at ${file.remote_path}; there is no such file`);
        else if (onDisk.sha256 !== file.delivered_sha256) {
          fail(
            'ledger',
            `report_files says revision ${file.revision} at ${file.remote_path} has sha256 ${file.delivered_sha256}; the file has ${onDisk.sha256}`,
          );
        }
      }
    }
    const latestName = revisionFileName(period.fileName, period.revisions);
    const file = await sha256Of(join(stack.folder, latestName));
    if (delivered.length === 0 || !file) {
      counts.lost += 1;
      fail(
        'outcome',
        `${period.periodStart} not delivered: ${file ? `${latestName} is in the folder but the ledger has no delivered run` : `no ${latestName} in the folder`}`,
      );
    }
    if (delivered.length > period.revisions) {
      counts.duplicates += delivered.length - period.revisions;
      fail(
        'ledger',
        `${period.periodStart}: the ledger says delivered ${delivered.length} times (revisions ${delivered.map((row) => row.revision).join(', ')}); expected ${period.revisions}`,
      );
    }
    for (let revision = 1; revision <= period.revisions; revision++) {
      const name = revisionFileName(period.fileName, revision);
      const onDisk = await sha256Of(join(stack.folder, name));
      const row = delivered.find((candidate) => candidate.revision === revision);
      if (!onDisk) {
        if (revision < period.revisions || file) fail('missing', `${name} is not in the folder`);
        continue;
      }
      if (
        row &&
        (row.sha256 !== onDisk.sha256 || Number(row.bytes) !== onDisk.bytes || row.file_name !== name || row.remote_path !== join(stack.folder, name))
      ) {
        fail(
          'ledger',
          `${name}: the ledger says sha256 ${row.sha256}, ${row.bytes} bytes at ${row.remote_path}; the folder has sha256 ${onDisk.sha256}, ${onDisk.bytes} bytes`,
        );
      }
      if (stack.checksumFile) {
        const companion = await readFile(join(stack.folder, `${name}${CHECKSUM_SUFFIX}`), 'utf8').catch(() => null);
        if (companion === null) fail('missing', `${name}${CHECKSUM_SUFFIX} is not in the folder`);
        else if (companion !== `${onDisk.sha256}  ${name}\n`)
          fail('bytes', `${name}${CHECKSUM_SUFFIX} says ${JSON.stringify(companion.trim())}; the file's sha256 is ${onDisk.sha256}`);
      }
    }
    if (file && period.compareWith === 'render') {
      const rendered = await renderNow(stack, period.periodStart);
      if (typeof rendered === 'string') fail('bytes', `${period.periodStart}: ${rendered}`);
      else if (rendered.sha256 !== file.sha256)
        fail('bytes', `${latestName} has sha256 ${file.sha256} (${file.bytes} bytes); render builds ${rendered.sha256} (${rendered.bytes} bytes)`);
    }
    if (file && period.compareWith === 'ledger') {
      const row = delivered.find((candidate) => candidate.revision === period.revisions);
      if (row && row.sha256 !== file.sha256) fail('bytes', `${latestName} has sha256 ${file.sha256}; the ledger recorded ${row.sha256}`);
      notes.push(`${period.periodStart}: data changed during the drill, so the file is compared with the ledger's sha256, not with render`);
    }
  }

  // No secret in any output or history.
  for (const child of stack.children.all) {
    if (findSecrets(stack.secrets, child.output())) fail('secrets', `a secret is in the output of ${child.name} (${child.logFile})`);
  }
  const histories = await historiesText(stack);
  if (findSecrets(stack.secrets, histories.text)) fail('secrets', `a secret is in the workflow histories`);
  notes.push(`searched ${histories.count} workflow histories and ${stack.children.all.length} process outputs for secrets`);

  // Every worker not killed on purpose is still running.
  for (const worker of stack.workers) {
    if (worker.running || worker.signalsSent.includes('SIGKILL')) continue;
    counts.workersCrashed += 1;
    const lines = worker.output().trim().split('\n').slice(-60);
    const reason =
      lines
        .filter((line) => /Error|error/.test(line) && !line.trimStart().startsWith('at '))
        .slice(-2)
        .join(' | ') || lines.slice(-3).join(' | ');
    fail('workers', `${worker.name} exited with ${worker.exit?.signal ?? `status ${worker.exit?.code}`}: ${reason.slice(0, 600)}`);
  }
  return { failures, counts, notes };
}
