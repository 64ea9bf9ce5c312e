/**
 * The short form of `npm run drills`: a worker killed mid-upload, a connection cut after N
 * bytes and two runs of one period at once, each against its own real PostgreSQL, Temporal dev
 * server, sshd and worker processes, with the drills' own checks.
 */
import assert from 'node:assert/strict';
import { appendFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DRILLS, SHORT_FORM } from '../../drills/catalog.js';
import { mainPeriod, type Drill } from '../../drills/drill.js';
import { summaryLine } from '../../drills/summary.js';
import { runDrill, type DrillResult } from '../../drills/run-drill.js';
import { revisionFileName } from '../../src/domain/file-name.js';

/** The three drills take ≈ 50 s on a 2-core machine; each has its own overall timeout inside too. */
const SHORT_FORM_TIMEOUT_MS = 300_000;

function explain(result: DrillResult): string {
  return [...result.timeline, ...result.failures.map((failure) => `✗ ${failure.check}: ${failure.detail}`), ...result.notes].join('\n');
}

/** Not a fault of the system but of the folder and the processes: what each check must catch. */
const SABOTAGE: Drill = {
  name: 'sabotage',
  fault:
    'a file written under its final name in two steps, an _r2 nobody forced, a temporary file left, a secret in the ledger, no delivery, a worker that cannot start',
  stack: { events: 10 },
  timeoutMs: 60_000,
  async run({ stack }) {
    const final = join(stack.folder, stack.fileName);
    await writeFile(final, 'half a file');
    await stack.poller.scanNow();
    await appendFile(final, ' and the rest of it');
    // Whole at once (renamed in from beside the folder): only the first file may count as seen partial.
    const staged = join(stack.folder, '..', `staged-${stack.fileName}`);
    await writeFile(staged, 'an unforced revision');
    await rename(staged, join(stack.folder, revisionFileName(stack.fileName, 2)));
    await writeFile(join(stack.folder, `.${stack.fileName}.0badc0de.part`), 'left behind');
    await stack.postgres.knex('report_runs').insert({
      client_id: 'drill',
      frequency: 'daily',
      period_start: stack.period.start,
      period_end: stack.period.end,
      status: 'failed',
      workflow_id: 'sabotage',
      run_id: 'sabotage',
      last_error: `login refused for password ${stack.secrets[0]}`,
    });
    await assert.rejects(stack.startWorker({ TEMPORAL_ADDRESS: 'not an address' }), /exited during start-up/);
    return [mainPeriod(stack)];
  },
};

describe('fault drills, short form (`npm run drills` runs them all)', { timeout: SHORT_FORM_TIMEOUT_MS }, () => {
  const results: DrillResult[] = [];

  for (const name of SHORT_FORM) {
    it(`${name}: one correct file, never seen partial, delivered once, no secret, every worker running`, async () => {
      const drill = DRILLS.find((candidate) => candidate.name === name);
      assert.ok(drill, `no drill named ${name}`);
      const result = await runDrill(drill, { keepLogs: 'failed' });
      results.push(result);
      assert.deepEqual(result.failures, [], explain(result));
      assert.deepEqual(result.counts, { partialFilesSeen: 0, duplicates: 0, lost: 0, workersCrashed: 0 }, explain(result));
      // The poller watched the folder through the run: it saw the final file appear.
      assert.ok(
        result.notes.some((note) => note.startsWith('poller:') && note.includes('.csv (')),
        explain(result),
      );
    });
  }

  it('every check can fail: a sabotaged folder and a worker that cannot start are caught and counted', async () => {
    const result = await runDrill(SABOTAGE, { keepLogs: 'never' });
    assert.equal(result.survived, false);
    assert.deepEqual(
      new Set(result.failures.map((failure) => failure.check)),
      new Set(['partial', 'duplicates', 'temporary', 'secrets', 'outcome', 'missing', 'bytes', 'workers']),
      explain(result),
    );
    assert.deepEqual(result.counts, { partialFilesSeen: 1, duplicates: 1, lost: 1, workersCrashed: 1 }, explain(result));
    assert.ok(explain(result).includes('login refused for password [secret]'), 'what the drill prints names no secret');
  });

  it('sums them up in the line `npm run drills` ends with', () => {
    assert.equal(results.length, SHORT_FORM.length);
    assert.equal(
      summaryLine(results),
      `drills: ${SHORT_FORM.length}/${SHORT_FORM.length} survived; partial files seen 0; duplicates 0; lost 0; workers crashed 0`,
    );
  });
});
