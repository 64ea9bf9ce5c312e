import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, DefaultFailureConverter, defaultPayloadConverter, ensureApplicationFailure, type ProtoFailure } from '@temporalio/common';
import proto from '@temporalio/proto';
import { SftpTransientError } from '../../src/domain/errors.js';
import { freePort } from '../../src/devstack/ports.js';
import { describeFailure, failWithRootReason, isHostLost, rootCause } from '../../src/workflows/failures.js';
import type { reportPeriodWorkflow } from '../../src/workflows/report-period-workflow.js';
import { startPipeline, TEST_POLICY, type Pipeline } from '../support/pipeline.js';

const { RetryState, TimeoutType } = proto.temporal.api.enums.v1;
const converter = new DefaultFailureConverter();
const toProto = (error: unknown): ProtoFailure => converter.errorToFailure(error, defaultPayloadConverter);
const fromProto = (failure: ProtoFailure): Error => converter.failureToError(failure, defaultPayloadConverter);

/** How a worker sends what an activity threw (as @temporalio/worker does). */
const thrownByActivity = (error: Error): ProtoFailure => toProto(ensureApplicationFailure(error));

/** What a workflow sees when `deliverReport` threw `error`: the worker encodes it, the server wraps it in an activity failure. */
function activityFailureOf(error: Error): Error {
  return fromProto({
    message: 'Activity task failed',
    activityFailureInfo: {
      activityType: { name: 'deliverReport' },
      activityId: '7',
      retryState: RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE,
      identity: 'worker@host',
    },
    cause: thrownByActivity(error),
  });
}

/** The raw ssh2 error under an SftpTransientError, as src/delivery/sftp-errors.ts wraps it. */
function sftpError(): SftpTransientError {
  const raw = Object.assign(new Error('connect ECONNREFUSED 10.0.0.9:2222'), { code: 'ECONNREFUSED' });
  return new SftpTransientError('acme', 'sftp.acme.example', 2222, 'connect', 'connect ECONNREFUSED 10.0.0.9:2222', { cause: raw });
}

describe('failures: what a failed run reports', () => {
  it('describes the error the activity threw, not the raw error under it', () => {
    const failure = activityFailureOf(sftpError());
    const thrown = rootCause(failure);
    assert.ok(thrown instanceof ApplicationFailure);
    assert.equal(thrown.type, 'SftpTransientError');
    assert.equal(describeFailure(failure), 'client "acme": SFTP connect on sftp.acme.example:2222 failed: connect ECONNREFUSED 10.0.0.9:2222');
  });

  it("fails a workflow with the thrown error's type and message on top, keeping the chain", () => {
    const failure = activityFailureOf(sftpError());
    const top = failWithRootReason(failure);
    assert.deepEqual([top.type, top.nonRetryable, top.message], ['SftpTransientError', true, describeFailure(failure)]);
    assert.match(top.message, /client "acme".*sftp\.acme\.example:2222/);
    assert.equal(top.cause, failure);
  });

  it("sees through a child workflow and the client's WorkflowFailedError to the same reason", () => {
    const periodFailure = toProto(failWithRootReason(activityFailureOf(sftpError())));
    const child = fromProto({
      message: 'Child Workflow execution failed',
      childWorkflowExecutionFailureInfo: {
        namespace: 'default',
        workflowExecution: { workflowId: 'twoway-report/acme/daily/2026-11-20', runId: 'r1' },
        workflowType: { name: 'reportPeriodWorkflow' },
        retryState: RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE,
      },
      cause: periodFailure,
    });
    assert.match(describeFailure(child), /^client "acme": SFTP connect on sftp\.acme\.example:2222 failed/);
    assert.equal((rootCause(child) as ApplicationFailure).type, 'SftpTransientError');

    const clientSide = new WorkflowFailedError('Workflow execution failed', fromProto(periodFailure), 'NON_RETRYABLE_FAILURE');
    assert.equal((rootCause(clientSide) as ApplicationFailure).type, 'SftpTransientError');
    assert.match(describeFailure(clientSide), /client "acme".*sftp\.acme\.example:2222/);
  });

  it('names the timeout and the last error when an activity ran out of time', () => {
    const timedOut = fromProto({
      message: 'Activity task failed',
      activityFailureInfo: { activityType: { name: 'deliverReport' }, activityId: '7', retryState: RetryState.RETRY_STATE_TIMEOUT },
      cause: {
        message: 'activity ScheduleToClose timeout',
        timeoutFailureInfo: { timeoutType: TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE },
        cause: thrownByActivity(sftpError()),
      },
    });
    assert.equal(
      describeFailure(timedOut),
      'deliverReport timed out (SCHEDULE_TO_CLOSE); last error: client "acme": SFTP connect on sftp.acme.example:2222 failed: connect ECONNREFUSED 10.0.0.9:2222',
    );
    assert.equal(failWithRootReason(timedOut).type, 'SftpTransientError');
    assert.equal(isHostLost(timedOut), false);
  });

  it('tells a lost host from other timeouts', () => {
    const lost = fromProto({
      message: 'Activity task failed',
      activityFailureInfo: { activityType: { name: 'buildReport' }, activityId: '3', retryState: RetryState.RETRY_STATE_TIMEOUT },
      cause: { message: 'activity Heartbeat timeout', timeoutFailureInfo: { timeoutType: TimeoutType.TIMEOUT_TYPE_HEARTBEAT } },
    });
    assert.equal(isHostLost(lost), true);
    assert.equal(describeFailure(lost), 'buildReport timed out (HEARTBEAT)');
    assert.equal(failWithRootReason(lost).type, 'TimeoutFailure');
  });

  it('says a run was cancelled or terminated, with the reason given', () => {
    const terminated = fromProto({ message: 'stopped by an operator', terminatedFailureInfo: {} });
    assert.equal(
      describeFailure(new WorkflowFailedError('Workflow execution failed', terminated, 'NON_RETRYABLE_FAILURE')),
      'terminated: stopped by an operator',
    );
    const cancelled = fromProto({ message: 'Workflow canceled', canceledFailureInfo: {} });
    assert.equal(describeFailure(new WorkflowFailedError('Workflow execution cancelled', cancelled, 'NON_RETRYABLE_FAILURE')), 'cancelled');
  });

  it('keeps a plain error as it is', () => {
    assert.equal(describeFailure(new Error('boom', { cause: new Error('deep') })), 'boom');
    assert.equal(describeFailure('text'), 'text');
  });
});

describe('failures: a period run that runs out of delivery time (real Temporal, PostgreSQL, sshd)', () => {
  let pipeline: Pipeline;
  let closedPort: number;

  before(async () => {
    // Retries of 200 ms to 1 s meet a 3 s deadline after a few attempts.
    pipeline = await startPipeline({ policy: { ...TEST_POLICY, deliveryDeadlineMs: 3_000 } });
    closedPort = await freePort();
    await pipeline.db.knex('clients').insert({ id: 'acme', name: 'Acme', delivery: JSON.stringify(await pipeline.deliveryTo('acme', { port: closedPort })) });
    await pipeline.db.knex('twoway_events').insert({ client_id: 'acme', event_name: 'twoway.agent_ping', event_time: '2026-11-20T10:00:00Z' });
  });

  after(async () => {
    await pipeline?.close();
  });

  it("fails with the SFTP error's type and a message naming client and host, in the UI and the ledger", async () => {
    const handle = await pipeline.temporal.client.workflow.start<typeof reportPeriodWorkflow>('reportPeriodWorkflow', {
      taskQueue: pipeline.taskQueue,
      workflowId: 'twoway-report/acme/daily/2026-11-20',
      args: [{ clientId: 'acme', frequency: 'daily', periodStart: '2026-11-20' }],
    });
    const error: unknown = await handle.result().then(
      () => assert.fail('the run should fail'),
      (failure: unknown) => failure,
    );
    assert.ok(error instanceof WorkflowFailedError);
    const top = error.cause;
    assert.ok(top instanceof ApplicationFailure);
    assert.equal(top.type, 'SftpTransientError');
    const expected = new RegExp(
      `^deliverReport timed out \\(SCHEDULE_TO_CLOSE\\); last error: client "acme": SFTP connect on 127\\.0\\.0\\.1:${closedPort} failed: .*ECONNREFUSED`,
    );
    assert.match(top.message, expected);
    assert.match(describeFailure(error), expected);
    const [run] = await pipeline.db.knex('report_runs').where({ client_id: 'acme' }).select('status', 'last_error');
    assert.equal(run?.status, 'failed');
    assert.match(String(run?.last_error), expected);
  });
});
