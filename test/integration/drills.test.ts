/**
 * The short form of `npm run drills`: a worker killed mid-upload, a connection cut after N
 * bytes and two runs of one period at once, each against its own real PostgreSQL, Temporal dev
 * server, sshd and worker processes, with the drills' own checks.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DRILLS, SHORT_FORM } from '../../drills/catalog.js';
import { summaryLine } from '../../drills/summary.js';
import { runDrill, type DrillResult } from '../../drills/run-drill.js';

/** The three drills take ≈ 50 s on a 2-core machine; each has its own overall timeout inside too. */
const SHORT_FORM_TIMEOUT_MS = 300_000;

function explain(result: DrillResult): string {
  return [...result.timeline, ...result.failures.map((failure) => `✗ ${failure.check}: ${failure.detail}`), ...result.notes].join('\n');
}

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
      assert.ok(result.notes.some((note) => note.startsWith('poller:') && note.includes('.csv (')), explain(result));
    });
  }

  it('sums them up in the line `npm run drills` ends with', () => {
    assert.equal(results.length, SHORT_FORM.length);
    assert.equal(summaryLine(results), `drills: ${SHORT_FORM.length}/${SHORT_FORM.length} survived; partial files seen 0; duplicates 0; lost 0; workers crashed 0`);
  });
});
