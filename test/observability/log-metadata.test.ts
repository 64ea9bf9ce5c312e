import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { createLogger } from '../../src/observability/logger.js';
import { describeLogMetadata, temporalLogger } from '../../src/observability/temporal-logger.js';

describe('Temporal log lines through the project logger', () => {
  it("shows a failed workflow's error type and message and the client, frequency and period of its id", () => {
    const lines: string[] = [];
    const logger = temporalLogger(createLogger({ name: 'log-test', destination: { write: (line: string) => lines.push(line) } }));
    const error = ApplicationFailure.create({ type: 'SftpTransientError', message: 'client "acme": SFTP connect on 127.0.0.1:22 failed: refused' });
    logger.warn('Workflow failed', { workflowId: 'twoway-report/acme/daily/2026-11-24', runId: 'r1', error });
    const line = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    assert.deepEqual(line.error, { type: 'SftpTransientError', message: 'client "acme": SFTP connect on 127.0.0.1:22 failed: refused' });
    assert.deepEqual([line.client, line.frequency, line.period, line.workflowId], ['acme', 'daily', '2026-11-24', 'twoway-report/acme/daily/2026-11-24']);
  });

  it("leaves other metadata as it is and adds no period to other workflows' lines", () => {
    assert.deepEqual(describeLogMetadata({ workflowId: 'twoway-backfill/acme/daily/2026-11-01..2026-11-30', attempt: 2 }), {
      workflowId: 'twoway-backfill/acme/daily/2026-11-01..2026-11-30',
      attempt: 2,
    });
    assert.deepEqual(describeLogMetadata({ error: new TypeError('bad') }), { error: { type: 'TypeError', message: 'bad' } });
    assert.deepEqual(describeLogMetadata(undefined), {});
  });
});
